"""Publish a SavedModel version (and optionally its demo Space) to the Hugging Face Hub.

Plain Python over ``huggingface_hub.HfApi`` (HTTP API, no git): callable and testable without
TFX. The TFX executor is a thin wrapper around :func:`publish_model`.

Model repo layout: one branch per model version, ``v<version>``, where the version is a digest of
the SavedModel files (so a re-run of the same model lands on the same branch), and one atomic
commit per push holding the SavedModel files and the model card; files of an earlier push to the
branch that are not part of this one are deleted in the same commit. Unchanged content makes no
commit at all: the Hub client drops unchanged files, and an empty commit is skipped.

Space: the app template (local dir, or ``gs://`` copied through a private temp dir) is read
before anything is pushed, its placeholders are replaced in memory in its text files only (the
template itself is never modified), and the result is committed to the Space's ``main`` branch,
pinned to the model commit just pushed.

Errors: transient HTTP failures (5xx, 429, dropped connections, timeouts) are retried with
exponential backoff up to a bound; 401/403 fail at once with :class:`HubAuthError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx2
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.constants import SPACES_SDK_TYPES
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tfx_hf_pusher.model_card import CardInfo, ModelFacts, build_model_card, describe_signatures

logger = logging.getLogger(__name__)

T = TypeVar("T")

BRANCH_PREFIX = "v"
VERSION_LENGTH = 12
# Space placeholders, field -> text replaced in the template's text files.
DEFAULT_PLACEHOLDERS: Mapping[str, str] = {
    "repo_id": "%%MODEL_REPO_ID%%",
    "revision": "%%MODEL_REVISION%%",
    "repo_url": "%%MODEL_REPO_URL%%",
}
_IGNORED_NAMES = {".git", "__pycache__", ".DS_Store", ".ipynb_checkpoints"}
_KEEP_ON_HUB = {".gitattributes"}  # Hub-managed files a push never deletes
_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}


class PublishError(RuntimeError):
    """Publishing failed; the message says which step and what to do."""


class HubAuthError(PublishError):
    """The Hub rejected the token (401) or its permissions (403): retrying cannot help."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff for transient Hub errors."""

    attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delays(self) -> Iterator[float]:
        """Sleep before each retry: exponential with full jitter (spreads concurrent pushers)."""
        for attempt in range(self.attempts - 1):
            cap = min(self.max_delay, self.base_delay * 2**attempt)
            yield random.uniform(cap / 2, cap)  # noqa: S311 (jitter, not crypto)


@dataclass(frozen=True)
class SpaceConfig:
    """Where and how to publish the demo app.

    Attributes:
        repo_id: the Space, ``namespace/name``.
        template: directory of the app (local path or ``gs://bucket/prefix``).
        sdk: Space SDK used when the Space is created.
        private: visibility when the Space is created (an existing Space keeps its own).
        placeholders: field (``repo_id``, ``revision``, ``repo_url``) -> text to replace.
    """

    repo_id: str
    template: str
    sdk: str = "gradio"
    private: bool = False
    placeholders: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_PLACEHOLDERS))

    def __post_init__(self) -> None:
        unknown = sorted(set(self.placeholders) - set(DEFAULT_PLACEHOLDERS))
        if unknown:
            raise ValueError(
                f"Unknown Space placeholder fields {unknown}; use {sorted(DEFAULT_PLACEHOLDERS)}."
            )
        if any(not text for text in self.placeholders.values()):
            raise ValueError("Space placeholders must be non-empty strings.")
        if self.sdk not in SPACES_SDK_TYPES:
            raise ValueError(f"space_sdk '{self.sdk}' is not one of {SPACES_SDK_TYPES}.")


@dataclass(frozen=True)
class PublishResult:
    """What was published; the TFX executor copies these onto the PushedModel artifact."""

    repo_id: str
    version: str
    branch: str
    commit_id: str
    repo_url: str  # the model repo page at the version branch
    space_url: str = ""
    space_commit_id: str = ""


def model_version(model_dir: str | os.PathLike[str]) -> str:
    """Digest of a SavedModel directory: relative paths and contents of every file."""
    digest = hashlib.sha256()
    for relative, path in _walk_files(Path(model_dir)):
        digest.update(relative.encode() + b"\0")
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()[:VERSION_LENGTH]


