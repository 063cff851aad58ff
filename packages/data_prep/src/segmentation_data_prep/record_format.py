"""The TFRecord format data_prep writes and every other package reads.

Kept in one module so that no package re-implements encoding or decoding. Pixels are
stored as lossless PNG (uint8), labels as a single-channel PNG whose values are exact
class ids of the dataset spec written beside the shards (`dataset_spec.json`); for the Pet
classes below, the trimap values 1, 2, 3 minus one.
"""

from __future__ import annotations

import io
import os
import zlib
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# numpy and Pillow are imported where used: command lines read this module's constants
# before any heavy import (a bad flag must answer at once).

IMAGE_KEY = "image"  # bytes: PNG, RGB, uint8, HEIGHT_KEY x WIDTH_KEY
MASK_KEY = "mask"  # bytes: PNG, grayscale, uint8 class ids, same size as the image
HEIGHT_KEY = "height"  # int64
WIDTH_KEY = "width"  # int64
STEM_KEY = "stem"  # bytes: the source file stem, e.g. b"Abyssinian_1"
# Drift features (drift_features.py): float scalars per image, so statistics see pixel drift.
BRIGHTNESS_KEY = "brightness"  # mean luma, [0, 1]
CONTRAST_KEY = "contrast"  # standard deviation of luma, [0, 1]
SATURATION_KEY = "saturation"  # mean HSV saturation, [0, 1]
RED_MEAN_KEY = "red_mean"  # mean of each channel, [0, 1]
GREEN_MEAN_KEY = "green_mean"
BLUE_MEAN_KEY = "blue_mean"
SHARPNESS_KEY = "sharpness"  # variance of the Laplacian of luma, >= 0
ASPECT_RATIO_KEY = "aspect_ratio"  # width / height of the source image, before resizing
# float list, one value per class of the dataset spec: share of the mask's pixels
CLASS_FRACTIONS_KEY = "class_fractions"
# The numeric one-value drift features, in schema order (each compared between spans).
SCALAR_DRIFT_KEYS = (
    BRIGHTNESS_KEY,
    CONTRAST_KEY,
    SATURATION_KEY,
    RED_MEAN_KEY,
    GREEN_MEAN_KEY,
    BLUE_MEAN_KEY,
    SHARPNESS_KEY,
    ASPECT_RATIO_KEY,
)
DRIFT_FEATURE_KEYS = (*SCALAR_DRIFT_KEYS, CLASS_FRACTIONS_KEY)

CLASS_NAMES = ("pet", "background", "border")
# One RGB colour per class, in CLASS_NAMES order: every picture of masks uses these.
CLASS_COLORS = ((230, 25, 75), (67, 99, 216), (255, 225, 25))
NUM_CLASSES = len(CLASS_NAMES)
TRIMAP_OFFSET = 1  # stored label = trimap value - 1

SPLIT_NAMES = ("train", "eval")
SHARD_SUFFIX = ".tfrecord"
# The completion marker of a data_prep output directory, written last: a directory without it
# (or whose shards differ from the ones it lists) is not a usable output (see report.py).
REPORT_NAME = "report.json"

DEFAULT_IMAGE_SIZE = 128  # side of the stored square examples, in pixels
MAX_IMAGE_SIZE = 4096  # the schema's height/width domain


def shard_glob(split: str) -> str:
    """Relative glob of a split's shards, usable as an ImportExampleGen split pattern."""
    return f"{split}/{split}-*{SHARD_SUFFIX}"


def printable(name: str) -> str:
    """A file name or stem as valid UTF-8 text, for records and reports.

    POSIX file names are bytes; Python keeps the bytes that are not UTF-8 as surrogate escapes,
    which cannot be encoded. Those bytes become `\\xNN` here, so `café` saved as Latin-1 is
    stored as `caf\\xe9`; valid names are unchanged.
    """
    return os.fsencode(name).decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class DecodedExample:
    stem: str
    image: np.ndarray  # (H, W, 3) uint8
    mask: np.ndarray  # (H, W) uint8 class ids
    # drift feature key -> values (empty for records written before drift features existed)
    drift: dict[str, tuple[float, ...]] = field(default_factory=dict)


# PNG zlib level for stored examples: level 1 is ~4x faster to encode than the default 6.
# Levels 1-3 use zlib's RLE strategy: on PNG-filtered photo rows it is faster than the default
# strategy at level 1 and ~10% smaller (128 px: 2.0 vs 2.3 ms, 25.8 vs 28.5 KB; measured by
# benchmarks/benchmark_data_prep.py); levels 4-9 use the default strategy.
DEFAULT_PNG_COMPRESS_LEVEL = 1
_RLE_UP_TO_LEVEL = 3


def encode_png(array: np.ndarray, compress_level: int = DEFAULT_PNG_COMPRESS_LEVEL) -> bytes:
    from PIL import Image

    rle = 1 <= compress_level <= _RLE_UP_TO_LEVEL
    strategy = zlib.Z_RLE if rle else zlib.Z_DEFAULT_STRATEGY
    buffer = io.BytesIO()
    Image.fromarray(array).save(
        buffer, format="PNG", compress_level=compress_level, compress_type=strategy
    )
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


