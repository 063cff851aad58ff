"""The LocalHub itself, as other packages' tests use it: real client, real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from hf_pusher_helpers import TOKEN, USER, download
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from tfx_hf_pusher.local_hub import LocalHub


def test_repos_survive_a_restart_over_the_same_root(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    with LocalHub(root, token=TOKEN, user=USER) as hub:
        api = HfApi(endpoint=hub.url, token=TOKEN)
        api.create_repo(f"{USER}/data", repo_type="dataset")
        commit = api.create_commit(
            f"{USER}/data",
            repo_type="dataset",
            operations=[CommitOperationAdd("nested/dir/x.bin", b"\x00\x01" * 1000)],
            commit_message="add",
        )
    with LocalHub(root, token=TOKEN, user=USER) as hub:
        files = download(hub, f"{USER}/data", commit.oid, tmp_path / "cache", "dataset")
    assert files["nested/dir/x.bin"] == b"\x00\x01" * 1000


def test_auth_privacy_and_not_found_errors(hub: LocalHub, api: HfApi, tmp_path: Path) -> None:
    api.create_repo(f"{USER}/secret-model", private=True)
    api.create_commit(
        f"{USER}/secret-model",
        operations=[CommitOperationAdd("config.json", b"{}")],
        commit_message="add",
    )
    anonymous = HfApi(endpoint=hub.url, token=False)
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info(f"{USER}/secret-model")  # private repos hidden from anonymous
    with pytest.raises(HfHubHTTPError, match="Invalid credentials"):
        HfApi(endpoint=hub.url, token="hf_wrong").model_info(f"{USER}/secret-model")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(f"{USER}/secret-model", revision="no-such-branch")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(
            f"{USER}/secret-model",
            "missing.txt",
            endpoint=hub.url,
            token=TOKEN,
            cache_dir=tmp_path,
        )
    # Repo ids are checked before they become paths: no way out of the hub's root.
    escape = httpx2.get(
        f"{hub.url}/api/models/..%2F..%2Fx/..%2Fy", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert escape.status_code == 400
    # Xet is refused with a message saying how to switch it off.
    response = httpx2.post(
        f"{hub.url}/api/models/{USER}/secret-model/xet-write-token/main",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 501 and "HF_HUB_DISABLE_XET" in response.text


def test_parent_commit_guards_against_concurrent_pushes(api: HfApi) -> None:
    repo = f"{USER}/guarded"
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


def test_command_line_server(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "tfx_hf_pusher.local_hub", "--root", str(tmp_path / "hub")),
            *("--port", str(port), "--token", TOKEN, "--user", USER),
        ],
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        api = HfApi(endpoint=f"http://127.0.0.1:{port}", token=TOKEN)
        deadline = time.monotonic() + 30
        while True:
            try:
                assert api.whoami()["name"] == USER
                break
            except httpx2.ConnectError:
                assert time.monotonic() < deadline, "local hub did not start"
                time.sleep(0.1)
        assert str(api.create_repo(f"{USER}/cli")) == f"http://127.0.0.1:{port}/{USER}/cli"
    finally:
        process.terminate()
        process.wait(timeout=10)
