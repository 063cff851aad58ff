"""The LocalHub as other packages' tests use it: the real huggingface_hub client, real HTTP."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx2
import pytest
from hf_local_hub import LocalHub
from huggingface_hub import (
    CommitOperationAdd,
    HfApi,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from segmentation_test_support.files import read_tree


def test_repos_survive_a_restart_over_the_same_root(tmp_path: Path) -> None:
    root, token = tmp_path / "hub", f"hf_{secrets.token_hex(8)}"
    with LocalHub(root, token=token, user="me") as hub:
        api = HfApi(endpoint=hub.url, token=token)
        api.create_repo("me/data", repo_type="dataset")
        commit = api.create_commit(
            "me/data",
            repo_type="dataset",
            operations=[CommitOperationAdd("nested/dir/x.bin", b"\x00\x01" * 1000)],
            commit_message="add",
        )
    with LocalHub(root, token=token, user="me") as hub:
        path = hf_hub_download(
            "me/data",
            "nested/dir/x.bin",
            repo_type="dataset",
            revision=commit.oid,
            endpoint=hub.url,
            token=token,
            cache_dir=tmp_path / "cache",
        )
    assert Path(path).read_bytes() == b"\x00\x01" * 1000


def test_dataset_repos_upload_and_download_like_the_hub(
    hub: LocalHub, api: HfApi, tmp_path: Path
) -> None:
    """A dataset repo through the real client: /api/datasets/... and /datasets/.../resolve/..."""
    source = tmp_path / "source"
    (source / "train").mkdir(parents=True)
    (source / "train" / "shard-0.tfrecord").write_bytes(bytes(range(256)) * 64)  # binary: LFS
    (source / "labels.txt").write_text("pet\nbackground\nborder\n")
    repo = f"{hub.user}/pets"
    api.create_repo(repo, repo_type="dataset", private=True)
    commit = api.upload_folder(repo_id=repo, repo_type="dataset", folder_path=source)

    assert api.dataset_info(repo).sha == commit.oid
    assert f"/datasets/{repo}" in commit.commit_url
    lfs = {
        e.path
        for e in api.list_repo_tree(repo, repo_type="dataset", recursive=True)
        if getattr(e, "lfs", None)
    }
    assert lfs == {"train/shard-0.tfrecord"}
    folder = snapshot_download(
        repo, repo_type="dataset", endpoint=hub.url, token=hub.token, cache_dir=tmp_path / "c1"
    )
    downloaded = read_tree(Path(folder))
    assert downloaded.pop(".gitattributes")
    assert downloaded == read_tree(source)
    one = hf_hub_download(
        repo, "labels.txt", repo_type="dataset", endpoint=hub.url, token=hub.token,
        cache_dir=tmp_path / "c2",
    )  # fmt: skip
    assert Path(one).read_text() == "pet\nbackground\nborder\n"
    assert hub.stats.by_route.get("GET /datasets/pet-lab", 0) >= 1  # the web resolve route
    # A dataset is not a model: the same id under /api/models does not exist.
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(repo)


def test_auth_privacy_and_not_found_errors(hub: LocalHub, api: HfApi, tmp_path: Path) -> None:
    repo = f"{hub.user}/secret-model"
    api.create_repo(repo, private=True)
    api.create_commit(
        repo, operations=[CommitOperationAdd("config.json", b"{}")], commit_message="add"
    )
    anonymous = HfApi(endpoint=hub.url, token=False)
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info(repo)  # private repos hidden from anonymous
    with pytest.raises(HfHubHTTPError, match="Invalid credentials"):
        HfApi(endpoint=hub.url, token="hf_wrong").model_info(repo)
    with pytest.raises(RevisionNotFoundError):
        api.model_info(repo, revision="no-such-branch")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo, "missing.txt", endpoint=hub.url, token=hub.token, cache_dir=tmp_path)
    # Repo ids are checked before they become paths: no way out of the hub's root.
    auth = {"Authorization": f"Bearer {hub.token}"}
    escape = httpx2.get(f"{hub.url}/api/models/..%2F..%2Fx/..%2Fy", headers=auth)
    assert escape.status_code == 400
    # Xet is refused with a message saying how to switch it off.
    response = httpx2.post(f"{hub.url}/api/models/{repo}/xet-write-token/main", headers=auth)
    assert response.status_code == 501 and "HF_HUB_DISABLE_XET" in response.text


def test_parent_commit_guards_against_concurrent_pushes(api: HfApi, hub: LocalHub) -> None:
    repo = f"{hub.user}/guarded"
    api.create_repo(repo)
    head = api.model_info(repo).sha
    api.create_commit(repo, operations=[CommitOperationAdd("a.txt", b"a")], commit_message="a")
    with pytest.raises(HfHubHTTPError, match="412"):
        api.create_commit(
            repo,
            operations=[CommitOperationAdd("b.txt", b"b")],
            commit_message="b",
            parent_commit=head,
        )


def test_dropped_response_means_applied_but_unanswered(api: HfApi, hub: LocalHub) -> None:
    repo = f"{hub.user}/lossy"
    api.create_repo(repo)
    hub.drop_response("POST", "/commit/")
    with pytest.raises(httpx2.TransportError):
        api.create_commit(repo, operations=[CommitOperationAdd("a.txt", b"a")], commit_message="a")
    assert hub.stats.dropped_responses == 1
    assert [c.title for c in api.list_repo_commits(repo)] == ["a", "initial commit"]


def test_refused_requests_are_not_processed(api: HfApi, hub: LocalHub) -> None:
    repo = f"{hub.user}/busy"
    api.create_repo(repo)
    hub.refuse("POST", "/commit/", "503", times=1)
    with pytest.raises(HfHubHTTPError, match="503"):
        api.create_commit(repo, operations=[CommitOperationAdd("a.txt", b"a")], commit_message="a")
    assert [c.title for c in api.list_repo_commits(repo)] == ["initial commit"]
    assert hub.stats.faults == 1
