"""DeepLabV3+ (Chen et al., 2018, arXiv:1802.02611) on a MobileNetV2 or ResNet50V2 backbone.

Encoder features at 1/16 of the input go through Atrous Spatial Pyramid Pooling (a 1x1 conv,
three 3x3 atrous convs at rates 6/12/18 and an image-level pooling branch, concatenated and
projected to 256 channels); the decoder upsamples them 4x, concatenates the backbone's 1/4
features reduced to 48 channels (the low-level skip), refines with two 3x3 depthwise-separable
convs and upsamples the class logits 4x to the input size. Like the UNet, the model returns
float32 per-class probabilities (softmax), also under a mixed-precision policy.
"""

from __future__ import annotations

from collections.abc import Sequence

import tf_keras as keras

from segmentation_model import encoder_weights as weights
from segmentation_model.architectures import DEEPLAB_BACKBONES
from segmentation_model.autograph_rules import skip_autograph_for_keras_2
from segmentation_model.transform import IMAGE_KEY

ENCODER_NAME = "deeplab_encoder"
BACKBONES = DEEPLAB_BACKBONES
MOBILENETV2, RESNET50V2 = BACKBONES
# Backbone activations used as (low-level 1/4, high-level 1/16) features. Both Keras
# applications take inputs in [-1, 1], the Transform output's range.
FEATURE_LAYERS = {
    MOBILENETV2: ("block_3_expand_relu", "block_13_expand_relu"),
    # ResNetV2 strides in the last block of a stack: the pre-activation entering the last
    # block of stacks 2 and 4 is at 1/4 and 1/16.
    RESNET50V2: ("conv2_block3_preact_relu", "conv4_block6_preact_relu"),
}
LOW_LEVEL_STRIDE, HIGH_LEVEL_STRIDE = 4, 16


def _backbone(name: str, image_size: int, alpha: float) -> keras.Model:
    shape = (image_size, image_size, 3)
    if name == MOBILENETV2:
        return keras.applications.MobileNetV2(
            input_shape=shape, include_top=False, weights=None, alpha=alpha
        )
    return keras.applications.ResNet50V2(input_shape=shape, include_top=False, weights=None)


def _conv_bn_relu(x, filters: int, kernel: int, name: str, dilation: int = 1, separable=False):
    conv = keras.layers.SeparableConv2D if separable else keras.layers.Conv2D
    x = conv(
        filters, kernel, padding="same", dilation_rate=dilation, use_bias=False, name=f"{name}_conv"
    )(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _aspp(x, filters: int, rates: Sequence[int]):
    """Atrous Spatial Pyramid Pooling: parallel receptive fields up to the whole image."""
    size = tuple(x.shape[1:3])
    branches = [_conv_bn_relu(x, filters, 1, "aspp_1x1")]
    for rate in rates:
        branches.append(
            _conv_bn_relu(x, filters, 3, f"aspp_rate{rate}", dilation=rate, separable=True)
        )
    pooled = keras.layers.GlobalAveragePooling2D(keepdims=True, name="aspp_pool")(x)
    pooled = _conv_bn_relu(pooled, filters, 1, "aspp_pool_proj")
    branches.append(
        keras.layers.UpSampling2D(size, interpolation="bilinear", name="aspp_pool_up")(pooled)
    )
    x = keras.layers.Concatenate(name="aspp_concat")(branches)
    return _conv_bn_relu(x, filters, 1, "aspp_proj")


def build_deeplabv3plus(
    num_classes: int,
    image_size: int = 128,
    backbone: str = MOBILENETV2,
    alpha: float = 1.0,
    encoder_weights: str | None = None,
    aspp_filters: int = 256,
    aspp_rates: Sequence[int] = (6, 12, 18),
    low_level_filters: int = 48,
    decoder_filters: int = 256,
    dropout: float = 0.1,
) -> keras.Model:
    """DeepLabV3+ taking {IMAGE_KEY: float32 [B, S, S, 3] in [-1, 1]}, returning [B, S, S, C].

    backbone: "mobilenetv2" (width `alpha`) or "resnet50v2" (alpha unused).
    encoder_weights: None (random init) or the path of a local .h5 weights file of the
        headless Keras application (include_top=False, same alpha); never downloaded. With
        weights, the backbone's BatchNorm layers run in inference mode (as in the UNet).
    dropout: before the classifier (the paper's 0.1; 0 disables).

    Raises:
        ValueError: unknown backbone, image_size not a multiple of 32, or a weights file that
            does not fit the backbone.
        FileNotFoundError: encoder_weights names no file.
    """
    if backbone not in BACKBONES:
        raise ValueError(f"unknown DeepLabV3+ backbone {backbone!r}; choices: {BACKBONES}")
    if image_size % 32:
        raise ValueError(f"image_size must be a multiple of 32, got {image_size}")
    skip_autograph_for_keras_2()
    base = _backbone(backbone, image_size, alpha)
    if encoder_weights is None:
        weights.use_fast_batchnorm_statistics(base)
    else:
        weights.load_weights_file(base, encoder_weights, f"{backbone} (include_top=False)")
    low_name, high_name = FEATURE_LAYERS[backbone]
    encoder = keras.Model(
        base.input,
        [base.get_layer(low_name).output, base.get_layer(high_name).output],
        name=ENCODER_NAME,
    )

    inputs = keras.Input((image_size, image_size, 3), name=IMAGE_KEY)
    low, high = encoder(inputs, training=False if encoder_weights is not None else None)
    x = _aspp(high, aspp_filters, aspp_rates)
    x = keras.layers.UpSampling2D(
        HIGH_LEVEL_STRIDE // LOW_LEVEL_STRIDE, interpolation="bilinear", name="decoder_up"
    )(x)
    skip = _conv_bn_relu(low, low_level_filters, 1, "decoder_skip")
    x = keras.layers.Concatenate(name="decoder_concat")([x, skip])
    x = _conv_bn_relu(x, decoder_filters, 3, "decoder_refine0", separable=True)
    x = _conv_bn_relu(x, decoder_filters, 3, "decoder_refine1", separable=True)
    if dropout:
        x = keras.layers.Dropout(dropout, name="decoder_dropout")(x)
    x = keras.layers.Conv2D(num_classes, 1, name="logits")(x)
    logits = keras.layers.UpSampling2D(
        LOW_LEVEL_STRIDE, interpolation="bilinear", name="logits_up"
    )(x)
    probabilities = keras.layers.Softmax(dtype="float32", name="probabilities")(logits)
    return keras.Model(inputs, probabilities, name=f"deeplabv3plus_{backbone}")
