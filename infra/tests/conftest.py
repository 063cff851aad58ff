"""Fixtures: run the infra scripts against the recording gcloud stand-in (fake_gcloud.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fake_gcloud import MUTATING_VERBS

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
FAKE_GCLOUD = Path(__file__).with_name("fake_gcloud.py")
# Linters the infra nox session installs; there a missing one fails instead of skipping.
REQUIRE_LINTERS = os.environ.get("INFRA_REQUIRE_LINTERS") == "1"


def which(tool: str) -> str | None:
    """Finds a tool on PATH or next to this Python (a venv's bin/ need not be on PATH)."""
    return shutil.which(
        tool, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    )


def require_tool(path: str | None, what: str) -> str:
    if path:
        return path
    message = f"{what} is not installed; the infra nox session installs it (./dev.sh test -s infra)"
    if REQUIRE_LINTERS:
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError  # unreachable


@dataclass
class GcloudWorld:
    """A temporary HOME, a PATH whose gcloud is the stand-in, its log and its state."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> Path:
        return self.root / "gcloud.log"

    @property
    def state_path(self) -> Path:
        return self.root / "state.json"

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def state(self) -> dict:
        return json.loads(self.state_path.read_text())

    def run(
        self, script: str, *args: str, stdin: str = "", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(INFRA / script), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            cwd=REPO,
            timeout=120,
        )


def mutating(calls: list[list[str]]) -> list[list[str]]:
    return [call for call in calls if MUTATING_VERBS & set(call)]


@pytest.fixture
def world(tmp_path: Path) -> GcloudWorld:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "gcloud"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_GCLOUD}" "$@"\n')
    wrapper.chmod(0o755)
    world = GcloudWorld(tmp_path)
    world.env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "FAKE_GCLOUD_LOG": str(world.log),
        "FAKE_GCLOUD_STATE": str(world.state_path),
    }
    return world


@pytest.fixture
def no_gcloud_path(tmp_path: Path) -> str:
    """A PATH with the tools the scripts use but no gcloud (the machine may have a real one)."""
    bin_dir = tmp_path / "nogcloud"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "basename", "grep", "cat", "sleep"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)
