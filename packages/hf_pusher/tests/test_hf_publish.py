"""publish.py against the LocalHub, driven by the real huggingface_hub client."""

from __future__ import annotations

import logging
import shutil
import time
import traceback
from pathlib import Path

import pytest
import yaml
from hf_local_hub import LocalHub
from hf_pusher_helpers import TOKEN, USER, download, read_tree, tree_digest, with_one_more_file
from huggingface_hub import HfApi
from tfx_hf_pusher import publish
from tfx_hf_pusher.model_card import CardInfo

REPO = f"{USER}/pets-unet"
SPACE = f"{USER}/pets-demo"
FAST_RETRY = publish.RetryPolicy(attempts=12, base_delay=0.02, max_delay=0.2)
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00%%MODEL_REPO_ID%%\x00\xff\xfe binary"


def _front_matter(readme: bytes) -> dict:
    text = readme.decode()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def _template(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text(
        'REPO = "%%MODEL_REPO_ID%%"\nREVISION = "%%MODEL_REVISION%%"\nURL = "%%MODEL_REPO_URL%%"\n'
    )
    (root / "README.md").write_text("---\ntitle: Pets\nsdk: gradio\napp_file: app.py\n---\n")
    (root / "requirements.txt").write_text("gradio\n")
    (root / "examples").mkdir()
    (root / "examples" / "cat.png").write_bytes(PNG_BYTES)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\x00cache")
    return root


def test_push_blessed_model_and_download_it_back(
    hub: LocalHub, api: HfApi, saved_model: Path, tmp_path: Path
) -> None:
    before = tree_digest(saved_model.parent)
    card = CardInfo(
        pipeline_tag="image-segmentation",
        license="apache-2.0",
        tags=["segmentation"],
        datasets=["oxford-iiit-pet"],
        training_data="gs://bucket/pets/train",
    )
    result = publish.publish_model(
        saved_model,
        repo_id=REPO,
        token=TOKEN,
        card=card,
        metrics={"mean_iou": 0.71234567, "pixel_accuracy": 0.9},
        pipeline={"pipeline": "pets"},
    )

    version = publish.model_version(saved_model)
    assert result.branch == f"v{version}" and result.version == version
    assert result.repo_url == f"{hub.url}/{REPO}/tree/{result.branch}"
    assert result.space_url == ""
    info = api.model_info(REPO, revision=result.branch)
    assert info.sha == result.commit_id and info.private is True

    files = download(hub, REPO, result.commit_id, tmp_path / "cache")
    expected = read_tree(saved_model)
    readme = files.pop("README.md")
    files.pop(".gitattributes")
    assert files == expected  # byte-identical SavedModel, nothing else
    lfs_paths = {
        entry.path
        for entry in api.list_repo_tree(REPO, revision=result.branch, recursive=True)
        if getattr(entry, "lfs", None)
    }
    assert "saved_model.pb" in lfs_paths  # binary files took the LFS upload path

    meta = _front_matter(readme)
    assert meta["library_name"] == "tf-keras"
    assert meta["pipeline_tag"] == "image-segmentation"
    assert {"tfx", "tensorflow", "saved_model", "segmentation"} <= set(meta["tags"])
    assert meta["datasets"] == ["oxford-iiit-pet"]
    assert meta["model_version"] == version
    assert meta["tfx_pipeline"] == {"pipeline": "pets"}
    results = meta["model-index"][0]["results"][0]
    assert results["task"]["type"] == "image-segmentation"
    assert {m["type"]: m["value"] for m in results["metrics"]} == {
        "mean_iou": 0.712346,
        "pixel_accuracy": 0.9,
    }
    body = readme.decode()
    assert f'revision="{result.branch}"' in body
    assert "`serving_default`: `features` float[None, 64] -> `scores` float[None, 64]" in body
    assert tree_digest(saved_model.parent) == before  # nothing written into the input artifact


def test_rerun_of_same_version_makes_no_new_commit(
    hub: LocalHub, api: HfApi, model_artifact_dirs: tuple[Path, Path]
) -> None:
    first_model, second_model = (d / "Format-Serving" for d in model_artifact_dirs)
    first = publish.publish_model(first_model, repo_id=REPO, token=TOKEN)
    history = api.list_repo_commits(REPO, revision=first.branch)

    again = publish.publish_model(first_model, repo_id=REPO, token=TOKEN)

    assert again == first
    assert api.list_repo_commits(REPO, revision=first.branch) == history
    assert len(history) == 2  # the repo's initial commit + this version's one commit
    uploads = hub.stats.by_route.get("PUT /_lfs/upload", 0)
    second = publish.publish_model(second_model, repo_id=REPO, token=TOKEN)
    assert second.branch != first.branch  # a new version gets its own branch
    assert hub.stats.by_route.get("PUT /_lfs/upload", 0) > uploads
    assert api.model_info(REPO, revision=first.branch).sha == first.commit_id


def test_forced_version_replaces_branch_content_atomically(
    hub: LocalHub, api: HfApi, saved_model: Path, tmp_path: Path
) -> None:
    other = with_one_more_file(saved_model, tmp_path / "other")
    publish.publish_model(other, repo_id=REPO, token=TOKEN, version="fixed")
    result = publish.publish_model(saved_model, repo_id=REPO, token=TOKEN, version="fixed")

    files = download(hub, REPO, result.commit_id, tmp_path / "cache")
    assert "assets/labels.txt" not in files  # stale file of the earlier push removed
    assert len(api.list_repo_commits(REPO, revision="vfixed")) == 3


def test_space_is_published_with_placeholders_replaced(
    hub: LocalHub, api: HfApi, saved_model: Path, tmp_path: Path
) -> None:
    template = _template(tmp_path / "template")
    template_before = tree_digest(template)
    space = publish.SpaceConfig(repo_id=SPACE, template=str(template))
    result = publish.publish_model(saved_model, repo_id=REPO, token=TOKEN, space=space)

    assert result.space_url == f"{hub.url}/spaces/{SPACE}"
    files = download(hub, SPACE, "main", tmp_path / "cache", repo_type="space")
    assert files["app.py"].decode() == (
        f'REPO = "{REPO}"\nREVISION = "{result.commit_id}"\nURL = "{hub.url}/{REPO}"\n'
    )
    assert files["examples/cat.png"] == PNG_BYTES  # binary: placeholder bytes left alone
    assert files["requirements.txt"] == b"gradio\n"
    assert not any("__pycache__" in path for path in files)
    info = api.space_info(SPACE)
    assert info.sdk == "gradio" and info.private is False and info.sha == result.space_commit_id
    assert tree_digest(template) == template_before

    # A re-run changes nothing; a file dropped from the template is deleted from the Space.
    again = publish.publish_model(saved_model, repo_id=REPO, token=TOKEN, space=space)
    assert again.space_commit_id == result.space_commit_id
    (template / "requirements.txt").unlink()
    third = publish.publish_model(saved_model, repo_id=REPO, token=TOKEN, space=space)
    files = download(hub, SPACE, third.space_commit_id, tmp_path / "cache2", repo_type="space")
    assert "requirements.txt" not in files and "app.py" in files


def test_custom_placeholders(hub: LocalHub, saved_model: Path, tmp_path: Path) -> None:
    template = tmp_path / "template"
    template.mkdir()
    (template / "app.py").write_text("MODEL = '@@REPO@@'  # %%MODEL_REPO_ID%% stays\n")
    space = publish.SpaceConfig(
        repo_id=SPACE, template=str(template), placeholders={"repo_id": "@@REPO@@"}
    )
    result = publish.publish_model(saved_model, repo_id=REPO, token=TOKEN, space=space)
    files = download(hub, SPACE, result.space_commit_id, tmp_path / "cache", repo_type="space")
    assert files["app.py"] == f"MODEL = '{REPO}'  # %%MODEL_REPO_ID%% stays\n".encode()
    with pytest.raises(ValueError, match="Unknown Space placeholder fields"):
        publish.SpaceConfig(repo_id=SPACE, template=".", placeholders={"version": "x"})


def _all_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def test_bad_token_fails_at_once_without_leaking_it(
    hub: LocalHub, saved_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad_token = "hf_" + "x" * 34
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    with pytest.raises(publish.HubAuthError) as raised:
        publish.publish_model(
            saved_model, repo_id=REPO, token=bad_token, token_source="the token in $HF_TOKEN"
        )
    assert time.monotonic() - started < 5
    message = str(raised.value)
    assert "HTTP 401" in message and "$HF_TOKEN" in message and "create model repo" in message
    assert hub.stats.requests == 2  # create (401), the client's own existence check; no retry
    for text in (_all_text(raised.value), caplog.text):
        assert bad_token not in text and TOKEN not in text


def test_missing_permission_fails_at_once(hub: LocalHub, saved_model: Path) -> None:
    with pytest.raises(publish.HubAuthError, match="lacks permission \\(HTTP 403\\)") as raised:
        publish.publish_model(saved_model, repo_id="someone-else/model", token=TOKEN)
    assert TOKEN not in _all_text(raised.value)
    assert hub.stats.requests <= 2  # create (403), then the client's own existence check


def test_push_succeeds_with_30_percent_of_requests_failing(
    hub: LocalHub, api: HfApi, saved_model: Path, tmp_path: Path
) -> None:
    template = _template(tmp_path / "template")
    space = publish.SpaceConfig(repo_id=SPACE, template=str(template))
    hub.fault_rate = 0.3
    result = publish.publish_model(
        saved_model, repo_id=REPO, token=TOKEN, space=space, retry=FAST_RETRY
    )
    hub.fault_rate = 0.0

    assert hub.stats.faults >= 3
    files = download(hub, REPO, result.branch, tmp_path / "cache")
    assert {k: v for k, v in files.items() if k in read_tree(saved_model)} == read_tree(saved_model)
    assert len(api.list_repo_commits(REPO, revision=result.branch)) == 2
    space_files = download(hub, SPACE, "main", tmp_path / "space", repo_type="space")
    assert result.commit_id in space_files["app.py"].decode()


@pytest.mark.parametrize("kind", ["503", "429", "drop"])
def test_persistent_failure_stops_after_the_retry_bound(
    hub: LocalHub, saved_model: Path, kind: str
) -> None:
    hub.fault_rate, hub.fault_kinds = 1.0, (kind,)
    policy = publish.RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
    with pytest.raises(publish.PublishError, match="kept failing after 3 attempts") as raised:
        publish.publish_model(saved_model, repo_id=REPO, token=TOKEN, retry=policy)
    expected = "RemoteProtocolError" if kind == "drop" else f"HTTP {kind}"
    assert expected in str(raised.value)
    assert hub.stats.requests == 3  # transient: retried, and only up to the bound


def test_not_a_saved_model_is_rejected(hub: LocalHub, tmp_path: Path) -> None:
    with pytest.raises(publish.PublishError, match=r"no saved_model\.pb"):
        publish.publish_model(tmp_path, repo_id=REPO, token=TOKEN)
    assert hub.stats.requests == 0


def _model_with_info(saved_model: Path, root: Path, info: bytes) -> Path:
    model_dir = root / "model"
    shutil.copytree(saved_model, model_dir)
    (model_dir / "model_info.json").write_bytes(info)
    return model_dir


def test_model_info_file_goes_on_the_card_and_with_the_model(
    hub: LocalHub, saved_model: Path, tmp_path: Path
) -> None:
    info = b'{"architecture": "segformer_b0", "parameters": 3715427, "input_size": 128}'
    model_dir = _model_with_info(saved_model, tmp_path, info)
    result = publish.publish_model(
        model_dir, repo_id=REPO, token=TOKEN, model_info_file="model_info.json"
    )
    files = download(hub, REPO, result.commit_id, tmp_path / "cache")
    assert files["model_info.json"] == info  # published beside saved_model.pb, unchanged
    readme = files["README.md"]
    assert _front_matter(readme)["model_details"] == {
        "architecture": "segformer_b0",
        "input_size": 128,
        "parameters": 3715427,
    }
    body = readme.decode()
    assert "## Model" in body
    assert "| architecture | segformer_b0 |" in body
    assert "| parameters | 3,715,427 |" in body


@pytest.mark.parametrize(
    ("info", "message"),
    [
        (None, "model_info.json is missing from the model directory"),
        (b"{not json", "is not JSON"),
        (b'{"layers": [1, 2]}', "flat JSON object of strings and numbers"),
        (b'["segformer_b0"]', "flat JSON object of strings and numbers"),
    ],
)
def test_unusable_model_info_file_fails_before_any_request(
    hub: LocalHub, saved_model: Path, tmp_path: Path, info: bytes | None, message: str
) -> None:
    model_dir = _model_with_info(saved_model, tmp_path, info or b"")
    if info is None:
        (model_dir / "model_info.json").unlink()
    with pytest.raises(publish.PublishError, match=message):
        publish.publish_model(
            model_dir, repo_id=REPO, token=TOKEN, model_info_file="model_info.json"
        )
    assert hub.stats.requests == 0