def encode_example(
    stem: str,
    image: np.ndarray,
    mask: np.ndarray,
    compress_level: int = DEFAULT_PNG_COMPRESS_LEVEL,
    num_classes: int = NUM_CLASSES,
    source_size: tuple[int, int] | None = None,
) -> bytes:
    """Serialize one tf.train.Example; raises ValueError on shapes/values that break the format.

    `num_classes` is the dataset spec's class count (the Pet classes by default).
    `source_size` is the source image's (width, height) before resizing (default: this
    image's), for the aspect-ratio drift feature; the drift features are computed here, so
    every record has them.

    The protobuf is written directly (see _example_bytes) so that the Beam job never imports
    TensorFlow: that import costs ~8 s and ~500 MB in every worker process.
    """
    import numpy as np

    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{stem}: image must be uint8 (H, W, 3), got {image.dtype} {image.shape}")
    if mask.dtype != np.uint8 or mask.shape != image.shape[:2]:
        raise ValueError(
            f"{stem}: mask must be uint8 {image.shape[:2]}, got {mask.dtype} {mask.shape}"
        )
    if mask.size and int(mask.max()) >= num_classes:
        raise ValueError(f"{stem}: mask values must be in 0..{num_classes - 1}")
    from segmentation_data_prep.drift_features import drift_features

    size = source_size or (image.shape[1], image.shape[0])
    return _example_bytes(
        bytes_features={
            IMAGE_KEY: encode_png(image, compress_level),
            MASK_KEY: encode_png(mask, compress_level),
            STEM_KEY: printable(stem).encode("utf-8"),
        },
        int_features={HEIGHT_KEY: image.shape[0], WIDTH_KEY: image.shape[1]},
        float_features=drift_features(image, mask, num_classes, size),
    )


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _length_delimited(field_number: int, payload: bytes) -> bytes:
    return _varint(field_number << 3 | 2) + _varint(len(payload)) + payload


def _example_bytes(
    bytes_features: dict[str, bytes],
    int_features: dict[str, int],
    float_features: dict[str, list[float]] | None = None,
) -> bytes:
    """Wire format of tf.train.Example (tensorflow/core/example/{example,feature}.proto).

    Example{1: Features{1: map<string, Feature>}}; Feature{1: BytesList{1: repeated bytes},
    2: FloatList{1: packed repeated float}, 3: Int64List{1: packed repeated int64}}; a map
    entry is {1: key, 2: value}.
    """
    import struct

    entries = []
    for key, values in (float_features or {}).items():
        packed = struct.pack(f"<{len(values)}f", *values)
        entries.append((key, _length_delimited(2, _length_delimited(1, packed))))
    for key, value in bytes_features.items():
        feature = _length_delimited(1, _length_delimited(1, value))
        entries.append((key, feature))
    for key, number in int_features.items():
        if number < 0:
            raise ValueError(f"{key}: only non-negative int64 values are supported, got {number}")
        feature = _length_delimited(3, _length_delimited(1, _varint(number)))
        entries.append((key, feature))
    features = b"".join(
        _length_delimited(1, _length_delimited(1, key.encode("utf-8")) + _length_delimited(2, f))
        for key, f in sorted(entries)
    )
    return _length_delimited(1, features)


def decode_example(serialized: bytes) -> DecodedExample:
    """Inverse of encode_example, in numpy (for tests, tools and the demo)."""
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example.FromString(serialized)
    features = example.features.feature
    image = decode_png(features[IMAGE_KEY].bytes_list.value[0])
    mask = decode_png(features[MASK_KEY].bytes_list.value[0])
    height = features[HEIGHT_KEY].int64_list.value[0]
    width = features[WIDTH_KEY].int64_list.value[0]
    if image.shape != (height, width, 3) or mask.shape != (height, width):
        raise ValueError(f"record shapes {image.shape}/{mask.shape} disagree with {height}x{width}")
    drift = {
        key: tuple(features[key].float_list.value) for key in DRIFT_FEATURE_KEYS if key in features
    }
    stem = features[STEM_KEY].bytes_list.value[0].decode("utf-8")
    return DecodedExample(stem, image, mask, drift)


def tf_feature_spec() -> dict:
    """Feature spec for tf.io.parse_example on serialized records."""
    import tensorflow as tf

    return {
        IMAGE_KEY: tf.io.FixedLenFeature([], tf.string),
        MASK_KEY: tf.io.FixedLenFeature([], tf.string),
        HEIGHT_KEY: tf.io.FixedLenFeature([], tf.int64),
        WIDTH_KEY: tf.io.FixedLenFeature([], tf.int64),
        STEM_KEY: tf.io.FixedLenFeature([], tf.string),
    }


def drift_feature_spec() -> dict:
    """Feature spec of the drift features for tf.io.parse_example (class fractions: one value
    per class of the dataset spec, so a variable-length feature here)."""
    import tensorflow as tf

    spec = {key: tf.io.FixedLenFeature([], tf.float32) for key in SCALAR_DRIFT_KEYS}
    spec[CLASS_FRACTIONS_KEY] = tf.io.VarLenFeature(tf.float32)
    return spec


def schema_path() -> str:
    """Path of the schema.pbtxt for ImportSchemaGen, shipped with this package."""
    return str(resources.files(__package__) / "schema.pbtxt")
