"""Encoder weights without downloads: a local weights file, or from-scratch BatchNorm settings."""

from __future__ import annotations

import os

import tf_keras as keras

FROM_SCRATCH_BATCHNORM_MOMENTUM = 0.9  # Keras default is 0.99; its applications use 0.999


def load_weights_file(encoder: keras.Model, path: str, expected: str) -> None:
    """Loads a local weights file (.h5 from `save_weights`) into `encoder`.

    Raises:
        FileNotFoundError: `path` is no file.
        ValueError: the file holds the weights of another network (`expected` describes the
            one it should hold).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"encoder_weights={path!r} is neither None nor an existing weights file (.h5 "
            f"saved from a {expected}); weights are never downloaded"
        )
    try:
        encoder.load_weights(path)
    except ValueError as error:
        raise ValueError(f"encoder weights file {path} does not fit {expected}: {error}") from error


def use_fast_batchnorm_statistics(encoder: keras.Model) -> None:
    """Let a randomly initialised encoder's BatchNorm statistics follow training quickly.

    Keras' applications use momentum 0.999, made for fine-tuning ImageNet statistics: trained
    from scratch for a few hundred steps, the moving statistics barely leave their initial
    values and inference-mode predictions (evaluation, serving) collapse to one class.
    """
    for layer in encoder.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = FROM_SCRATCH_BATCHNORM_MOMENTUM