def publish_model(
    model_dir: str | os.PathLike[str],
    *,
    repo_id: str,
    token: str,
    endpoint: str | None = None,
    private: bool = True,
    version: str | None = None,
    card: CardInfo | None = None,
    metrics: Mapping[str, float] | None = None,
    pipeline: Mapping[str, str] | None = None,
    space: SpaceConfig | None = None,
    token_source: str = "the token",  # noqa: S107 (a description, not a secret)
    retry: RetryPolicy | None = None,
) -> PublishResult:
    """Push ``model_dir`` (a SavedModel, local or ``gs://``) to ``repo_id`` and the Space.

    Args:
        endpoint: Hub URL; default ``$HF_ENDPOINT`` at call time, else huggingface.co.
        version: branch suffix; default :func:`model_version` of the files.
        token_source: where the token came from, named in auth errors (never the value).
    """
    if not token:
        raise PublishError("An empty Hugging Face token was given.")
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
    hub = _Hub(HfApi(endpoint=endpoint, token=token), retry or RetryPolicy(), token_source)
    # Read the app first: a bad template must fail before anything is pushed.
    template = load_template(space.template) if space is not None else {}
    with _local_copy(str(model_dir)) as local_dir:
        if not (local_dir / "saved_model.pb").is_file():
            raise PublishError(f"{model_dir} is not a SavedModel directory (no saved_model.pb).")
        version = version or model_version(local_dir)
        branch = f"{BRANCH_PREFIX}{version}"
        readme = build_model_card(
            card or CardInfo(),
            ModelFacts(
                repo_id=repo_id,
                branch=branch,
                version=version,
                metrics=dict(metrics or {}),
                signatures=describe_signatures(local_dir),
                pipeline=dict(pipeline or {}),
            ),
        )
        files = {relative: path for relative, path in _walk_files(local_dir)}
        if "README.md" in files:
            raise PublishError(
                f"{model_dir} contains a README.md; the model card would replace it."
            )
        logger.info("Publishing %d files of model version %s to %s", len(files), version, repo_id)
        hub.call(
            f"create model repo {repo_id}",
            lambda: hub.api.create_repo(repo_id, private=private, exist_ok=True),
        )
        hub.call(
            f"create branch {branch} of {repo_id}",
            lambda: hub.api.create_branch(repo_id, branch=branch, exist_ok=True),
        )
        additions = [CommitOperationAdd(rel, str(path)) for rel, path in files.items()]
        additions.append(CommitOperationAdd("README.md", readme.encode()))
        commit_id = hub.commit(
            repo_id,
            "model",
            branch,
            additions,
            message=f"Model version {version}",
        )
    repo_url = f"{endpoint}/{repo_id}/tree/{branch}"
    logger.info("Model version %s is at %s (commit %s)", version, repo_url, commit_id)
    result = PublishResult(repo_id, version, branch, commit_id, repo_url)
    if space is None:
        return result
    values = {"repo_id": repo_id, "revision": commit_id, "repo_url": f"{endpoint}/{repo_id}"}
    space_commit = _publish_space(hub, space, template, values)
    space_url = f"{endpoint}/spaces/{space.repo_id}"
    logger.info("Space %s now serves model commit %s", space_url, commit_id)
    return PublishResult(repo_id, version, branch, commit_id, repo_url, space_url, space_commit)


def load_template(source: str) -> dict[str, bytes]:
    """Every file of the app template (local dir or gs://), by posix relative path."""
    with _local_copy(source) as app_dir:
        files = {relative: path.read_bytes() for relative, path in _walk_files(app_dir)}
    if not files:
        raise PublishError(f"The Space template {source} has no files.")
    return files


def render_template(
    files: Mapping[str, bytes], replacements: Mapping[str, str]
) -> dict[str, bytes]:
    """Placeholders replaced in UTF-8 text files; binary files returned untouched."""
    rendered: dict[str, bytes] = {}
    for relative, content in files.items():
        text = _as_text(content)
        if text is not None:
            for placeholder, value in replacements.items():
                text = text.replace(placeholder, value)
            content = text.encode("utf-8")
        rendered[relative] = content
    return rendered


def _publish_space(
    hub: _Hub, space: SpaceConfig, template: Mapping[str, bytes], values: Mapping[str, str]
) -> str:
    """Commit the rendered app to the Space's main branch; return the commit id."""
    replacements = {space.placeholders[name]: values[name] for name in space.placeholders}
    rendered = render_template(template, replacements)
    hub.call(
        f"create Space {space.repo_id}",
        lambda: hub.api.create_repo(
            space.repo_id,
            repo_type="space",
            space_sdk=space.sdk,
            private=space.private,
            exist_ok=True,
        ),
    )
    additions = [CommitOperationAdd(rel, content) for rel, content in rendered.items()]
    return hub.commit(
        space.repo_id,
        "space",
        "main",
        additions,
        message=f"Serve {values['repo_id']}@{values['revision'][:12]}",
    )


