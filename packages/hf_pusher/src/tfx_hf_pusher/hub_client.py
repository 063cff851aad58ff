"""The Hub, as the pusher talks to it: bounded retries, timeouts, idempotent commits.

Every call is retried on transient failures (5xx, 429, dropped connections, timeouts) with
exponential backoff up to :class:`RetryPolicy` ``attempts``; 401/403 fail at once with
:class:`HubAuthError`. Every HTTP request has connect/read timeouts (``huggingface_hub`` sets none
by default and passes ``timeout=None`` explicitly on many calls, so they are enforced in the
transport of the client it shares), so a stalled Hub fails like a 503 does, within the bound.

A commit is made idempotent: it names its ``parent_commit``, and when its response is lost the
branch head is checked before retrying: if the head already holds exactly the files sent, the
commit landed and is not repeated.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx2
import huggingface_hub
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

from tfx_hf_pusher.errors import HubAuthError, PublishError

logger = logging.getLogger(__name__)

KEEP_ON_HUB = {".gitattributes"}  # Hub-managed files a push never deletes
_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff for transient Hub errors, and per-request timeouts.

    Attributes:
        attempts: tries per call, the first included.
        base_delay: first backoff delay (seconds); doubles per retry, up to ``max_delay``.
        connect_timeout: seconds to establish a connection.
        read_timeout: seconds to wait for each chunk of an answer (a stalled Hub fails after it).
    """

    attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 8.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {self.attempts}.")
        if not (self.connect_timeout > 0 and self.read_timeout > 0):
            raise ValueError("connect_timeout and read_timeout must be positive seconds.")

    def delays(self) -> Iterator[float]:
        """Sleep before each retry: exponential with full jitter (spreads concurrent pushers)."""
        for attempt in range(self.attempts - 1):
            cap = min(self.max_delay, self.base_delay * 2**attempt)
            yield random.uniform(cap / 2, cap)  # noqa: S311 (jitter, not crypto)


class _TimeoutTransport(httpx2.HTTPTransport):
    """Fills in the connect/read/write/pool timeouts a request leaves unset (``None``)."""

    def __init__(self, policy: RetryPolicy) -> None:
        super().__init__()
        self._defaults = {
            "connect": policy.connect_timeout,
            "read": policy.read_timeout,
            "write": policy.read_timeout,
            "pool": policy.connect_timeout,
        }

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        timeouts = dict(request.extensions.get("timeout") or {})
        for key, default in self._defaults.items():
            if timeouts.get(key) is None:
                timeouts[key] = default
        request.extensions = {**request.extensions, "timeout": timeouts}
        return super().handle_request(request)


def install_timeouts(policy: RetryPolicy) -> None:
    """Make every request of ``huggingface_hub``'s shared client time out (its supported hook,
    ``set_client_factory``); the library's own event hooks (offline mode, request ids) are kept."""
    hooks = huggingface_hub.get_session().event_hooks

    def factory() -> httpx2.Client:
        return httpx2.Client(
            event_hooks=hooks,
            follow_redirects=True,
            timeout=httpx2.Timeout(policy.read_timeout, connect=policy.connect_timeout),
            transport=_TimeoutTransport(policy),
        )

    huggingface_hub.set_client_factory(factory)


