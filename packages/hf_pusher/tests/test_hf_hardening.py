"""Issue 12's items for the pusher, each against the LocalHub or a real socket, with the real
huggingface_hub client: stalled Hub, lost commit responses, version digest collisions, empty
branches, symlinked template directories, private paths on the public card."""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hf_local_hub import LocalHub
from hf_pusher_helpers import TOKEN, USER, download, with_one_more_file
from huggingface_hub import HfApi
from tfx_hf_pusher import publish
from tfx_hf_pusher.model_card import CardInfo

REPO = f"{USER}/pets-unet"
FAST_RETRY = publish.RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def stalled_endpoint() -> Iterator[str]:
    """A local server that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for connection in accepted:
            connection.close()
        listener.close()


def test_stalled_hub_request_fails_within_the_bound(
    stalled_endpoint: str, saved_model: Path
) -> None:
    policy = publish.RetryPolicy(
        attempts=2, base_delay=0.01, max_delay=0.02, connect_timeout=1.0, read_timeout=1.0
    )
    outcome: dict[str, BaseException] = {}

    def push() -> None:
        try:
            publish.publish_model(
                saved_model, repo_id=REPO, token=TOKEN, endpoint=stalled_endpoint, retry=policy
            )
        except BaseException as error:  # handed to the test thread
            outcome["error"] = error

    started = time.monotonic()
    worker = threading.Thread(target=push, daemon=True)
    worker.start()
    worker.join(30)  # a push without timeouts would still be waiting here
    elapsed = time.monotonic() - started
    assert not worker.is_alive(), "the push hung on a Hub that never answers"
    error = outcome["error"]
    assert isinstance(error, publish.PublishError)
    message = str(error)
    assert "kept failing after 2 attempts" in message and "Timeout" in message, message
    assert stalled_endpoint in message and TOKEN not in message
    assert elapsed < 15


@pytest.mark.parametrize("endpoint", ["http://hub.example.com", "http://10.0.0.7:8080"])
def test_plain_http_to_another_machine_is_refused_before_the_token_is_sent(
    endpoint: str, saved_model: Path
) -> None:
    with pytest.raises(publish.PublishError, match="clear text") as raised:
        publish.publish_model(saved_model, repo_id=REPO, token=TOKEN, endpoint=endpoint)
    assert endpoint in str(raised.value) and TOKEN not in str(raised.value)


def test_commit_retries_idempotent_when_the_response_is_lost(
    hub: LocalHub, api: HfApi, saved_model: Path, tmp_path: Path
) -> None:
    # A first push with one more file, so the second push deletes it: a resent deletion of a
    # file that is already gone is what made a retry fail although the commit had landed.
    other = with_one_more_file(saved_model, tmp_path / "other")
    publish.publish_model(other, repo_id=REPO, token=TOKEN, version="fixed", retry=FAST_RETRY)
    before = api.list_repo_commits(REPO, revision="vfixed")

    hub.drop_response("POST", f"/api/models/{REPO}/commit/")  # applied, answer lost
    result = publish.publish_model(
        saved_model, repo_id=REPO, token=TOKEN, version="fixed", retry=FAST_RETRY
    )

    assert hub.stats.dropped_responses == 1
    after = api.list_repo_commits(REPO, revision="vfixed")
    assert len(after) == len(before) + 1  # exactly one commit for this push
    assert result.commit_id == after[0].commit_id
    files = download(hub, REPO, result.commit_id, tmp_path / "cache")
    assert "assets/labels.txt" not in files and "saved_model.pb" in files


class _OnRetry(logging.Handler):
    """Runs ``action`` once, when the pusher logs that it will retry the step ``step``."""

    def __init__(self, action, step: str = "commit to") -> None:
        super().__init__(logging.WARNING)
        self.action, self.step, self.done = action, step, False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.done and record.getMessage().startswith(self.step):
            self.done = True
            self.action()


def test_commit_retries_send_parent_commit_and_never_overwrite_a_concurrent_push(
    hub: LocalHub, api: HfApi, saved_model: Path
) -> None:
    first = publish.publish_model(saved_model, repo_id=REPO, token=TOKEN, retry=FAST_RETRY)
    hub.refuse("POST", f"/api/models/{REPO}/commit/", "503", times=1)
    # Between the refused commit and its retry, another writer commits to the same branch.
    intruder = _OnRetry(
        lambda: api.upload_file(
            path_or_fileobj=b"theirs", path_in_repo="other.txt", repo_id=REPO,
            revision=first.branch,
        )
    )  # fmt: skip
    logger = logging.getLogger("tfx_hf_pusher")
    logger.addHandler(intruder)
    try:
        with pytest.raises(publish.PublishError, match="moved") as raised:
            publish.publish_model(
                saved_model, repo_id=REPO, token=TOKEN, version=first.version,
                card=CardInfo(description="a changed card"), retry=FAST_RETRY,
            )  # fmt: skip
    finally:
        logger.removeHandler(intruder)
    assert intruder.done and "Re-run" in str(raised.value)
    files = {e.path for e in api.list_repo_tree(REPO, revision=first.branch, recursive=True)}
    assert "other.txt" in files  # the other writer's commit was not overwritten


def test_commit_retries_accept_an_identical_concurrent_push(
    hub: LocalHub, api: HfApi, saved_model: Path
) -> None:
    """Two pushers of the same version: the second one's commit gets 412 (its parent is stale)
    and finds the branch already holding its files: success, one commit, the same id."""
    hub.refuse("POST", f"/api/models/{REPO}/branch/", "503", times=1)
    concurrent: list[publish.PublishResult] = []
    twin = _OnRetry(
        lambda: concurrent.append(
            publish.publish_model(saved_model, repo_id=REPO, token=TOKEN, retry=FAST_RETRY)
        ),
        step="create branch",
    )
    logger = logging.getLogger("tfx_hf_pusher")
    logger.addHandler(twin)
    try:
        result = publish.publish_model(saved_model, repo_id=REPO, token=TOKEN, retry=FAST_RETRY)
    finally:
        logger.removeHandler(twin)
    assert twin.done and result.commit_id == concurrent[0].commit_id
    assert len(api.list_repo_commits(REPO, revision=result.branch)) == 2  # initial + one


def test_commit_retries_failed_first_push_leaves_no_version_branch(
    hub: LocalHub, api: HfApi, saved_model: Path
) -> None:
    api.create_repo(REPO, private=True)
    hub.refuse("POST", f"/api/models/{REPO}/commit/", "503", times=FAST_RETRY.attempts)
    with pytest.raises(publish.PublishError, match="kept failing after 4 attempts"):
        publish.publish_model(saved_model, repo_id=REPO, token=TOKEN, retry=FAST_RETRY)
    branches = {ref.name for ref in api.list_repo_refs(REPO).branches}
    assert branches == {"main"}  # no empty v<version> branch left behind


def _old_unframed_digest(files: dict[str, bytes]) -> str:
    """The scheme before the fix: name, NUL, content, NUL, for each file in order."""
    digest = hashlib.sha256()
    for name, content in sorted(files.items()):
        digest.update(name.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


def test_version_digest_collisions(tmp_path: Path) -> None:
    one_file = {"a": b"x\0b\0y"}
    two_files = {"a": b"x", "b": b"y"}
    assert _old_unframed_digest(one_file) == _old_unframed_digest(two_files)  # they collided
    dirs = []
    for name, files in (("one", one_file), ("two", two_files)):
        root = tmp_path / name
        root.mkdir()
        for relative, content in files.items():
            (root / relative).write_bytes(content)
        dirs.append(root)
    assert publish.model_version(dirs[0]) != publish.model_version(dirs[1])


def test_space_template_symlinked_directory_is_reported(
    hub: LocalHub, saved_model: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text("not for the Space")
    template = tmp_path / "template"
    template.mkdir()
    (template / "app.py").write_text("print('app')\n")
    (template / "assets").symlink_to(elsewhere, target_is_directory=True)
    space = publish.SpaceConfig(repo_id=f"{USER}/demo", template=str(template))
    with pytest.raises(publish.PublishError, match="symlinked directory") as raised:
        publish.publish_model(saved_model, repo_id=REPO, token=TOKEN, space=space)
    assert str(template / "assets") in str(raised.value)
    assert hub.stats.requests == 0  # refused before anything was pushed


def test_model_card_keeps_local_and_gs_paths_out(
    hub: LocalHub, saved_model: Path, tmp_path: Path
) -> None:
    card = CardInfo(training_data="gs://pets-bucket/data/train", datasets=["oxford-iiit-pet"])
    pipeline = {"pipeline": "pets", "model_uri": "/home/alice/runs/Trainer/model/7"}
    result = publish.publish_model(
        saved_model, repo_id=REPO, token=TOKEN, card=card, pipeline=pipeline
    )
    readme = download(hub, REPO, result.commit_id, tmp_path / "cache")["README.md"].decode()
    assert "gs://" not in readme and "/home/alice" not in readme
    assert yaml.safe_load(readme.split("---\n")[1])["tfx_pipeline"] == {"pipeline": "pets"}
    assert "oxford-iiit-pet" in readme  # public facts stay
