"""Turn one image/trimap pair into a serialized example, or a named rejection.

Plain Python (no Beam): the Beam job calls `process_pair` once per pair, and tests call it
directly. Files are read through Beam's FileSystems so local paths and gs:// work alike.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
from dataclasses import dataclass

import numpy as np
from apache_beam.io.filesystems import FileSystems
from PIL import Image, UnidentifiedImageError

from segmentation_data_prep import record_format
from segmentation_data_prep.inputs import Outcome, Pair
from segmentation_data_prep.settings import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PIXELS

# Proper antialiasing filter for photos (PIL scales its support when downscaling); masks are
# resized with nearest neighbour so that every label stays an exact trimap value.
IMAGE_RESAMPLE = Image.Resampling.LANCZOS
MASK_RESAMPLE = Image.Resampling.NEAREST
TRIMAP_VALUES = (1, 2, 3)
_FORMATS_BY_EXTENSION = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}


@dataclass(frozen=True)
class ProcessingSettings:
    """What every worker needs to turn a pair into an example (checked by settings.py)."""

    image_size: int
    eval_fraction: float
    compress_level: int = record_format.DEFAULT_PNG_COMPRESS_LEVEL
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES


class Rejected(Exception):
    """Raised inside processing with a REJECTION_REASONS key and a specific detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def split_for_stem(stem: str, eval_fraction: float) -> str:
    """'train' or 'eval', from a stable hash of the stem: same answer on every run and runner.

    Hashes the name's bytes as stored (os.fsencode: UTF-8 for valid names, the raw bytes for
    names that are not UTF-8), so no file name can make this fail.
    """
    digest = hashlib.sha256(os.fsencode(stem)).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    return "eval" if position < eval_fraction else "train"


def _open(
    path: str, kind: str, settings: ProcessingSettings, warnings: list[tuple[str, str]]
) -> Image.Image:
    """Read one file and parse its header; `kind` is 'image' or 'mask' (names the reason).

    The declared size is checked before anything is decoded: a small file can declare a
    picture that takes gigabytes to decode (a decompression bomb).
    """
    try:
        with FileSystems.open(path) as handle:
            data = handle.read(settings.max_file_bytes + 1)
    except Exception as error:  # filesystem errors differ per scheme (local, gs://, ...)
        raise Rejected(f"unreadable_{kind}", f"cannot read {path}: {error}") from error
    if not data:
        raise Rejected(f"unreadable_{kind}", f"{path} is empty (0 bytes)")
    if len(data) > settings.max_file_bytes:
        raise Rejected(
            f"{kind}_too_large",
            f"{path} is larger than the file-size cap of {settings.max_file_bytes} bytes",
        )
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:  # Pillow's own, far higher cap
        raise Rejected(f"{kind}_too_large", f"{path}: {error}") from error
    except UnidentifiedImageError as error:
        raise Rejected(f"unreadable_{kind}", f"{path} is not in an image format") from error
    except Exception as error:  # PIL plugins raise many types on corrupt or truncated data
        raise Rejected(f"unreadable_{kind}", f"{path}: {type(error).__name__}: {error}") from error
    width, height = image.size
    if width * height > settings.max_pixels:
        raise Rejected(
            f"{kind}_too_large",
            f"{path} declares {width}x{height} = {width * height} pixels, over the cap of "
            f"{settings.max_pixels}",
        )
    expected = _FORMATS_BY_EXTENSION.get(posixpath.splitext(path)[1].lower())
    if image.format != expected:
        warnings.append(("extension_mismatch", f"{path} holds {image.format} data"))
    return image


def _decode(image: Image.Image, path: str, kind: str) -> Image.Image:
    """Decode everything now: truncated or corrupt files fail here, with a named reason."""
    try:
        image.load()
    except Exception as error:  # PIL plugins raise many types on corrupt or truncated data
        raise Rejected(f"unreadable_{kind}", f"{path}: {type(error).__name__}: {error}") from error
    return image


def to_rgb(image: Image.Image, warnings: list[tuple[str, str]]) -> Image.Image:
    """8-bit RGB from any mode PIL decodes (grayscale, palette, RGBA, CMYK, 16-bit, ...)."""
    if image.mode == "RGB":
        return image
    mode = image.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):  # 16-bit grayscale: keep the top byte
        values = np.asarray(image) >> 8  # int32 or uint16: no wider copy of a large image
        image = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8))
    elif mode == "F":
        raise Rejected("unsupported_image_mode", "32-bit float pixels (mode F)")
    try:
        converted = image.convert("RGB")
    except (ValueError, OSError) as error:
        raise Rejected("unsupported_image_mode", f"mode {mode}: {error}") from error
    warnings.append(("converted_to_rgb", f"from mode {mode}"))
    return converted


