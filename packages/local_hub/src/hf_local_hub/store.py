"""Repositories on disk: content-addressed blobs, per-repo refs and immutable commit manifests.

Layout under ``root``: ``blobs/<sha256>`` holds every file content once;
``repos/<type>s/<namespace>/<name>/repo.json`` holds refs and settings and
``.../commits/<sha1>.json`` one manifest per commit (path -> blob entry). Every name that comes
from a request (repo type, repo id, blob oid, commit sha) is validated here, and every path this
module builds is checked to stay under ``root``: this is the one gateway from URLs to files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from hf_local_hub.messages import HubError

REPO_TYPES = ("model", "dataset", "space")
# The plural the Hub uses in API routes (``/api/datasets/...``) -> repo type.
REPO_TYPE_OF_PLURAL = {f"{repo_type}s": repo_type for repo_type in REPO_TYPES}
URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
DEFAULT_BRANCH = "main"
_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$")
_SHA1_RE = re.compile(r"^[0-9a-f]{40}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# The `.gitattributes` the Hub puts in every new repo (abridged): these paths always go to LFS.
GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (
        "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib",
        "*.lfs.*", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot",
        "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors",
        "saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip",
        "*.zst", "*tfevents*",
    )
)  # fmt: skip


def git_blob_oid(content: bytes) -> str:
    """The git object id of a blob, which the Hub reports as a regular file's ``oid``."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    text = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n"
    return text.encode("ascii")


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def is_sha256(oid: object) -> bool:
    return isinstance(oid, str) and bool(_SHA256_RE.match(oid))


def check_sha256(oid: object) -> str:
    """An LFS oid as sent by a client; anything but 64 lowercase hex digits is refused."""
    if not is_sha256(oid):
        raise HubError(400, f"Invalid LFS oid {str(oid)[:80]!r}: expected a sha256 (64 hex digits)")
    return str(oid)


def check_repo_type(repo_type: object) -> str:
    if repo_type not in REPO_TYPES:
        raise HubError(400, f"Invalid repo type {str(repo_type)[:80]!r}: one of {REPO_TYPES}")
    return str(repo_type)


def check_repo_id(repo_id: str) -> str:
    namespace, _, name = repo_id.partition("/")
    for part in (namespace, name):
        if not _NAME_RE.match(part) or "--" in part or ".." in part:
            raise HubError(400, f"Invalid repo id '{repo_id[:200]}'")
    return repo_id


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


class HubStore:
    """The file-backed repositories; ``lock`` serializes every read-modify-write of refs."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()

    def _inside(self, path: Path) -> Path:
        """``path`` if it stays under the root (symlinks resolved), else a 400: never a way out."""
        if not path.resolve().is_relative_to(self.root):
            raise HubError(400, "Invalid path: outside the hub's storage")
        return path

    # -- blobs --------------------------------------------------------------------------------
    def blob_path(self, sha256: str) -> Path:
        return self._inside(self.root / "blobs" / check_sha256(sha256))

    def has_blob(self, sha256: str, size: int | None = None) -> bool:
        path = self.blob_path(sha256)
        return path.is_file() and (size is None or path.stat().st_size == size)

    def read_blob(self, sha256: str) -> bytes:
        return self.blob_path(sha256).read_bytes()

    def put_blob(self, content: bytes) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        if not self.has_blob(sha256):
            _write_atomic(self.blob_path(sha256), content)
        return sha256

    # -- repos --------------------------------------------------------------------------------
    def repo_dir(self, repo_type: str, repo_id: str) -> Path:
        path = self.root / "repos" / f"{check_repo_type(repo_type)}s" / check_repo_id(repo_id)
        return self._inside(path)

    def repo_exists(self, repo_type: str, repo_id: str) -> bool:
        return (self.repo_dir(repo_type, repo_id) / "repo.json").is_file()

    def load_repo(self, repo_type: str, repo_id: str) -> dict[str, Any]:
        path = self.repo_dir(repo_type, repo_id) / "repo.json"
        if not path.is_file():
            raise HubError(404, f"Repository {repo_type}s/{repo_id} not found", "RepoNotFound")
        return json.loads(path.read_text())

    def save_repo(self, repo_type: str, repo_id: str, repo: dict[str, Any]) -> None:
        data = json.dumps(repo, indent=1, sort_keys=True).encode()
        _write_atomic(self.repo_dir(repo_type, repo_id) / "repo.json", data)

    def delete_repo(self, repo_type: str, repo_id: str) -> None:
        """Hide the repo; its commit manifests and blobs stay (cheap, and harmless)."""
        with self.lock:
            self.load_repo(repo_type, repo_id)
            repo_dir = self.repo_dir(repo_type, repo_id)
            (repo_dir / "repo.json").unlink()
            graveyard = repo_dir.with_name(f".deleted-{repo_dir.name}-{secrets.token_hex(4)}")
            os.replace(repo_dir, graveyard)

    def _commit_path(self, repo_type: str, repo_id: str, sha: str) -> Path:
        if not _SHA1_RE.match(sha):
            raise HubError(400, f"Invalid commit id {sha[:80]!r}")
        return self.repo_dir(repo_type, repo_id) / "commits" / f"{sha}.json"

    def load_commit(self, repo_type: str, repo_id: str, sha: str) -> dict[str, Any]:
        return json.loads(self._commit_path(repo_type, repo_id, sha).read_text())

    def resolve(self, repo_type: str, repo_id: str, revision: str) -> tuple[dict, str]:
        """Return (repo, commit sha) for a branch name, ``refs/heads/<b>`` or a full commit sha."""
        repo = self.load_repo(repo_type, repo_id)
        name = revision.removeprefix("refs/heads/")
        if name in repo["refs"]:
            return repo, repo["refs"][name]
        if _SHA1_RE.match(revision) and self._commit_path(repo_type, repo_id, revision).is_file():
            return repo, revision
        raise HubError(404, f"Invalid rev id: {revision[:200]}", "RevisionNotFound")

    def write_commit(
        self,
        repo_type: str,
        repo_id: str,
        *,
        parent: str | None,
        files: dict[str, dict[str, Any]],
        title: str,
        message: str,
        author: str,
    ) -> str:
        commit = {
            "parent": parent,
            "files": files,
            "title": title,
            "message": message,
            "author": author,
            "date": now_iso(),
            "nonce": secrets.token_hex(8),  # two identical commits still get distinct ids
        }
        data = json.dumps(commit, indent=1, sort_keys=True).encode()
        sha = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        _write_atomic(self._commit_path(repo_type, repo_id, sha), data)
        return sha

    def regular_entry(self, content: bytes) -> dict[str, Any]:
        """Manifest entry of a file committed inline (its git blob id is its ``oid``)."""
        sha256 = self.put_blob(content)
        return {"oid": git_blob_oid(content), "size": len(content), "sha256": sha256, "lfs": None}

    def lfs_entry(self, sha256: str) -> dict[str, Any]:
        """Manifest entry of an uploaded LFS object (git tracks its pointer file)."""
        size = self.blob_path(sha256).stat().st_size
        pointer = lfs_pointer(sha256, size)
        return {
            "oid": git_blob_oid(pointer),
            "size": size,
            "sha256": sha256,
            "lfs": {"oid": sha256, "size": size, "pointerSize": len(pointer)},
        }