def _as_text(content: bytes) -> str | None:
    if b"\0" in content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


class _Hub:
    """HfApi plus the retry/error policy; the token lives only inside ``api``."""

    def __init__(self, api: HfApi, retry: RetryPolicy, token_source: str) -> None:
        self.api = api
        self.retry = retry
        self.token_source = token_source

    def call(self, what: str, action: Callable[[], T]) -> T:
        """Run ``action``, retrying transient failures; auth errors and others fail at once."""
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

    def commit(
        self,
        repo_id: str,
        repo_type: str,
        branch: str,
        additions: list[CommitOperationAdd],
        *,
        message: str,
    ) -> str:
        """One atomic commit making ``branch`` hold exactly ``additions``; returns the head id.

        Uploads first (each retried on its own, and upload state survives retries), then the
        commit call, so a transient failure never costs a re-upload or leaves a partial branch.
        """
        where = f"{repo_id}@{branch}"
        remote = self.call(
            f"list files of {where}",
            lambda: [
                entry.path
                for entry in self.api.list_repo_tree(
                    repo_id, repo_type=repo_type, revision=branch, recursive=True
                )
                if hasattr(entry, "blob_id")
            ],
        )
        wanted = {op.path_in_repo for op in additions}
        stale = sorted(set(remote) - wanted - _KEEP_ON_HUB)
        deletions = [CommitOperationDelete(path) for path in stale]
        self.call(
            f"upload files to {where}",
            lambda: self.api.preupload_lfs_files(
                repo_id, additions=additions, repo_type=repo_type, revision=branch
            ),
        )
        info = self.call(
            f"commit to {where}",
            lambda: self.api.create_commit(
                repo_id,
                operations=[*additions, *deletions],
                commit_message=message,
                repo_type=repo_type,
                revision=branch,
            ),
        )
        return info.oid

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
    kind = f"HTTP {status}" if status else type(error).__name__
    return f"{kind}: {first_line}"[:300]


def _walk_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(posix relative path, path) of regular files under ``root``, sorted, skipping VCS/cache.

    Symlinks are refused: following one could publish a file from outside the directory.
    """
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _IGNORED_NAMES)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name in _IGNORED_NAMES or name.endswith(".pyc"):
                continue
            if path.is_symlink():
                raise PublishError(
                    f"Refusing to publish the symlink {path}; copy the file instead."
                )
            yield path.relative_to(root).as_posix(), path


@contextlib.contextmanager
def _local_copy(source: str) -> Iterator[Path]:
    """A local directory holding ``source``: itself when local, a private temp copy for gs://."""
    if not source.startswith("gs://"):
        path = Path(source)
        if not path.is_dir():
            raise PublishError(f"{source} is not a directory.")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="hf-pusher-") as tmp:  # mode 0700: private
        _download_gcs_prefix(source, Path(tmp))
        yield Path(tmp)


def _download_gcs_prefix(url: str, dest: Path) -> None:
    """Copy every object under ``gs://bucket/prefix`` into ``dest`` (google-cloud-storage)."""
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions
    from google.cloud import storage

    bucket, _, prefix = url.removeprefix("gs://").partition("/")
    prefix = f"{prefix.rstrip('/')}/" if prefix.strip("/") else ""
    count = 0
    try:
        for blob in storage.Client().list_blobs(bucket, prefix=prefix):
            relative = blob.name[len(prefix) :]
            if not relative or relative.endswith("/"):
                continue  # folder placeholder objects
            if any(part in ("", ".", "..") for part in relative.split("/")):
                raise PublishError(f"Unsafe object name under {url}: {blob.name}")
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            blob.download_to_filename(str(target))
            count += 1
    except auth_exceptions.DefaultCredentialsError as error:
        raise PublishError(
            f"Cannot read {url}: no GCP credentials. Run `gcloud auth application-default "
            "login` or set GOOGLE_APPLICATION_CREDENTIALS."
        ) from error
    except api_exceptions.GoogleAPIError as error:
        raise PublishError(f"Cannot read {url}: {type(error).__name__}: {error}") from error
    if count == 0:
        raise PublishError(f"No files under {url}.")
    logger.info("Copied %d files from %s", count, url)