def trimap_values(mask: Image.Image, warnings: list[tuple[str, str]]) -> np.ndarray:
    """The trimap as a (H, W) integer array of its stored values (palette indices for 'P')."""
    if mask.mode in ("L", "P", "I", "I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(mask)
    if mask.mode == "1":
        return np.asarray(mask).astype(np.uint8)
    if mask.mode in ("LA", "PA"):
        warnings.append(("mask_converted", f"alpha dropped from mode {mask.mode}"))
        return np.asarray(mask)[..., 0]
    if mask.mode in ("RGB", "RGBA"):
        channels = np.asarray(mask)[..., :3]
        if not (channels == channels[..., :1]).all():
            raise Rejected("mask_not_single_channel", f"mode {mask.mode} with differing channels")
        warnings.append(("mask_converted", f"single channel taken from mode {mask.mode}"))
        return channels[..., 0]
    raise Rejected("mask_not_single_channel", f"unsupported trimap mode {mask.mode}")


def _out_of_range_values(trimap: np.ndarray) -> dict[int, int]:
    """{value: pixel count} of values that are not trimap values (bincount: fast on uint8)."""
    if trimap.dtype == np.uint8:
        counts = np.bincount(trimap.ravel(), minlength=256)
        values = np.flatnonzero(counts)
        counts = counts[values]
    else:
        values, counts = np.unique(trimap, return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts) if int(v) not in TRIMAP_VALUES}


def resize_pair(
    image: Image.Image,
    trimap: np.ndarray,
    image_size: int,
    box: tuple[float, float, float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Square (image_size, image_size) RGB uint8 and labels uint8 in {0, 1, 2}.

    `box` is the region of `image` that covers the trimap (a JPEG decoded at a reduced scale
    by `Image.draft` is a little larger than the original divided by the scale).
    """
    size = (image_size, image_size)
    pixels = np.asarray(image.resize(size, IMAGE_RESAMPLE, box=box), dtype=np.uint8)
    labels = Image.fromarray(trimap.astype(np.uint8, copy=False)).resize(size, MASK_RESAMPLE)
    return pixels, np.asarray(labels, dtype=np.uint8) - record_format.TRIMAP_OFFSET


def _decode_reduced(image: Image.Image, path: str, image_size: int):
    """Decode the image; a JPEG at least twice image_size on both sides straight at half scale
    (the DCT-domain downscale of `Image.draft`): ~less decoding work, and the Lanczos resize
    that follows gives nearly the same pixels (mean difference < 0.1 level of 255 on Pet-like
    photos; deeper DCT scales differ by ~1). Returns (image, the box to resize)."""
    box = None
    if image.format == "JPEG":
        width, height = image.size
        at_least = (max(image_size, (width + 1) // 2), max(image_size, (height + 1) // 2))
        drafted = image.draft(None, at_least)
        if drafted is not None:
            box = drafted[1]
    return _decode(image, path, "image"), box


def process_pair(pair: Pair, settings: ProcessingSettings) -> tuple[Outcome, bytes | None]:
    """(outcome, serialized example) for a usable pair; (rejected outcome, None) otherwise."""
    warnings: list[tuple[str, str]] = []
    paths = (pair.image_path, pair.mask_path)
    try:
        image = _open(pair.image_path, "image", settings, warnings)
        mask = _open(pair.mask_path, "mask", settings, warnings)
        if mask.size != image.size:
            raise Rejected(
                "size_mismatch",
                f"image is {image.width}x{image.height}, trimap is "
                f"{mask.width}x{mask.height} (width x height)",
            )
        image, box = _decode_reduced(image, pair.image_path, settings.image_size)
        image = to_rgb(image, warnings)
        trimap = trimap_values(_decode(mask, pair.mask_path, "mask"), warnings)
        bad = _out_of_range_values(trimap)
        if bad:
            listed = ", ".join(f"{value}: {count} px" for value, count in sorted(bad.items()))
            raise Rejected("mask_values_out_of_range", f"values outside {{1, 2, 3}}: {listed}")
        pixels, labels = resize_pair(image, trimap, settings.image_size, box)
    except Rejected as rejection:
        outcome = Outcome(
            pair.stem,
            paths,
            reason=rejection.reason,
            detail=rejection.detail,
            warnings=tuple(warnings),
        )
        return outcome, None
    except Exception as error:  # one unforeseen input must not fail a whole (Dataflow) job
        detail = f"{type(error).__name__}: {error}"
        return Outcome(pair.stem, paths, reason="processing_error", detail=detail), None
    example = record_format.encode_example(pair.stem, pixels, labels, settings.compress_level)
    split = split_for_stem(pair.stem, settings.eval_fraction)
    return Outcome(pair.stem, paths, split=split, warnings=tuple(warnings)), example
