"""Hostile inputs (issue 12): undecodable file names, decompression bombs, broken links."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from pathlib import Path

import pytest
from data_prep_test_helpers import IN_PROCESS, SIZE, add_pair, photo, read_split, trimap
from PIL import Image
from segmentation_data_prep.beam_job import run_data_prep
from segmentation_data_prep.inputs import REJECTION_REASONS, list_inputs
from segmentation_data_prep.processing import ProcessingSettings, process_pair
from segmentation_data_prep.synthetic import write_synthetic_pet_dataset

LATIN1_STEM = os.fsdecode(b"caf\xe9")  # "café" saved by a Latin-1 system: not UTF-8


def png_declaring(width: int, height: int) -> bytes:
    """A ~100-byte 16-bit grayscale PNG whose header declares width x height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 2 * 64))  # the first row's start only
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """4 good pairs, a Latin-1 file name, a decompression bomb and broken links; one job run."""
    root = write_synthetic_pet_dataset(tmp_path_factory.mktemp("hostile"), 4, seed=5)
    add_pair(root, LATIN1_STEM, Image.fromarray(photo(60, 80)), trimap(60, 80))
    add_pair(root, "bomb", png_declaring(13_000, 13_000), trimap(60, 80), ".png", "PNG")
    os.symlink(root / "images" / "gone.jpg", root / "images" / "dangling.jpg")
    os.symlink("loop.png", root / "annotations" / "trimaps" / "loop.png")
    output_dir = tmp_path_factory.mktemp("hostile_out")
    report = run_data_prep(
        str(root), str(output_dir), image_size=SIZE, show_progress=False, beam_args=IN_PROCESS
    )
    return root, output_dir, report


def test_non_utf8_file_name_is_a_normal_example(hostile_run):
    """Item 6: one such file used to crash the whole job (stem.encode('utf-8'))."""
    _, output_dir, report = hostile_run
    position = int.from_bytes(hashlib.sha256(b"caf\xe9").digest()[:8], "big") / 2**64
    split = "eval" if position < 0.2 else "train"  # the split of the raw bytes, as stored
    examples = read_split(output_dir, split)
    assert "caf\\xe9" in examples  # a safe, valid UTF-8 key naming the undecodable byte
    report_bytes = (output_dir / "report.json").read_bytes()
    report_bytes.decode("utf-8")  # strict: no lone surrogates leak into the report
    assert json.loads(report_bytes) == report


def test_decompression_bomb_is_refused_before_decoding(hostile_run, tmp_path):
    """Item 7: a ~100-byte PNG declaring 13000x13000 16-bit pixels (~340 MB decoded)."""
    _, _, report = hostile_run
    bomb = next(r for r in report["rejections"] if r["stem"] == "bomb")
    assert bomb["reason"] == "image_too_large" and "13000x13000" in bomb["detail"]
    assert "image_too_large" in report["how_to_fix"]
    # The caps are settings: a lower pixel cap refuses an ordinary image, a file-size cap too.
    add_pair(tmp_path, "photo", Image.fromarray(photo(60, 80)), trimap(60, 80))
    pair = list_inputs(str(tmp_path)).pairs[0]
    outcome, example = process_pair(pair, ProcessingSettings(SIZE, 0.2, max_pixels=60 * 80 - 1))
    assert (outcome.reason, example) == ("image_too_large", None) and "4800" in outcome.detail
    size = os.path.getsize(pair.image_path)
    outcome, _ = process_pair(pair, ProcessingSettings(SIZE, 0.2, max_file_bytes=size - 1))
    assert outcome.reason == "image_too_large" and "file-size cap" in outcome.detail
    assert process_pair(pair, ProcessingSettings(SIZE, 0.2, max_file_bytes=size))[0].written


def test_dangling_and_looping_symlinks_are_rejections_counted_in_found(hostile_run):
    """Low item: Beam's local listing used to drop them silently."""
    root, _, report = hostile_run
    broken = {r["stem"]: r for r in report["rejections"] if r["reason"] == "broken_symlink"}
    assert set(broken) == {"dangling", "loop"}
    assert "gone.jpg" in broken["dangling"]["detail"] and "loop" in broken["loop"]["detail"]
    assert "broken_symlink" in REJECTION_REASONS and "broken_symlink" in report["how_to_fix"]
    assert report["found"] == 4 + 2 + 2  # good pairs, Latin-1 and bomb pairs, two links
    assert report["written"]["total"] + report["rejected"]["total"] == report["found"]
    assert report["counts_add_up"] and report["written"]["total"] == 5
    assert report["found_files"] == {"images": 4 + 2 + 1, "trimaps": 4 + 2 + 1}
    assert Path(root / "images" / "dangling.jpg").is_symlink()
