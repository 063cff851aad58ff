"""Scenario shifts (issue 15 item 3): each named shift moves the data the way it says."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from segmentation_data_prep import record_format as R
from segmentation_data_prep.drift_features import drift_features
from segmentation_data_prep.shifts import SHIFT_NAMES, Shift, ShiftError
from segmentation_data_prep.synthetic import write_synthetic_pet_dataset
from segmentation_data_prep.synthetic_street import generate_street_examples

NUM = 6


def pet_features(root) -> dict[str, float]:
    """Mean of each drift feature over a written Pet-layout set (pet fraction: trimap 1)."""
    rows = []
    for image_path in sorted((root / "images").glob("*.jpg")):
        image = np.asarray(Image.open(image_path).convert("RGB"))
        trimap = np.asarray(Image.open(root / "annotations" / "trimaps" / f"{image_path.stem}.png"))
        features = drift_features(image, trimap - 1, 3, (image.shape[1], image.shape[0]))
        rows.append({key: values[0] for key, values in features.items()})
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}


@pytest.fixture(scope="module")
def pet_sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("shifted")
    sets = {"none": write_synthetic_pet_dataset(root / "none", NUM, seed=4)}
    for name in SHIFT_NAMES:
        sets[name] = write_synthetic_pet_dataset(root / name, NUM, seed=4, shift=Shift(name))
    return sets


def test_each_pet_shift_moves_its_feature(pet_sets):
    base = pet_features(pet_sets["none"])
    shifted = {name: pet_features(pet_sets[name]) for name in SHIFT_NAMES}
    assert shifted["dark"][R.BRIGHTNESS_KEY] < 0.45 * base[R.BRIGHTNESS_KEY]
    assert shifted["blur"][R.SHARPNESS_KEY] < 0.3 * base[R.SHARPNESS_KEY]
    assert shifted["sensor-noise"][R.SHARPNESS_KEY] > 2 * base[R.SHARPNESS_KEY]
    # class_fractions[0] is the pet class
    assert shifted["small-objects"][R.CLASS_FRACTIONS_KEY] < 0.5 * base[R.CLASS_FRACTIONS_KEY]
    assert shifted["new-backgrounds"][R.SATURATION_KEY] > base[R.SATURATION_KEY] + 0.1
    # scene shifts leave the light alone, pixel shifts the shapes
    assert shifted["small-objects"][R.BRIGHTNESS_KEY] == pytest.approx(
        base[R.BRIGHTNESS_KEY], abs=0.05
    )
    for name in ("dark", "blur", "sensor-noise"):
        assert shifted[name][R.CLASS_FRACTIONS_KEY] == base[R.CLASS_FRACTIONS_KEY]


def test_strength_zero_is_the_unshifted_set_byte_for_byte(pet_sets, tmp_path):
    expected = {
        p.relative_to(pet_sets["none"]): p.read_bytes() for p in pet_sets["none"].rglob("*.*")
    }
    for name in SHIFT_NAMES:
        root = write_synthetic_pet_dataset(tmp_path / name, NUM, seed=4, shift=Shift(name, 0.0))
        assert {p.relative_to(root): p.read_bytes() for p in root.rglob("*.*")} == expected


def _street(shift: Shift | None) -> dict[str, float]:
    rows = []
    for _, image_bytes, label_bytes in generate_street_examples(NUM, seed=5, shift=shift):
        image = np.asarray(Image.open(io.BytesIO(image_bytes)).convert("RGB"))
        labels = np.asarray(Image.open(io.BytesIO(label_bytes)))
        features = drift_features(image, labels, 35, (image.shape[1], image.shape[0]))
        rows.append(features)
    return {key: np.mean([row[key] for row in rows], axis=0) for key in R.DRIFT_FEATURE_KEYS}


def test_street_shifts_move_their_features():
    from segmentation_data_prep.presets import SIDEWALK

    base = _street(None)
    car = SIDEWALK.class_names.index("vehicle-car")
    small = _street(Shift("small-objects"))[R.CLASS_FRACTIONS_KEY]
    assert small[car] < 0.5 * base[R.CLASS_FRACTIONS_KEY][car]
    assert _street(Shift("dark"))[R.BRIGHTNESS_KEY] < 0.45 * base[R.BRIGHTNESS_KEY]
    assert _street(Shift("blur"))[R.SHARPNESS_KEY] < 0.5 * base[R.SHARPNESS_KEY]
    backgrounds = _street(Shift("new-backgrounds"))
    assert abs(backgrounds[R.SATURATION_KEY] - base[R.SATURATION_KEY]) > 0.05
    np.testing.assert_array_equal(backgrounds[R.CLASS_FRACTIONS_KEY], base[R.CLASS_FRACTIONS_KEY])


@pytest.mark.parametrize(
    "text, shift",
    [("dark", Shift("dark", 1.0)), ("blur:0.25", Shift("blur", 0.25)), (" sensor-noise:1 ", None)],
)
def test_parse(text, shift):
    if shift is None:
        shift = Shift("sensor-noise", 1.0)
    assert Shift.parse(text) == shift


@pytest.mark.parametrize(
    "text, message",
    [
        ("fog", "no shift 'fog'; known: dark, blur, new-backgrounds, small-objects, sensor-noise"),
        ("dark:2", r"strength must be in \[0, 1\], got 2.0"),
        ("dark:x", "strength 'x' is not a number"),
        ("dark:nan", r"must be in \[0, 1\]"),
    ],
)
def test_bad_shifts_are_named(text, message):
    with pytest.raises(ShiftError, match=message):
        Shift.parse(text)
