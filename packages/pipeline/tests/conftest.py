"""Test environment: Keras 2 for TFX, quiet TensorFlow, no metadata-server probe; GCS emulator."""

import os
import socket

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# google.auth probes the GCE metadata server when it finds no credentials: off this machine's
# network, tests must not depend on how that probe ends (or how long it takes).
os.environ["NO_GCE_CHECK"] = "True"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gcs_emulator():
    """gcp-storage-emulator on loopback; google-cloud-storage clients made meanwhile use it."""
    from gcp_storage_emulator.server import create_server

    port = _free_port()
    saved = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    try:
        from google.cloud import storage

        yield storage.Client.create_anonymous_client()
    finally:
        server.stop()
        if saved is None:
            os.environ.pop("STORAGE_EMULATOR_HOST")
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = saved
