"""Directory trees as values, so tests compare what was uploaded with what came back."""

from __future__ import annotations

from pathlib import Path


def read_tree(root: Path) -> dict[str, bytes]:
    """{path relative to `root`, POSIX style: contents} for every file below `root`."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
