"""SegFormer-B0 (Xie et al., 2021, arXiv:2105.15203): MiT-B0 encoder and all-MLP decoder.

Encoder (Mix Transformer, B0 sizes): four stages at 1/4, 1/8, 1/16 and 1/32 of the input with
32/64/160/256 channels. Each stage starts with an overlapping patch embedding (a strided conv,
7x7 stride 4 then 3x3 stride 2, and LayerNorm), followed by two transformer blocks of
  efficient self-attention: keys and values from a sequence shortened by a strided conv of
  ratio 8/4/2/1 (1/R^2 of the cost), 1/2/5/8 heads;
  Mix-FFN: dense x4 -> 3x3 depthwise conv (position information instead of position
  encodings) -> GELU -> dense;
both pre-LayerNorm residuals with stochastic depth (0 to 0.1 over the blocks).
Decoder: each stage projected to 256 channels by a dense (1x1) layer, upsampled to 1/4,
concatenated, fused by a 1x1 conv + BatchNorm + ReLU, classified, and the logits upsampled
bilinearly to the input size. Returns float32 probabilities (softmax) like the other models.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

from segmentation_model import encoder_weights as weights
from segmentation_model.autograph_rules import skip_autograph_for_keras_2
from segmentation_model.transform import IMAGE_KEY

ENCODER_NAME = "mit_b0_encoder"
EMBED_DIMS = (32, 64, 160, 256)
NUM_HEADS = (1, 2, 5, 8)
DEPTHS = (2, 2, 2, 2)
SEQUENCE_REDUCTION = (8, 4, 2, 1)
PATCH_SIZES = (7, 3, 3, 3)
PATCH_STRIDES = (4, 2, 2, 2)
MLP_RATIO = 4
LAYER_NORM_EPSILON = 1e-6
DECODER_DIM = 256  # B0's decoder width (B1-B5 use 768)
OUTPUT_STRIDE = 4  # decoder resolution relative to the input


@keras.saving.register_keras_serializable(package="segmentation_model")
class StochasticDepth(keras.layers.Layer):
    """Drops a residual branch for a whole example with probability `rate` while training."""

    def __init__(self, rate: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, branch: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        if not training or not self.rate:
            return branch
        keep = 1.0 - self.rate
        shape = tf.concat([tf.shape(branch)[:1], tf.ones([tf.rank(branch) - 1], tf.int32)], 0)
        mask = tf.floor(keep + tf.random.uniform(shape, dtype=branch.dtype))
        return branch / keep * mask

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate}


def _tokens_to_map(tokens, height: int, width: int, name: str):
    return keras.layers.Reshape((height, width, tokens.shape[-1]), name=name)(tokens)


def _map_to_tokens(feature_map, name: str):
    height, width, channels = feature_map.shape[1:]
    return keras.layers.Reshape((height * width, channels), name=name)(feature_map)


def _efficient_attention(x, height: int, width: int, heads: int, reduction: int, name: str):
    """Multi-head self-attention whose keys/values come from a 1/reduction^2 shorter sequence."""
    dim = x.shape[-1]
    context = x
    if reduction > 1:
        reduced = keras.layers.Conv2D(dim, reduction, strides=reduction, name=f"{name}_sr")(
            _tokens_to_map(x, height, width, f"{name}_sr_map")
        )
        context = keras.layers.LayerNormalization(epsilon=1e-5, name=f"{name}_sr_norm")(
            _map_to_tokens(reduced, f"{name}_sr_tokens")
        )
    return keras.layers.MultiHeadAttention(heads, dim // heads, name=f"{name}_mha")(x, context)


def _mix_ffn(x, height: int, width: int, name: str):
    dim = x.shape[-1]
    hidden = keras.layers.Dense(dim * MLP_RATIO, name=f"{name}_fc1")(x)
    hidden = keras.layers.DepthwiseConv2D(3, padding="same", name=f"{name}_dwconv")(
        _tokens_to_map(hidden, height, width, f"{name}_map")
    )
    hidden = keras.layers.Activation("gelu", name=f"{name}_gelu")(
        _map_to_tokens(hidden, f"{name}_tokens")
    )
    return keras.layers.Dense(dim, name=f"{name}_fc2")(hidden)


def _block(x, height: int, width: int, heads: int, reduction: int, drop: float, name: str):
    norm = keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name=f"{name}_norm1")
    attention = _efficient_attention(norm(x), height, width, heads, reduction, f"{name}_attn")
    x = keras.layers.Add(name=f"{name}_add1")(
        [x, StochasticDepth(drop, name=f"{name}_drop1")(attention)]
    )
    norm = keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name=f"{name}_norm2")
    ffn = _mix_ffn(norm(x), height, width, f"{name}_ffn")
    return keras.layers.Add(name=f"{name}_add2")(
        [x, StochasticDepth(drop, name=f"{name}_drop2")(ffn)]
    )


def build_mit_b0(image_size: int, drop_path_rate: float = 0.1) -> keras.Model:
    """The MiT-B0 encoder: image [-1, 1] -> four feature maps at 1/4, 1/8, 1/16, 1/32."""
    inputs = keras.Input((image_size, image_size, 3), name="image")
    total_blocks = sum(DEPTHS)
    drop_rates = [drop_path_rate * i / max(total_blocks - 1, 1) for i in range(total_blocks)]
    x, size, block_index, features = inputs, image_size, 0, []
    for stage, dim in enumerate(EMBED_DIMS):
        size //= PATCH_STRIDES[stage]
        x = keras.layers.Conv2D(
            dim,
            PATCH_SIZES[stage],
            strides=PATCH_STRIDES[stage],
            padding="same",
            name=f"stage{stage}_patch_embed",
        )(x)
        x = keras.layers.LayerNormalization(epsilon=1e-5, name=f"stage{stage}_patch_norm")(
            _map_to_tokens(x, f"stage{stage}_tokens")
        )
        for depth in range(DEPTHS[stage]):
            x = _block(
                x,
                size,
                size,
                NUM_HEADS[stage],
                SEQUENCE_REDUCTION[stage],
                drop_rates[block_index],
                f"stage{stage}_block{depth}",
            )
            block_index += 1
        x = keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name=f"stage{stage}_norm")(
            x
        )
        x = _tokens_to_map(x, size, size, f"stage{stage}_map")
        features.append(x)
    return keras.Model(inputs, features, name=ENCODER_NAME)


def build_segformer_b0(
    num_classes: int,
    image_size: int = 128,
    encoder_weights: str | None = None,
    dropout: float = 0.1,
    drop_path_rate: float = 0.1,
) -> keras.Model:
    """SegFormer-B0 taking {IMAGE_KEY: float32 [B, S, S, 3] in [-1, 1]}, returning [B, S, S, C].

    encoder_weights: None (random init) or the path of a local .h5 file saved from
        `build_mit_b0(image_size).save_weights(path)`; never downloaded.
    dropout: before the classifier (the paper's 0.1; 0 disables).
    drop_path_rate: stochastic depth of the last encoder block (linearly from 0).

    Raises:
        ValueError: image_size not a multiple of 32, or a weights file of another network.
        FileNotFoundError: encoder_weights names no file.
    """
    if image_size % 32:
        raise ValueError(f"image_size must be a multiple of 32, got {image_size}")
    skip_autograph_for_keras_2()
    encoder = build_mit_b0(image_size, drop_path_rate)
    if encoder_weights is not None:
        weights.load_weights_file(encoder, encoder_weights, "MiT-B0 encoder (build_mit_b0)")

    inputs = keras.Input((image_size, image_size, 3), name=IMAGE_KEY)
    decoder_size = image_size // OUTPUT_STRIDE
    projected = []
    for stage, feature in enumerate(encoder(inputs)):
        x = keras.layers.Dense(DECODER_DIM, name=f"decoder_proj{stage}")(feature)
        factor = decoder_size // feature.shape[1]
        if factor > 1:
            x = keras.layers.UpSampling2D(
                factor, interpolation="bilinear", name=f"decoder_up{stage}"
            )(x)
        projected.append(x)
    x = keras.layers.Concatenate(name="decoder_concat")(projected[::-1])
    x = keras.layers.Conv2D(DECODER_DIM, 1, use_bias=False, name="decoder_fuse")(x)
    x = keras.layers.BatchNormalization(name="decoder_fuse_bn")(x)
    x = keras.layers.ReLU(name="decoder_fuse_relu")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="decoder_dropout")(x)
    x = keras.layers.Conv2D(num_classes, 1, name="logits")(x)
    logits = keras.layers.UpSampling2D(OUTPUT_STRIDE, interpolation="bilinear", name="logits_up")(x)
    probabilities = keras.layers.Softmax(dtype="float32", name="probabilities")(logits)
    return keras.Model(inputs, probabilities, name="segformer_b0")
