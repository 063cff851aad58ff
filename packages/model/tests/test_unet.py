"""UNet architecture, encoder weights options and their errors."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import tf_keras as keras
from segmentation_model import architectures, unet


@pytest.fixture(scope="module")
def model_128():
    return unet.build_unet(3, 128, alpha=0.35, decoder_filters=(32, 32, 16, 16))


def test_output_is_float32_probabilities_at_input_size(model_128):
    images = np.random.default_rng(0).uniform(-1, 1, (2, 128, 128, 3)).astype(np.float32)
    probabilities = model_128({"image_xf": images}, training=False).numpy()
    assert probabilities.shape == (2, 128, 128, 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)


def test_skip_connections_at_64_32_16_8_4_px(model_128):
    encoder = model_128.get_layer(unet.ENCODER_NAME)
    assert [tuple(out.shape[1:3]) for out in encoder.outputs] == [
        (64, 64), (32, 32), (16, 16), (8, 8), (4, 4)
    ]  # fmt: skip


def test_encoder_can_be_frozen_and_unfrozen(model_128):
    total = len(model_128.trainable_weights)
    architectures.set_encoder_trainable(model_128, architectures.UNET_MOBILENETV2, False)
    frozen = len(model_128.trainable_weights)
    architectures.set_encoder_trainable(model_128, architectures.UNET_MOBILENETV2, True)
    assert 0 < frozen < total == len(model_128.trainable_weights)


def test_from_scratch_encoder_batchnorm_statistics_follow_training():
    # With MobileNetV2's momentum 0.999 the moving mean would still double between 20 and 40
    # steps (2% vs 4% of the way); it must instead be settled, or evaluation collapses.
    model = unet.build_unet(3, 64, alpha=0.35, decoder_filters=(16, 16, 16, 16))
    batchnorm = model.get_layer(unet.ENCODER_NAME).get_layer("bn_Conv1")
    images = {"image_xf": np.full((2, 64, 64, 3), 0.8, np.float32)}
    for _ in range(20):
        model(images, training=True)
    after_20 = batchnorm.moving_mean.numpy().copy()
    for _ in range(20):
        model(images, training=True)
    after_40 = batchnorm.moving_mean.numpy()
    assert np.abs(after_40).max() > 0
    assert np.abs(after_40 - after_20).max() < 0.2 * np.abs(after_40).max()


def test_local_weights_file_is_loaded(tmp_path):
    source = keras.applications.MobileNetV2(
        input_shape=(64, 64, 3), include_top=False, weights=None, alpha=0.35
    )
    path = tmp_path / "encoder.h5"
    source.save_weights(str(path))
    model = unet.build_unet(3, 64, alpha=0.35, encoder_weights=str(path))
    encoder = model.get_layer(unet.ENCODER_NAME)
    for expected, loaded in zip(source.get_weights(), encoder.get_weights()):
        np.testing.assert_array_equal(expected, loaded)


def test_weights_file_of_another_network_is_rejected(tmp_path):
    other = keras.applications.MobileNetV2(
        input_shape=(64, 64, 3), include_top=False, weights=None, alpha=0.5
    )
    path = tmp_path / "alpha_0.5.h5"
    other.save_weights(str(path))
    with pytest.raises(ValueError, match="does not fit MobileNetV2"):
        unet.build_unet(3, 64, alpha=0.35, encoder_weights=str(path))


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither None, 'imagenet' nor an existing"):
        unet.build_unet(3, 64, alpha=0.35, encoder_weights=str(tmp_path / "nope.h5"))


def _closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: connections refused


def test_imagenet_without_network_says_what_to_do(tmp_path, monkeypatch):
    """Hermetic: the download goes to a proxy port nobody listens on, so it fails the same way
    with or without network access, and nothing leaves the machine."""
    monkeypatch.setenv("HOME", str(tmp_path))  # an empty Keras cache: it must download
    proxy = f"http://127.0.0.1:{_closed_loopback_port()}"
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, proxy)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError) as error:
        unet.build_unet(3, 64, alpha=0.35, encoder_weights="imagenet")
    message = str(error.value)
    assert "Could not download the ImageNet weights" in message
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5" in message
    assert "encoder_weights=None" in message


def test_imagenet_needs_a_published_alpha():
    with pytest.raises(ValueError, match="alpha"):
        unet.build_unet(3, 64, alpha=0.6, encoder_weights="imagenet")


def test_image_size_must_be_a_multiple_of_32():
    with pytest.raises(ValueError, match="multiple of 32"):
        unet.build_unet(3, 100)


def test_building_the_unet_keeps_autograph_out_of_keras_2(model_128):
    from tensorflow.python.autograph.impl import conversion

    assert conversion.is_allowlisted(keras.layers.Conv2D.call)
    assert conversion.is_allowlisted(keras.Model.train_step)
