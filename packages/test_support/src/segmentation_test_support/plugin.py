"""Fixtures every package's tests may use: a local Hub and a GCS emulator that the real
clients talk to.

Loaded through the `pytest11` entry point of this package, so tests just name the fixture. The
Hub client is isolated here, at plugin load, before any test module imports huggingface_hub.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from segmentation_test_support.hub import TOKEN, USER, isolate_hub_client
from segmentation_test_support.network import free_port

isolate_hub_client()


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A LocalHub per test (hf_local_hub), with HF_ENDPOINT pointing at it."""
    from hf_local_hub import LocalHub

    with LocalHub(tmp_path / "hub", token=TOKEN, user=USER) as local_hub:
        monkeypatch.setenv("HF_ENDPOINT", local_hub.url)
        yield local_hub


@pytest.fixture
def api(hub):
    """A real huggingface_hub client for `hub`."""
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.url, token=hub.token)


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator:
    """gcp-storage-emulator on loopback; google-cloud-storage (and Beam's gcsio) use it.

    Yields an anonymous `storage.Client`; STORAGE_EMULATOR_HOST points every client of the
    process at the emulator for the session. Use a bucket name of your own per test. Without
    credentials (offline), Beam retries its credential lookup for ~25 s once per process, then
    connects anonymously, which the emulator accepts.
    """
    from gcp_storage_emulator.server import create_server
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    port = free_port()
    saved = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    try:
        yield storage.Client(project="test", credentials=AnonymousCredentials())
    finally:
        server.stop()
        if saved is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = saved
