"""A LocalHub per test and a real huggingface_hub client pointed at it.

The client reads HF_HUB_DISABLE_XET and friends when huggingface_hub is imported, so they are
set here, before any test module imports it. HF_HOME points at a temp dir so a token cached on the
developer's machine can never be picked up.
"""

from __future__ import annotations

import os
import secrets
import tempfile

os.environ.update(
    HF_HUB_DISABLE_XET="1",
    HF_HUB_DISABLE_TELEMETRY="1",
    HF_HUB_DISABLE_PROGRESS_BARS="1",
    HF_HUB_DISABLE_IMPLICIT_TOKEN="1",
    HF_HOME=tempfile.mkdtemp(prefix="hf-home-"),
)
os.environ.pop("HF_TOKEN", None)

from collections.abc import Iterator
from pathlib import Path

import pytest
from hf_local_hub import LocalHub
from huggingface_hub import HfApi

TOKEN = f"hf_{secrets.token_hex(20)}"
USER = "pet-lab"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[LocalHub]:
    with LocalHub(tmp_path / "hub", token=TOKEN, user=USER) as local_hub:
        yield local_hub


@pytest.fixture
def api(hub: LocalHub) -> HfApi:
    return HfApi(endpoint=hub.url, token=hub.token)
