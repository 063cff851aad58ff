"""Where published files come from: local or ``gs://`` directories, and the Space template.

A ``gs://`` prefix is copied into a private temp dir first, so everything downstream reads plain
local files. Symlinks are refused, never followed or silently dropped: following one could
publish a file from outside the directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from tfx_hf_pusher.errors import PublishError
from tfx_hf_pusher.gcp_errors import gcp_errors

logger = logging.getLogger(__name__)

_IGNORED_NAMES = {".git", "__pycache__", ".DS_Store", ".ipynb_checkpoints"}


def walk_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(posix relative path, path) of regular files under ``root``, sorted, skipping VCS/cache.

    Raises:
        PublishError: a symlink (to a file or a directory) under ``root``.
    """
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames):
            path = Path(dirpath) / name
            if name not in _IGNORED_NAMES and path.is_symlink():
                raise PublishError(
                    f"Refusing to publish the symlinked directory {path} (-> "
                    f"{os.readlink(path)}); copy its files into the directory instead."
                )
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
def local_copy(source: str) -> Iterator[Path]:
    """A local directory holding ``source``: itself when local, a private temp copy for gs://."""
    if not source.startswith("gs://"):
        path = Path(source)
        if not path.is_dir():
            raise PublishError(f"{source} is not a directory.")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="hf-pusher-") as tmp:  # mode 0700: private
        download_gcs_prefix(source, Path(tmp))
        yield Path(tmp)


def download_gcs_prefix(url: str, dest: Path) -> None:
    """Copy every object under ``gs://bucket/prefix`` into ``dest`` (google-cloud-storage)."""
    from google.cloud import storage

    bucket, _, prefix = url.removeprefix("gs://").partition("/")
    prefix = f"{prefix.rstrip('/')}/" if prefix.strip("/") else ""
    count = 0
    with gcp_errors(f"Cannot read {url}", PublishError):
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
    if count == 0:
        raise PublishError(f"No files under {url}.")
    logger.info("Copied %d files from %s", count, url)


def load_template(source: str) -> dict[str, bytes]:
    """Every file of the app template (local dir or gs://), by posix relative path."""
    with local_copy(source) as app_dir:
        files = {relative: path.read_bytes() for relative, path in walk_files(app_dir)}
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


def _as_text(content: bytes) -> str | None:
    if b"\0" in content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None
