"""Shared fixtures: a LocalHub per test, a real huggingface_hub client, tiny SavedModels.

The client reads HF_HUB_DISABLE_XET and friends when huggingface_hub is imported, so they are
set here, before any test module imports it. HF_HOME points at a temp dir so a token cached on the
developer's machine can never be picked up.
"""

from __future__ import annotations

import os
import tempfile

os.environ.update(
    HF_HUB_DISABLE_XET="1",
    HF_HUB_DISABLE_TELEMETRY="1",
    HF_HUB_DISABLE_PROGRESS_BARS="1",
    HF_HUB_DISABLE_IMPLICIT_TOKEN="1",
    HF_HOME=tempfile.mkdtemp(prefix="hf-home-"),
    TF_CPP_MIN_LOG_LEVEL="2",
)
os.environ.pop("HF_TOKEN", None)

from collections.abc import Iterator
from pathlib import Path

import pytest
from hf_local_hub import LocalHub
from hf_pusher_helpers import TOKEN, USER
from huggingface_hub import HfApi


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalHub]:
    with LocalHub(tmp_path / "hub", token=TOKEN, user=USER) as local_hub:
        monkeypatch.setenv("HF_ENDPOINT", local_hub.url)
        yield local_hub


@pytest.fixture
def api(hub: LocalHub) -> HfApi:
    return HfApi(endpoint=hub.url, token=TOKEN)


def _save_tiny_model(path: Path, seed: int) -> Path:
    import tensorflow as tf

    class Scale(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weights = tf.Variable(tf.random.stateless_normal([64, 64], seed=[seed, 1]))

        @tf.function(input_signature=[tf.TensorSpec([None, 64], tf.float32, name="features")])
        def serve(self, features: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"scores": tf.matmul(features, self.weights)}

    module = Scale()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


@pytest.fixture(scope="session")
def model_artifact_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two Trainer-style model artifacts (SavedModel under Format-Serving), different weights."""
    root = tmp_path_factory.mktemp("models")
    dirs = []
    for seed in (1, 2):
        artifact = root / f"model-{seed}"
        _save_tiny_model(artifact / "Format-Serving", seed)
        dirs.append(artifact)
    return dirs[0], dirs[1]


@pytest.fixture
def saved_model(model_artifact_dirs: tuple[Path, Path]) -> Path:
    return model_artifact_dirs[0] / "Format-Serving"
