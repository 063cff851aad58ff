"""Every bad-input case, through the plain-Python listing and processing (no Beam)."""

import posixpath

import numpy as np
import pytest
from data_prep_test_helpers import EXPECTED_REJECTIONS, EXPECTED_WARNINGS, add_pair, photo, trimap
from PIL import Image
from segmentation_data_prep import record_format
from segmentation_data_prep.inputs import (
    REJECTION_REASONS,
    WARNING_REASONS,
    InputError,
    list_inputs,
)
from segmentation_data_prep.processing import ProcessingSettings, process_pair, split_for_stem


def rejection_key(outcome) -> str:
    if outcome.reason in ("stray_file", "duplicate_stem"):
        return posixpath.basename(outcome.paths[0])
    return outcome.stem


@pytest.fixture(scope="module")
def processed(mixed_dataset):
    listing = list_inputs(str(mixed_dataset))
    results = {pair.stem: process_pair(pair, ProcessingSettings(32, 0.2)) for pair in listing.pairs}
    return listing, results


def test_every_bad_input_is_rejected_with_its_named_reason(processed):
    listing, results = processed
    rejected = {rejection_key(o): o for o in listing.rejected}
    rejected.update({stem: o for stem, (o, _) in results.items() if not o.written})
    assert {key: o.reason for key, o in rejected.items()} == EXPECTED_REJECTIONS
    for outcome in rejected.values():
        assert outcome.reason in REJECTION_REASONS
    assert (
        "0: 5 px" in rejected["bad_values"].detail and "255: 7 px" in rejected["bad_values"].detail
    )
    assert "80x60" in rejected["mismatch"].detail and "60x80" in rejected["mismatch"].detail
    assert "AppleDouble" in rejected["._Abyssinian_1.png"].detail
    assert "MATLAB" in rejected["Abyssinian_1.mat"].detail
    assert "dup.jpg is used" in rejected["dup.png"].detail
    assert "empty" in rejected["empty"].detail
    assert "truncated" in rejected["truncated"].detail


def test_convertible_inputs_are_written_with_a_warning(processed):
    _, results = processed
    warned = {stem: o.warnings for stem, (o, _) in results.items() if o.written and o.warnings}
    assert {stem: w[0][0] for stem, w in warned.items()} == EXPECTED_WARNINGS
    assert all(reason in WARNING_REASONS for w in warned.values() for reason, _ in w)
    assert "from mode CMYK" in warned["cmyk"][0][1] and "from mode P" in warned["palette"][0][1]
    for stem in EXPECTED_WARNINGS:
        decoded = record_format.decode_example(results[stem][1])
        assert decoded.image.shape == (32, 32, 3) and decoded.mask.shape == (32, 32)


def test_counts_add_up(processed):
    listing, results = processed
    written = sum(o.written for o, _ in results.values())
    rejected = len(listing.rejected) + sum(not o.written for o, _ in results.values())
    assert written == 24 + len(EXPECTED_WARNINGS) + 1  # + dup.jpg (dup.png is the duplicate)
    assert written + rejected == listing.found == written + len(EXPECTED_REJECTIONS)


def test_conversions_match_pil(tmp_path):
    """Grayscale and 16-bit inputs become the same RGB a careful user would compute."""
    gray = photo(40, 50)[..., 0]
    gray16 = gray.astype(np.uint16) * 256 + 7  # top byte == gray
    add_pair(tmp_path, "g8", Image.fromarray(gray), trimap(40, 50), ".png", "PNG")
    add_pair(tmp_path, "g16", Image.fromarray(gray16), trimap(40, 50), ".png", "PNG")
    pairs = {p.stem: p for p in list_inputs(str(tmp_path)).pairs}
    expected = np.asarray(Image.fromarray(gray).convert("RGB").resize((20, 20), Image.LANCZOS))
    for stem in ("g8", "g16"):
        _, serialized = process_pair(pairs[stem], ProcessingSettings(20, 0.2))
        np.testing.assert_array_equal(record_format.decode_example(serialized).image, expected)


def test_palette_trimap_uses_indices(tmp_path):
    mask = trimap(30, 30)
    palette_mask = Image.fromarray(mask, mode="L").convert("P")  # indices == values
    palette_mask.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756)
    add_pair(tmp_path, "p", Image.fromarray(photo(30, 30)), np.asarray(palette_mask))
    (tmp_path / "annotations/trimaps/p.png").unlink()
    palette_mask.save(tmp_path / "annotations/trimaps/p.png")
    pair = list_inputs(str(tmp_path)).pairs[0]
    outcome, serialized = process_pair(pair, ProcessingSettings(30, 0.2))
    assert outcome.written and not outcome.warnings
    np.testing.assert_array_equal(record_format.decode_example(serialized).mask, mask - 1)


def test_missing_or_empty_input_dir_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="Oxford-IIIT Pet layout"):
        list_inputs(str(tmp_path / "does-not-exist"))


def test_split_is_stable_and_follows_the_fraction():
    stems = [f"stem_{i}" for i in range(4000)]
    first = [split_for_stem(s, 0.2) for s in stems]
    assert first == [split_for_stem(s, 0.2) for s in stems]
    assert 0.17 < first.count("eval") / len(stems) < 0.23
    # Known values pin the hash so that a refactor cannot silently reshuffle every dataset.
    stems = ("Abyssinian_1", "beagle_7", "pug_3", "Bengal_10", "samoyed_2", "Sphynx_4")
    assert [split_for_stem(s, 0.5) for s in stems] == [
        "train",
        "eval",
        "train",
        "train",
        "train",
        "eval",
    ]
    # Growing the fraction only moves train stems to eval, never the reverse.
    stems = [f"stem_{i}" for i in range(4000)]
    larger = [split_for_stem(s, 0.3) for s in stems]
    assert all(b == "eval" for a, b in zip(first, larger) if a == "eval")
