"""Fixtures every package's tests may use: a GCS emulator that the real clients talk to.

Loaded through the `pytest11` entry point of this package, so tests just name the fixture.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from segmentation_test_support.network import free_port


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator:
    """gcp-storage-emulator on loopback; google-cloud-storage (and Beam's gcsio) use it.

    Yields an anonymous `storage.Client`; STORAGE_EMULATOR_HOST points every client of the
    process at the emulator for the session. Use a bucket name of your own per test.
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
