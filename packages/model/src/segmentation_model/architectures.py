"""The model architectures the pipeline can train, by name: one registry, one builder call.

Importing this module does not import TensorFlow: the pipeline config validates
`model_architecture` against `ARCHITECTURES` before any heavy import; `build_model` imports the
chosen architecture's module when called.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import tf_keras as keras

UNET_MOBILENETV2 = "unet_mobilenetv2"
DEEPLABV3PLUS = "deeplabv3plus"
SEGFORMER_B0 = "segformer_b0"
DEFAULT_ARCHITECTURE = UNET_MOBILENETV2
# DeepLabV3+ backbones (segmentation_model.deeplabv3plus.BACKBONES, listed here without TF).
DEEPLAB_BACKBONES = ("mobilenetv2", "resnet50v2")


class _Entry(NamedTuple):
    module: str  # segmentation_model.<module>, holding the builder and ENCODER_NAME
    builder: str
    options: tuple[str, ...]  # build_model options the builder takes


_REGISTRY = {
    UNET_MOBILENETV2: _Entry("unet", "build_unet", ("alpha", "decoder_filters", "dropout")),
    DEEPLABV3PLUS: _Entry("deeplabv3plus", "build_deeplabv3plus", ("backbone", "alpha", "dropout")),
    SEGFORMER_B0: _Entry("segformer", "build_segformer_b0", ("dropout",)),
}
ARCHITECTURES = tuple(_REGISTRY)


def check_architecture(name: str) -> None:
    """Raises ValueError naming the choices when `name` is not a known architecture."""
    if name not in _REGISTRY:
        raise ValueError(
            f"unknown model architecture {name!r}; choose one of: {', '.join(ARCHITECTURES)}"
        )


def check_backbone(backbone: str) -> None:
    if backbone not in DEEPLAB_BACKBONES:
        raise ValueError(
            f"unknown DeepLabV3+ backbone {backbone!r}; "
            f"choose one of: {', '.join(DEEPLAB_BACKBONES)}"
        )


def _module(name: str):
    check_architecture(name)
    return importlib.import_module(f"segmentation_model.{_REGISTRY[name].module}")


def build_model(
    name: str,
    image_size: int,
    num_classes: int,
    encoder_weights: str | None = None,
    *,
    mixed_precision: bool = False,
    alpha: float = 1.0,
    decoder_filters: Sequence[int] = (256, 128, 64, 32),
    dropout: float = 0.0,
    backbone: str = DEEPLAB_BACKBONES[0],
) -> keras.Model:
    """The named architecture for [image_size]^2 RGB inputs in [-1, 1] and num_classes classes.

    Every architecture takes {IMAGE_KEY: float32 [B, S, S, 3]} and returns float32 softmax
    probabilities [B, S, S, num_classes]. Options an architecture has no use for are ignored:
    alpha (MobileNetV2 width: UNet, DeepLabV3+ on mobilenetv2), decoder_filters (UNet),
    backbone (DeepLabV3+), dropout (all: before the classifier).
    encoder_weights: None or a local weights file (the UNet also takes "imagenet").
    mixed_precision: build under the mixed_float16 policy (float16 compute, float32 variables;
        the probabilities, hence the loss, stay float32).

    Raises:
        ValueError: unknown architecture or backbone, or an invalid size or weights file.
    """
    module = _module(name)
    entry = _REGISTRY[name]
    if name == DEEPLABV3PLUS:
        check_backbone(backbone)
    available = {
        "alpha": alpha,
        "decoder_filters": decoder_filters,
        "dropout": dropout,
        "backbone": backbone,
    }
    options = {option: available[option] for option in entry.options}
    import tf_keras as keras

    previous_policy = keras.mixed_precision.global_policy()
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        return getattr(module, entry.builder)(
            num_classes=num_classes,
            image_size=image_size,
            encoder_weights=encoder_weights,
            **options,
        )
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


def set_encoder_trainable(model: keras.Model, name: str, trainable: bool) -> None:
    """Freeze or unfreeze the encoder of a `name` model (recompile afterwards)."""
    model.get_layer(_module(name).ENCODER_NAME).trainable = trainable
