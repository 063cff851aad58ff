"""Where the pusher reads from: the token, gs:// templates, Evaluator metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from hf_local_hub import LocalHub
from hf_pusher_helpers import TOKEN, USER, download, write_tfma_evaluation
from tfx_hf_pusher import credentials, publish
from tfx_hf_pusher.model_card import read_tfma_metrics


def test_token_from_named_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETS_HF_TOKEN", f"  {TOKEN}\n")
    assert credentials.resolve_token("PETS_HF_TOKEN") == TOKEN
    monkeypatch.setenv("PETS_HF_TOKEN", "")
    with pytest.raises(credentials.TokenNotFoundError, match="PETS_HF_TOKEN is not set or empty"):
        credentials.resolve_token("PETS_HF_TOKEN")


def test_secret_names_are_normalized(monkeypatch: pytest.MonkeyPatch) -> None:
    name = credentials.secret_version_name
    assert name("projects/p/secrets/hf") == "projects/p/secrets/hf/versions/latest"
    assert name("projects/p/secrets/hf/versions/3") == "projects/p/secrets/hf/versions/3"
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "pets")
    assert name("hf-token") == "projects/pets/secrets/hf-token/versions/latest"
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT")
    with pytest.raises(credentials.TokenNotFoundError, match="GOOGLE_CLOUD_PROJECT"):
        name("hf-token")


def test_secret_without_gcp_credentials_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))  # no gcloud ADC file
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # no metadata server probe
    monkeypatch.setenv("HF_TOKEN", TOKEN)  # the secret wins over the variable
    with pytest.raises(credentials.TokenNotFoundError, match="no GCP credentials found") as err:
        credentials.resolve_token("HF_TOKEN", "projects/p/secrets/hf")
    assert "gcloud auth application-default login" in str(err.value)


def test_space_template_from_gcs(
    hub: LocalHub, gcs_emulator, saved_model: Path, tmp_path: Path
) -> None:
    bucket = gcs_emulator.create_bucket("pets-apps")
    bucket.blob("apps/seg/app.py").upload_from_string("REPO = '%%MODEL_REPO_ID%%'\n")
    bucket.blob("apps/seg/examples/dog.jpg").upload_from_string(b"\xff\xd8\x00%%MODEL_REPO_ID%%")
    bucket.blob("apps/seg-other/app.py").upload_from_string("not this one\n")
    space = publish.SpaceConfig(repo_id=f"{USER}/demo", template="gs://pets-apps/apps/seg")
    result = publish.publish_model(saved_model, repo_id=f"{USER}/m", token=TOKEN, space=space)

    files = download(hub, space.repo_id, result.space_commit_id, tmp_path, repo_type="space")
    files.pop(".gitattributes")
    assert files == {
        "app.py": f"REPO = '{USER}/m'\n".encode(),
        "examples/dog.jpg": b"\xff\xd8\x00%%MODEL_REPO_ID%%",
    }
    missing = publish.SpaceConfig(repo_id=f"{USER}/demo", template="gs://pets-apps/nothing")
    requests = hub.stats.requests
    with pytest.raises(publish.PublishError, match="No files under gs://pets-apps/nothing"):
        publish.publish_model(saved_model, repo_id=f"{USER}/other", token=TOKEN, space=missing)
    assert hub.stats.requests == requests  # failed before touching the Hub


def test_evaluator_metrics_of_the_candidate_overall_slice(tmp_path: Path) -> None:
    write_tfma_evaluation(tmp_path, {"mean_iou": 0.7, "example_count": 20})
    assert read_tfma_metrics(str(tmp_path)) == {"mean_iou": 0.7, "example_count": 20.0}
