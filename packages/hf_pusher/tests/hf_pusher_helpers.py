"""Helpers shared by the hf_pusher tests (a uniquely named module, unlike conftest)."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from huggingface_hub import snapshot_download
from tfx_hf_pusher.local_hub import LocalHub

# A distinctive token: tests grep logs, metadata and files for it.
TOKEN = f"hf_{secrets.token_hex(20)}"
USER = "pet-lab"


def download(hub: LocalHub, repo_id: str, revision: str, dest: Path, repo_type: str = "model"):
    """Download a revision with the real client; returns {relative path: bytes}."""
    folder = snapshot_download(
        repo_id,
        revision=revision,
        repo_type=repo_type,
        endpoint=hub.url,
        token=TOKEN,
        cache_dir=dest,
    )
    root = Path(folder)
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(path.relative_to(root).as_posix().encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()
