"""Tiny SavedModels for the pusher tests (the local Hub and client come from test_support)."""

from __future__ import annotations

from pathlib import Path

import pytest


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
