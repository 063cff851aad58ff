"""TFX Transform preprocessing and the image preprocessing shared with serving.

`preprocess_image_bytes` is the one function that turns encoded image bytes into model input.
`preprocessing_fn` (Transform, training data) and the `serving_default` signature
(`segmentation_model.signatures`) both call it, so training and serving cannot drift apart.

The model size S comes from the Transform `custom_config` key `image_size` (default
`IMAGE_SIZE`, data_prep's default `image_size`). Images are resized to S x S in the
graph, so records written at another size still give the static shapes the model needs; the
trainer and the serving signatures read S back from the transform output's feature spec, so
it is configured in exactly one place. The class count `num_classes` and the `void_label`
come from the same custom_config (the pipeline reads them from the dataset spec data_prep
wrote beside the shards).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_transform as tft
from segmentation_data_prep import record_format
from segmentation_data_prep.settings import DEFAULT_MAX_PIXELS

IMAGE_SIZE = (
    record_format.DEFAULT_IMAGE_SIZE
)  # override with Transform's custom_config["image_size"]
IMAGE_KEY = "image_xf"  # float32 [S, S, 3] in [-1, 1] (MobileNetV2 scaling)
LABEL_KEY = "label_xf"  # int64 [S, S], class ids in the dataset spec's label order
# float32 [C]: share of each class among the labelled (non-void) pixels of the analyzed
# (training) split, a Transform analyzer result, repeated in every example so the trainer
# reads it back. The void class's share is 0.
LABEL_FREQUENCY_KEY = "label_frequency_xf"

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Base64 text of a JPEG / PNG file starts like this: the usual mistake of sending the b64
# string itself instead of {"b64": ...} in Vertex JSON, or not decoding it before calling.
_BASE64_PREFIXES = ("/9j/", "iVBORw0KGgo")


def image_size_from_config(custom_config: dict[str, Any] | None) -> int:
    """The model input size S from the Transform custom_config (validated)."""
    size = (custom_config or {}).get("image_size", IMAGE_SIZE)
    if not isinstance(size, int) or isinstance(size, bool) or size < 32 or size % 32:
        raise ValueError(
            f"custom_config['image_size'] must be an int >= 32 divisible by 32 "
            f"(the UNet halves the size 5 times), got {size!r}"
        )
    return size


def classes_from_config(custom_config: dict[str, Any] | None) -> tuple[int, int | None]:
    """(num_classes, void_label) from the Transform custom_config (validated)."""
    config = custom_config or {}
    num_classes, void_label = config.get("num_classes"), config.get("void_label")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
        raise ValueError(
            "custom_config['num_classes'] must be the dataset spec's class count (an int >= 2), "
            f"got {num_classes!r}: pass DatasetSpec.num_classes (the pipeline reads the spec "
            "data_prep wrote beside the shards)"
        )
    if void_label is not None and (
        not isinstance(void_label, int)
        or isinstance(void_label, bool)
        or not 0 <= void_label < num_classes
    ):
        raise ValueError(
            f"custom_config['void_label'] must be null or a class id in 0..{num_classes - 1}, "
            f"got {void_label!r}"
        )
    return num_classes, void_label


def _assert_jpeg_or_png(image_bytes: tf.Tensor, index: tf.Tensor) -> tf.Operation:
    """Fails with a clear message when one input is not a JPEG or PNG file."""
    head = tf.strings.substr(image_bytes, 0, 12)
    is_jpeg = tf.equal(tf.strings.substr(image_bytes, 0, len(_JPEG_MAGIC)), _JPEG_MAGIC)
    is_png = tf.equal(tf.strings.substr(image_bytes, 0, len(_PNG_MAGIC)), _PNG_MAGIC)
    looks_base64 = tf.reduce_any(
        [tf.strings.regex_full_match(head, f"{prefix}.*") for prefix in _BASE64_PREFIXES]
    )
    hint = tf.where(
        looks_base64,
        "it looks base64-encoded: send the raw file bytes, or in Vertex JSON wrap the base64 "
        'text as {"image_bytes": {"b64": "..."}} so the server decodes it',
        "send the raw bytes of a .jpg/.jpeg or .png file",
    )
    return tf.debugging.Assert(
        tf.logical_or(is_jpeg, is_png),
        [
            "image_bytes input at batch index",
            index,
            "is not a JPEG or PNG image (first bytes:",
            head,
            ");",
            hint,
        ],
        summarize=16,
    )


def _declared_pixels(image_bytes: tf.Tensor) -> tf.Tensor:
    """Height x width a JPEG/PNG header declares, read without decoding (int64 scalar)."""

    def png() -> tf.Tensor:  # IHDR: width and height, 4 bytes big-endian each, at offset 16
        raw = tf.cast(tf.io.decode_raw(tf.strings.substr(image_bytes, 16, 8), tf.uint8), tf.int64)
        weights = tf.constant([1 << 24, 1 << 16, 1 << 8, 1], tf.int64)
        return tf.stack([tf.reduce_sum(raw[4:] * weights), tf.reduce_sum(raw[:4] * weights)])

    is_jpeg = tf.equal(tf.strings.substr(image_bytes, 0, len(_JPEG_MAGIC)), _JPEG_MAGIC)
    size = tf.cond(
        is_jpeg,
        lambda: tf.cast(tf.image.extract_jpeg_shape(image_bytes)[:2], tf.int64),
        png,
    )
    return size[0] * size[1]


def _assert_not_too_large(image_bytes: tf.Tensor, index: tf.Tensor) -> tf.Operation:
    """Refuses an image whose header declares more than DEFAULT_MAX_PIXELS (data_prep's cap)
    before anything is decoded: a small file can declare gigabytes of pixels."""
    pixels = _declared_pixels(image_bytes)
    return tf.debugging.Assert(
        pixels <= DEFAULT_MAX_PIXELS,
        [
            "image_bytes input at batch index",
            index,
            "declares",
            pixels,
            f"pixels, over the limit of {DEFAULT_MAX_PIXELS}: resize the image and send it again",
        ],
    )


def decode_image(image_bytes: tf.Tensor, index: tf.Tensor | int = 0) -> tf.Tensor:
    """One encoded JPEG/PNG (scalar string) -> uint8 [H, W, 3]; clear error if not an image or
    if it declares more pixels than the cap."""
    index = tf.convert_to_tensor(index, tf.int32)
    check = _assert_jpeg_or_png(image_bytes, index)
    with tf.control_dependencies([check]):
        size_check = _assert_not_too_large(image_bytes, index)
    with tf.control_dependencies([size_check]):
        image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def scale_image(image: tf.Tensor, image_size: int) -> tf.Tensor:
    """uint8 [H, W, 3] -> float32 [S, S, 3] in [-1, 1] (MobileNetV2's preprocess_input)."""
    # Lanczos with antialiasing, like data_prep's PIL LANCZOS resize of the training images,
    # and the same squash to a square (no crop, no padding); identity when already S x S.
    resized = tf.image.resize(image, [image_size, image_size], method="lanczos3", antialias=True)
    scaled = tf.clip_by_value(resized, 0.0, 255.0) / 127.5 - 1.0
    return tf.ensure_shape(scaled, [image_size, image_size, 3])


def preprocess_image_bytes(image_bytes: tf.Tensor, image_size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Batch of encoded images [B] -> (float32 [B, S, S, 3] model input, int32 [B, 2] sizes).

    The one preprocessing function used by Transform and by the serving signature. The second
    output is each image's original (height, width), which serving needs to resize masks back.
    """
    image_bytes = tf.reshape(image_bytes, [-1])

    def one(args: tuple[tf.Tensor, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        data, index = args
        image = decode_image(data, index)
        return scale_image(image, image_size), tf.shape(image)[:2]

    indices = tf.range(tf.size(image_bytes), dtype=tf.int32)
    return tf.map_fn(
        one,
        (image_bytes, indices),
        fn_output_signature=(
            tf.TensorSpec([image_size, image_size, 3], tf.float32),
            tf.TensorSpec([2], tf.int32),
        ),
    )


def decode_mask(mask_bytes: tf.Tensor, image_size: int, num_classes: int) -> tf.Tensor:
    """Batch of record masks (PNG, uint8 class ids) [B] -> int64 [B, S, S] (nearest resize)."""
    mask_bytes = tf.reshape(mask_bytes, [-1])

    def one(data: tf.Tensor) -> tf.Tensor:
        mask = tf.io.decode_png(data, channels=1)
        mask = tf.image.resize(mask, [image_size, image_size], method="nearest")
        check = tf.debugging.assert_less(
            mask,
            tf.constant(num_classes, mask.dtype),
            message=f"record mask has class ids >= num_classes={num_classes} (the dataset "
            "spec's class count): were the records written with another spec?",
        )
        with tf.control_dependencies([check]):
            return tf.cast(mask[:, :, 0], tf.int64)

    return tf.map_fn(
        one, mask_bytes, fn_output_signature=tf.TensorSpec([image_size, image_size], tf.int64)
    )


def preprocessing_fn(
    inputs: dict[str, tf.Tensor], custom_config: dict[str, Any] | None = None
) -> dict[str, tf.Tensor]:
    """TFX Transform: record features -> {IMAGE_KEY, LABEL_KEY, LABEL_FREQUENCY_KEY} at S x S.

    Images and labels are instance-level, so serving needs no state. One analyzer sums the
    label pixels per class over the analyzed split (TFX analyzes the training split): the class
    balance the loss weights from, recorded in the transform graph with the data it describes.
    """
    image_size = image_size_from_config(custom_config)
    num_classes, void_label = classes_from_config(custom_config)
    images, _ = preprocess_image_bytes(inputs[record_format.IMAGE_KEY], image_size)
    labels = decode_mask(inputs[record_format.MASK_KEY], image_size, num_classes)
    return {
        IMAGE_KEY: images,
        LABEL_KEY: labels,
        LABEL_FREQUENCY_KEY: label_frequency(labels, num_classes, void_label),
    }


def label_frequency(
    labels: tf.Tensor, num_classes: int, void_label: int | None = None
) -> tf.Tensor:
    """int64 [B, S, S] labels -> float32 [B, C]: the split's shares of the labelled (non-void)
    pixels per class (tft.sum), per row; the void class's share is 0."""
    flat = tf.reshape(tf.cast(labels, tf.int32), [tf.shape(labels)[0], -1])
    per_example = tf.math.bincount(
        flat, minlength=num_classes, maxlength=num_classes, axis=-1, dtype=tf.int64
    )
    if void_label is not None:
        per_example *= tf.one_hot(void_label, num_classes, on_value=0, off_value=1, dtype=tf.int64)
    counts = tf.cast(tft.sum(per_example, reduce_instance_dims=False), tf.float32)
    shares = tf.math.divide_no_nan(counts, tf.reduce_sum(counts))
    return tf.tile(shares[tf.newaxis], [tf.shape(labels)[0], 1])
