"""UNet with a MobileNetV2 encoder and a transposed-convolution decoder.

The encoder exposes five skip connections at 1/2, 1/4, 1/8, 1/16 and 1/32 of the input
(64/32/16/8/4 px for a 128 px input); each decoder stage doubles the resolution with a
Conv2DTranspose, concatenates the skip and refines it. The model returns float32
per-class probabilities (softmax), also under a mixed-precision policy.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import tf_keras as keras

from segmentation_model import encoder_weights as encoder_weights_lib
from segmentation_model.autograph_rules import skip_autograph_for_keras_2
from segmentation_model.transform import IMAGE_KEY

ENCODER_NAME = "mobilenetv2_encoder"
# MobileNetV2 activations used as skips, from 1/2 down to 1/32 of the input size.
SKIP_LAYERS = (
    "block_1_expand_relu",
    "block_3_expand_relu",
    "block_6_expand_relu",
    "block_13_expand_relu",
    "block_16_project",
)
IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
IMAGENET_SIZES = (96, 128, 160, 192, 224)


def _load_encoder(image_size: int, alpha: float, encoder_weights: str | None) -> keras.Model:
    """MobileNetV2 without its head; clear errors for weights that cannot be used."""
    shape = (image_size, image_size, 3)
    if encoder_weights is None:
        return keras.applications.MobileNetV2(
            input_shape=shape, include_top=False, weights=None, alpha=alpha
        )
    if encoder_weights == "imagenet":
        if alpha not in IMAGENET_ALPHAS:
            raise ValueError(
                f"ImageNet weights exist for MobileNetV2 alpha in {IMAGENET_ALPHAS}, got "
                f"alpha={alpha}; pick one of those or use encoder_weights=None"
            )
        try:
            return keras.applications.MobileNetV2(
                input_shape=shape, include_top=False, weights="imagenet", alpha=alpha
            )
        except Exception as error:  # get_file raises a bare Exception on URL failures
            size = image_size if image_size in IMAGENET_SIZES else 224
            file_name = (
                f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{size}_no_top.h5"
            )
            raise RuntimeError(
                f"Could not download the ImageNet weights of MobileNetV2 (alpha={alpha}): "
                f"{error}. Without network access, copy {file_name} from "
                "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/ "
                "to a local path and pass it as encoder_weights=<path>, or train from scratch "
                "with encoder_weights=None."
            ) from error
    if not os.path.isfile(encoder_weights):
        raise FileNotFoundError(
            f"encoder_weights={encoder_weights!r} is neither None, 'imagenet' nor an existing "
            "weights file (.h5 of a MobileNetV2 with include_top=False and the same alpha)"
        )
    try:
        return keras.applications.MobileNetV2(
            input_shape=shape, include_top=False, weights=encoder_weights, alpha=alpha
        )
    except ValueError as error:
        raise ValueError(
            f"encoder weights file {encoder_weights} does not fit MobileNetV2(alpha={alpha}, "
            f"include_top=False): {error}"
        ) from error


def _upsample(filters: int, name: str) -> keras.Sequential:
    return keras.Sequential(
        [
            keras.layers.Conv2DTranspose(
                filters, 3, strides=2, padding="same", use_bias=False, name=f"{name}_deconv"
            ),
            keras.layers.BatchNormalization(name=f"{name}_bn"),
            keras.layers.ReLU(name=f"{name}_relu"),
        ],
        name=name,
    )


def build_unet(
    num_classes: int,
    image_size: int = 128,
    alpha: float = 1.0,
    encoder_weights: str | None = None,
    decoder_filters: Sequence[int] = (256, 128, 64, 32),
    dropout: float = 0.0,
) -> keras.Model:
    """UNet taking {IMAGE_KEY: float32 [B, S, S, 3] in [-1, 1]}, returning [B, S, S, C] probs.

    encoder_weights: None (random init, the offline default), "imagenet" (downloaded by Keras;
    clear error without network) or a path to a local .h5 weights file of the headless
    MobileNetV2. With pretrained weights the encoder's BatchNorm layers always run in inference
    mode, so freezing and later fine-tuning keep the ImageNet statistics (Keras' transfer
    learning guide); trained from scratch, they learn normally.
    """
    if image_size % 32:
        raise ValueError(f"image_size must be a multiple of 32, got {image_size}")
    if len(decoder_filters) != len(SKIP_LAYERS) - 1:
        raise ValueError(f"decoder_filters needs {len(SKIP_LAYERS) - 1} entries")
    skip_autograph_for_keras_2()
    base = _load_encoder(image_size, alpha, encoder_weights)
    if encoder_weights is None:
        encoder_weights_lib.use_fast_batchnorm_statistics(base)
    encoder = keras.Model(
        base.input, [base.get_layer(name).output for name in SKIP_LAYERS], name=ENCODER_NAME
    )

    inputs = keras.Input((image_size, image_size, 3), name=IMAGE_KEY)
    skips = encoder(inputs, training=False if encoder_weights is not None else None)
    x = skips[-1]
    for index, (filters, skip) in enumerate(zip(decoder_filters, reversed(skips[:-1]))):
        x = _upsample(filters, f"decoder_up{index}")(x)
        x = keras.layers.Concatenate(name=f"decoder_concat{index}")([x, skip])
        x = keras.layers.Conv2D(
            filters, 3, padding="same", use_bias=False, name=f"decoder_conv{index}"
        )(x)
        x = keras.layers.BatchNormalization(name=f"decoder_bn{index}")(x)
        x = keras.layers.ReLU(name=f"decoder_relu{index}")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="decoder_dropout")(x)
    logits = keras.layers.Conv2DTranspose(num_classes, 3, strides=2, padding="same", name="logits")(
        x
    )
    probabilities = keras.layers.Softmax(dtype="float32", name="probabilities")(logits)
    return keras.Model(inputs, probabilities, name="unet_mobilenetv2")
