"""Fixtures every package's tests may use: a local Hub and a GCS emulator that the real
clients talk to.

Loaded through the `pytest11` entry point of this package, so tests just name the fixture. The
Hub client is isolated here, at plugin load, before any test module imports huggingface_hub.
"""

from __future__ import annotations

import json
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
    process at the emulator for the session. Use a bucket name of your own per test. Beam's
    gcsio looks for credentials first: use `emulator_credentials` too, or it retries its lookup
    for ~25 s (once per process) before connecting anonymously.
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


@pytest.fixture
def emulator_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Application default credentials for the GCS emulator, which ignores them: an access
    token that never expires and cannot be refreshed, so a client finds credentials at once
    and never calls Google (offline, Beam would otherwise retry its lookup for ~25 s)."""
    path = tmp_path / "emulator_adc.json"
    path.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "token": "emulator-access-token",
                "expiry": "2999-01-01T00:00:00Z",
                "refresh_token": "not-a-refresh-token",
                "client_id": "emulator",
                "client_secret": "emulator",
            }
        )
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
