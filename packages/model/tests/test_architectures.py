"""The architecture registry, DeepLabV3+ and SegFormer-B0: shapes, context, weights, save/load."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from segmentation_model import architectures, deeplabv3plus, segformer

NEW_ARCHITECTURES = (architectures.DEEPLABV3PLUS, architectures.SEGFORMER_B0)


def _images(batch: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)


def _build(name: str, size: int, classes: int, **options) -> keras.Model:
    return architectures.build_model(
        name, size, classes, alpha=0.35, decoder_filters=(16, 16, 16, 16), **options
    )


@pytest.mark.parametrize(
    ("name", "backbone", "size", "classes"),
    [
        (architectures.UNET_MOBILENETV2, "mobilenetv2", 96, 2),
        (architectures.DEEPLABV3PLUS, "mobilenetv2", 64, 5),
        (architectures.DEEPLABV3PLUS, "mobilenetv2", 96, 2),
        (architectures.DEEPLABV3PLUS, "resnet50v2", 64, 3),
        (architectures.SEGFORMER_B0, "mobilenetv2", 64, 5),
        (architectures.SEGFORMER_B0, "mobilenetv2", 96, 2),
    ],
)
def test_probabilities_at_input_size_for_any_class_count(name, backbone, size, classes):
    model = _build(name, size, classes, backbone=backbone)
    probabilities = model({"image_xf": _images(2, size)}, training=False).numpy()
    assert probabilities.shape == (2, size, size, classes)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)


def test_deeplab_features_are_at_a_quarter_and_a_sixteenth_of_the_input():
    for backbone in deeplabv3plus.BACKBONES:
        model = _build(architectures.DEEPLABV3PLUS, 128, 3, backbone=backbone)
        encoder = model.get_layer(deeplabv3plus.ENCODER_NAME)
        assert [tuple(out.shape[1:3]) for out in encoder.outputs] == [(32, 32), (8, 8)], backbone


def test_segformer_stages_at_4_8_16_32_with_b0_widths():
    encoder = segformer.build_mit_b0(128)
    assert [tuple(out.shape[1:]) for out in encoder.outputs] == [
        (32, 32, 32), (16, 16, 64), (8, 8, 160), (4, 4, 256)
    ]  # fmt: skip


def test_segformer_b0_has_the_papers_parameter_count():
    # Xie et al. 2021, Table 1: SegFormer-B0 on ADE20K (150 classes) has 3.8M parameters.
    model = architectures.build_model(architectures.SEGFORMER_B0, 512, 150)
    assert round(model.count_params() / 1e6, 1) == 3.8


def _input_gradient(model: keras.Model, output, size: int) -> np.ndarray:
    """|d output / d input| per input pixel, for the model or one of its sub-models."""
    images = tf.constant(_images(1, size, seed=1))
    with tf.GradientTape() as tape:
        tape.watch(images)
        value = output(images)
    return np.abs(tape.gradient(value, images).numpy()[0]).sum(-1)


@pytest.mark.parametrize("name", NEW_ARCHITECTURES)
def test_centre_pixel_sees_the_whole_image(name):
    """ASPP's image pooling and SegFormer's attention give every pixel global context."""
    size = 128
    model = _build(name, size, 3)
    gradient = _input_gradient(
        model,
        lambda images: model({"image_xf": images}, training=False)[0, size // 2, size // 2, 0],
        size,
    )
    assert (gradient > 0).mean() > 0.99
    for corner in (gradient[:8, :8], gradient[:8, -8:], gradient[-8:, :8], gradient[-8:, -8:]):
        assert corner.max() > 0


def test_segformer_first_stage_is_already_global():
    """Efficient self-attention reaches the corners at 1/4 resolution, where a conv stem's
    receptive field (7x7 stride 4, then 3x3 depthwise convs) spans a few dozen pixels."""
    encoder = segformer.build_mit_b0(128)
    gradient = _input_gradient(encoder, lambda images: encoder(images)[0][0, 16, 16, 0], 128)
    assert gradient[:16, :16].max() > 0 and gradient[-16:, -16:].max() > 0


@pytest.mark.slow  # a SavedModel written and loaded per architecture (~4 s each)
@pytest.mark.parametrize(
    ("name", "backbone"),
    [
        (architectures.DEEPLABV3PLUS, "mobilenetv2"),
        (architectures.SEGFORMER_B0, "mobilenetv2"),
    ],
)
def test_saved_and_loaded_model_gives_identical_outputs(name, backbone, tmp_path):
    model = _build(name, 64, 3, backbone=backbone, dropout=0.1)
    model({"image_xf": _images(2, 64)}, training=True)  # moves BatchNorm statistics
    # save_traces=False as in the export: layers are re-created from their configs.
    model.save(str(tmp_path / "model"), save_format="tf", save_traces=False)
    loaded = keras.models.load_model(str(tmp_path / "model"), compile=False)
    images = {"image_xf": _images(3, 64, seed=2)}
    np.testing.assert_array_equal(
        model(images, training=False).numpy(), loaded(images, training=False).numpy()
    )


def _mobilenetv2_encoder():
    return keras.applications.MobileNetV2(
        input_shape=(64, 64, 3), include_top=False, weights=None, alpha=0.35
    )


@pytest.mark.parametrize(
    "name, build_encoder, module",
    [
        (architectures.DEEPLABV3PLUS, _mobilenetv2_encoder, deeplabv3plus),
        pytest.param(  # two MiT-B0 encoders built, one saved (~3 s)
            architectures.SEGFORMER_B0,
            lambda: segformer.build_mit_b0(64),
            segformer,
            marks=pytest.mark.slow,
        ),
    ],
)
def test_local_weights_file_is_loaded_and_frozen_by_name(name, build_encoder, module, tmp_path):
    source = build_encoder()
    path = tmp_path / "encoder.h5"
    source.save_weights(str(path))
    model = _build(name, 64, 3, encoder_weights=str(path))
    encoder = model.get_layer(module.ENCODER_NAME)
    for expected, loaded in zip(source.get_weights(), encoder.get_weights()):
        np.testing.assert_array_equal(expected, loaded)
    total = len(model.trainable_weights)
    architectures.set_encoder_trainable(model, name, False)
    assert 0 < len(model.trainable_weights) < total


def test_weights_file_of_another_backbone_is_rejected(tmp_path):
    path = tmp_path / "mit_b0.h5"
    segformer.build_mit_b0(64).save_weights(str(path))
    with pytest.raises(ValueError, match="does not fit mobilenetv2"):
        _build(architectures.DEEPLABV3PLUS, 64, 3, encoder_weights=str(path))


@pytest.mark.parametrize("name", NEW_ARCHITECTURES)
def test_missing_weights_file_is_a_clear_error(name, tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloaded"):
        _build(name, 64, 3, encoder_weights=str(tmp_path / "absent.h5"))


@pytest.mark.parametrize("name", NEW_ARCHITECTURES)
def test_image_size_must_be_a_multiple_of_32(name):
    with pytest.raises(ValueError, match="multiple of 32"):
        _build(name, 80, 3)


def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError) as error:
        architectures.build_model("unet_resnet", 64, 3)
    for choice in architectures.ARCHITECTURES:
        assert choice in str(error.value)
    with pytest.raises(ValueError, match="mobilenetv2, resnet50v2"):
        architectures.build_model(architectures.DEEPLABV3PLUS, 64, 3, backbone="xception")


def test_the_registry_imports_without_tensorflow():
    """The pipeline config checks names before any heavy import."""
    code = (
        "import sys; from segmentation_model import architectures; "
        "architectures.check_architecture(architectures.SEGFORMER_B0); "
        "sys.exit('tensorflow' in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