def git_blob_oid(content: bytes) -> str:
    """The git object id the Hub reports for a regular (non-LFS) file."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


class HubClient:
    """HfApi plus the retry/error policy; the token lives only inside ``api``."""

    def __init__(self, api: HfApi, retry: RetryPolicy, token_source: str) -> None:
        self.api = api
        self.retry = retry
        self.token_source = token_source
        install_timeouts(retry)

    def call(self, what: str, action: Callable[[], object]):
        """Run ``action``, retrying transient failures; auth errors and others fail at once."""
        return self._call(what, action, before_retry=None)

    def _call(self, what: str, action: Callable[[], object], before_retry):
        delays = self.retry.delays()
        while True:
            try:
                return action()
            except Exception as error:
                status = _http_status(error)
                if status in (401, 403):
                    raise self._auth_error(what, status) from error
                if isinstance(error, RepositoryNotFoundError):
                    raise PublishError(
                        f"Cannot {what}: the repository does not exist or {self.token_source} "
                        "cannot see it. Check the repo id and that the token can access it."
                    ) from error
                if not _is_transient(error, status):
                    raise PublishError(f"Cannot {what}: {_describe(error)}") from error
                delay = next(delays, None)
                if delay is None:
                    raise PublishError(
                        f"Cannot {what}: the Hub kept failing after {self.retry.attempts} "
                        f"attempts ({_describe(error)}). Check that {self.api.endpoint} is up, "
                        "then re-run: a push is idempotent."
                    ) from error
                delay = max(delay, _retry_after(error))
                logger.warning("%s failed (%s); retrying in %.1fs", what, _describe(error), delay)
                time.sleep(delay)
                if before_retry is not None:
                    done, value = before_retry()
                    if done:
                        return value

    def head(self, repo_id: str, repo_type: str, branch: str) -> str | None:
        """The commit ``branch`` points at, None when the branch does not exist."""

        def read() -> str | None:
            try:
                return self.api.repo_info(repo_id, repo_type=repo_type, revision=branch).sha
            except RevisionNotFoundError:
                return None

        return self.call(f"read the head of {repo_id}@{branch}", read)

    def files_at(self, repo_id: str, repo_type: str, revision: str) -> dict[str, str]:
        """path -> content id (LFS sha256, else git blob id) of every file at ``revision``."""
        entries = self.call(
            f"list files of {repo_id}@{revision[:12]}",
            lambda: list(
                self.api.list_repo_tree(
                    repo_id, repo_type=repo_type, revision=revision, recursive=True
                )
            ),
        )
        return {
            entry.path: entry.lfs.sha256 if entry.lfs else entry.blob_id
            for entry in entries
            if hasattr(entry, "blob_id")
        }

    def commit(
        self,
        repo_id: str,
        repo_type: str,
        branch: str,
        contents: dict[str, bytes | str],
        *,
        message: str,
    ) -> str:
        """One atomic commit making ``branch`` hold exactly ``contents`` (path -> bytes or a
        local file path); returns the head commit id.

        The branch is created (from ``main``) only once the uploads are done, and deleted again
        if the commit then fails, so a failed first push leaves no empty version branch.
        """
        where = f"{repo_id}@{branch}"
        parent = self.head(repo_id, repo_type, branch)
        created = parent is None
        if created:
            parent = self.head(repo_id, repo_type, "main")
            if parent is None:
                raise PublishError(f"Cannot push to {where}: {repo_id} has no main branch.")
        remote = self.files_at(repo_id, repo_type, parent)
        wanted = {path: _content_ids(content) for path, content in contents.items()}
        additions = [CommitOperationAdd(path, content) for path, content in contents.items()]
        stale = sorted(set(remote) - set(wanted) - KEEP_ON_HUB)
        deletions = [CommitOperationDelete(path) for path in stale]
        self.call(
            f"upload files to {where}",
            lambda: self.api.preupload_lfs_files(
                repo_id,
                additions=additions,
                repo_type=repo_type,
                revision="main" if created else branch,
            ),
        )
        if created:
            self.call(
                f"create branch {branch} of {repo_id}",
                lambda: self.api.create_branch(
                    repo_id, repo_type=repo_type, branch=branch, revision=parent, exist_ok=True
                ),
            )

        def landed() -> tuple[bool, str | None]:
            """After a failed commit call: did it land anyway (its response lost)?"""
            head = self.head(repo_id, repo_type, branch)
            if head == parent:
                return False, None  # not applied: retry it
            if head is not None and self._holds(repo_id, repo_type, head, wanted):
                logger.info("The commit to %s landed although its answer was lost.", where)
                return True, head
            raise PublishError(
                f"Cannot commit to {where}: the branch moved to {head} during this push "
                "(another pusher?) and does not hold this push's files. Re-run the push."
            )

        def attempt() -> object:
            try:
                return self.api.create_commit(
                    repo_id,
                    operations=[*additions, *deletions],
                    commit_message=message,
                    repo_type=repo_type,
                    revision=branch,
                    parent_commit=parent,
                )
            except HfHubHTTPError as error:
                if _http_status(error) != 412:
                    raise
                # The branch moved since `parent`: maybe an identical push (same version) won.
                done, head = landed()
                if not done:
                    raise
                return head

        try:
            info = self._call(f"commit to {where}", attempt, before_retry=landed)
        except PublishError:
            if created:
                self._delete_new_branch(repo_id, repo_type, branch, parent)
            raise
        return info.oid if hasattr(info, "oid") else info  # CommitInfo, or the landed head

    def _holds(
        self, repo_id: str, repo_type: str, revision: str, wanted: dict[str, tuple[str, str]]
    ) -> bool:
        """Whether ``revision`` holds exactly the ``wanted`` files (Hub-managed ones aside)."""
        remote = self.files_at(repo_id, repo_type, revision)
        paths = {p for p in remote if p not in KEEP_ON_HUB or p in wanted}
        return paths == set(wanted) and all(remote[p] in wanted[p] for p in paths)

    def _delete_new_branch(self, repo_id: str, repo_type: str, branch: str, start: str) -> None:
        """Remove a branch this push created, if it still points where it started."""
        try:
            if self.head(repo_id, repo_type, branch) == start:
                self.api.delete_branch(repo_id, repo_type=repo_type, branch=branch)
        except Exception as error:  # cleanup must not hide the push's own error
            logger.warning("Could not delete the empty branch %s: %s", branch, _describe(error))

    def _auth_error(self, what: str, status: int) -> HubAuthError:
        if status == 401:
            return HubAuthError(
                f"Cannot {what}: the Hub at {self.api.endpoint} rejected {self.token_source} "
                "(HTTP 401). Put a valid access token there (https://huggingface.co/settings/"
                "tokens); the pusher needs a token with write access."
            )
        return HubAuthError(
            f"Cannot {what}: {self.token_source} lacks permission (HTTP 403). Use a token with "
            "write access to this namespace (a fine-grained token needs 'write' on the repo, or "
            "on the organization for repos created under it)."
        )


def _content_ids(content: bytes | str) -> tuple[str, str]:
    """The two ids the Hub may report for a file: its sha256 (LFS) and its git blob id."""
    if isinstance(content, bytes):
        return hashlib.sha256(content).hexdigest(), git_blob_oid(content)
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(b"blob %d\0" % os.path.getsize(content), usedforsecurity=False)
    with open(content, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha256.update(chunk)
            blob.update(chunk)
    return sha256.hexdigest(), blob.hexdigest()


def _http_status(error: BaseException) -> int | None:
    for cause in _chain(error):
        if isinstance(cause, HfHubHTTPError) and cause.response is not None:
            return cause.response.status_code
    return None


def _retry_after(error: BaseException) -> float:
    """Seconds the server asked to wait (``Retry-After``), capped at a minute."""
    for cause in _chain(error):
        if isinstance(cause, HfHubHTTPError) and cause.response is not None:
            value = cause.response.headers.get("Retry-After", "").strip()
            return min(float(value), 60.0) if value.isdigit() else 0.0
    return 0.0


def _is_transient(error: BaseException, status: int | None) -> bool:
    if status is not None:
        return status in _TRANSIENT_STATUS
    return any(isinstance(cause, httpx2.TransportError) for cause in _chain(error))


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _describe(error: BaseException) -> str:
    status = _http_status(error)
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if not first_line and isinstance(error, httpx2.TimeoutException):
        first_line = "no answer within the timeout"
    kind = f"HTTP {status}" if status else type(error).__name__
    return f"{kind}: {first_line}"[:300]
