"""Test helpers of the data_prep tests: inputs in the Pet layout with every kind of bad input,
what the job must say about them, and how the tests run the job and read its output."""

from __future__ import annotations

import glob
import io
import os
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image
from segmentation_data_prep import record_format

SIZE = 48


def read_split(output_dir: str | Path, split: str) -> dict[str, bytes]:
    """stem -> serialized example, for every record of a split (via TF's own reader)."""
    files = sorted(glob.glob(os.path.join(str(output_dir), record_format.shard_glob(split))))
    records = [r.numpy() for r in tf.data.TFRecordDataset(files)]
    examples = {record_format.decode_example(r).stem: r for r in records}
    assert len(examples) == len(records)  # no duplicates
    return examples


# Local runs in tests: one process (fast start); the multi-process run has its own test.
IN_PROCESS = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def trimap(height: int, width: int) -> np.ndarray:
    """A valid trimap: a pet rectangle (1) with a border band (3) on background (2)."""
    mask = np.full((height, width), 2, dtype=np.uint8)
    mask[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4] = 3
    mask[height // 4 + 2 : 3 * height // 4 - 2, width // 4 + 2 : 3 * width // 4 - 2] = 1
    return mask


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def add_file(root: Path, relative: str, data: bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def add_pair(
    root: Path,
    stem: str,
    image: Image.Image | bytes,
    mask: np.ndarray | bytes,
    image_ext: str = ".jpg",
    image_format: str = "JPEG",
) -> None:
    image_bytes = image if isinstance(image, bytes) else encoded(image, image_format)
    mask_bytes = mask if isinstance(mask, bytes) else encoded(Image.fromarray(mask), "PNG")
    add_file(root, f"images/{stem}{image_ext}", image_bytes)
    add_file(root, f"annotations/trimaps/{stem}.png", mask_bytes)


# stem (or file name for unpaired files) -> the reason it must be rejected with
EXPECTED_REJECTIONS = {
    "orphan_image": "image_without_mask",
    "orphan_mask": "mask_without_image",
    "truncated": "unreadable_image",
    "empty": "unreadable_image",
    "garbage": "unreadable_image",
    "text_as_png": "unreadable_image",
    "broken_mask": "unreadable_mask",
    "mismatch": "size_mismatch",
    "bad_values": "mask_values_out_of_range",
    "color_mask": "mask_not_single_channel",
    "Abyssinian_1.mat": "stray_file",
    "._Abyssinian_1.jpg": "stray_file",
    "._Abyssinian_1.png": "stray_file",
    "dup.png": "duplicate_stem",
}
# stem -> the warning it must be written with
EXPECTED_WARNINGS = {
    "png_inside": "extension_mismatch",
    "gray": "converted_to_rgb",
    "rgba": "converted_to_rgb",
    "cmyk": "converted_to_rgb",
    "palette": "converted_to_rgb",
    "gray16": "converted_to_rgb",
    "rgb_mask": "mask_converted",
}


def write_bad_inputs(root: Path) -> None:
    """One file (or pair) per bad-input case; see EXPECTED_REJECTIONS / EXPECTED_WARNINGS."""
    good_jpeg = encoded(Image.fromarray(photo(60, 80)), "JPEG")
    mask = trimap(60, 80)
    add_file(root, "images/orphan_image.jpg", good_jpeg)
    add_file(root, "annotations/trimaps/orphan_mask.png", encoded(Image.fromarray(mask), "PNG"))
    add_pair(root, "truncated", good_jpeg[: len(good_jpeg) // 2], mask)
    add_pair(root, "empty", b"", mask)
    add_pair(root, "garbage", np.random.default_rng(1).bytes(5000), mask)
    add_pair(root, "text_as_png", b"this is not an image\n", mask, image_ext=".png")
    mask_png = encoded(Image.fromarray(mask), "PNG")
    add_pair(root, "broken_mask", good_jpeg, mask_png[: len(mask_png) - 30])
    add_pair(root, "mismatch", Image.fromarray(photo(60, 80)), trimap(80, 60))
    bad_values = mask.copy()
    bad_values[0, :5] = 0
    bad_values[1, :7] = 255
    add_pair(root, "bad_values", good_jpeg, bad_values)
    color = np.stack([mask, mask, mask], axis=-1)
    color[10, 10] = (1, 2, 3)
    add_pair(root, "color_mask", good_jpeg, color)
    add_file(root, "images/Abyssinian_1.mat", b"MATLAB 5.0 MAT-file")
    add_file(root, "images/._Abyssinian_1.jpg", b"\x00\x05\x16\x07AppleDouble")
    add_file(root, "annotations/trimaps/._Abyssinian_1.png", b"\x00\x05\x16\x07AppleDouble")
    add_pair(root, "dup", good_jpeg, mask)
    add_file(root, "images/dup.png", encoded(Image.fromarray(photo(60, 80)), "PNG"))
    # Written, with a warning:
    add_pair(root, "png_inside", encoded(Image.fromarray(photo(60, 80, 2)), "PNG"), mask)
    add_pair(root, "gray", Image.fromarray(photo(60, 80, 3)[..., 0]), mask)
    add_pair(
        root,
        "rgba",
        Image.fromarray(np.dstack([photo(60, 80, 4), photo(60, 80, 5)[..., :1]])),
        mask,
        image_ext=".png",
        image_format="PNG",
    )
    add_pair(root, "cmyk", Image.fromarray(photo(60, 80, 6)).convert("CMYK"), mask)
    add_pair(
        root,
        "palette",
        Image.fromarray(photo(60, 80, 7)).convert("P"),
        mask,
        image_ext=".png",
        image_format="PNG",
    )
    gray16 = np.random.default_rng(8).integers(0, 65536, size=(60, 80), dtype=np.uint16)
    add_pair(root, "gray16", Image.fromarray(gray16), mask, image_ext=".png", image_format="PNG")
    add_pair(root, "rgb_mask", good_jpeg, np.stack([mask, mask, mask], axis=-1))


def run_on_mixed_inputs(
    source: str | Path, output_dir: str | Path, beam_args: list[str], **settings
) -> dict:
    """The job as the tests run it on mixed_dataset (SIZE, 30 % eval, `settings` on top);
    returns its report."""
    from segmentation_data_prep.beam_job import run_data_prep

    return run_data_prep(
        str(source),
        str(output_dir),
        image_size=SIZE,
        eval_fraction=0.3,
        show_progress=False,
        beam_args=beam_args,
        **settings,
    )
