"""Files Vertex steps read by path, uploaded under content-addressed gs:// prefixes.

On the compiling machine data_prep's schema and the Space template live in installed packages,
whose paths do not exist in the step containers, so `vertex submit` uploads them to GCS and the
compiled pipeline refers to the copies. Each copy sits under `<pipeline_root>/assets/<name>-
<digest>/`, the digest being a hash of the content: a later submit with other content writes
elsewhere instead of changing what an earlier, still-running job reads, and an unchanged asset
keeps its URI (so its ImportSchemaGen stays cached; a changed schema never hits a stale cache).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath
from typing import Any

ASSETS_DIR = "assets"
DIGEST_CHARS = 32  # 128 bits of sha256
_SKIPPED_DIRS = {"__pycache__"}
_SKIPPED_SUFFIXES = (".pyc",)


def asset_files(source: str | os.PathLike) -> list[tuple[str, Path]]:
    """(relative POSIX path, local path) of a file or of every file under a directory, sorted."""
    source = Path(source)
    if source.is_file():
        return [(source.name, source)]
    if not source.is_dir():
        raise FileNotFoundError(f"asset {source} is neither a file nor a directory")
    files = []
    for directory, subdirectories, names in os.walk(source):
        subdirectories[:] = sorted(d for d in subdirectories if d not in _SKIPPED_DIRS)
        for name in names:
            if not name.endswith(_SKIPPED_SUFFIXES):
                path = Path(directory, name)
                files.append((path.relative_to(source).as_posix(), path))
    return sorted(files)


def content_digest(files: list[tuple[str, Path]]) -> str:
    """sha256 over every (path, content), each length-prefixed so no two file sets collide."""
    digest = hashlib.sha256()
    for relative, path in files:
        for part in (relative.encode("utf-8"), path.read_bytes()):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()[:DIGEST_CHARS]


def asset_uri(pipeline_root: str, name: str, source: str | os.PathLike) -> str:
    """Where `source` is uploaded: a directory's prefix, or a file's full URI."""
    files = asset_files(source)
    prefix = f"{pipeline_root.rstrip('/')}/{ASSETS_DIR}/{name}-{content_digest(files)}"
    return prefix if Path(source).is_dir() else f"{prefix}/{files[0][0]}"


def upload(client: Any, source: str | os.PathLike, uri: str) -> list[str]:
    """Copies `source` to `uri` (from asset_uri) with a google-cloud-storage client.

    Files already there are not rewritten: under a content-addressed prefix they are the same.
    Returns the URI of every file of the asset.
    """
    bucket_name, _, prefix = uri.removeprefix("gs://").partition("/")
    if not uri.startswith("gs://") or not bucket_name or not prefix:
        raise ValueError(f"asset destination must be gs://<bucket>/<path>, got {uri!r}")
    bucket = client.bucket(bucket_name)
    source = Path(source)
    uploaded = []
    for relative, path in asset_files(source):
        name = str(PurePosixPath(prefix, relative)) if source.is_dir() else prefix
        blob = bucket.blob(name)
        if not blob.exists():
            blob.upload_from_filename(str(path))
        uploaded.append(f"gs://{bucket_name}/{name}")
    return uploaded
