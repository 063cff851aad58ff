"""Drift features (issue 15 item 2): per-image scalars in every record, checked by hand."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from segmentation_data_prep import record_format
from segmentation_data_prep.drift_features import drift_features
from segmentation_data_prep.presets import SIDEWALK
from segmentation_data_prep.processing import ProcessingSettings, process_example
from segmentation_data_prep.raw_example import RawExample

R = record_format


def test_red_and_black_pixels_by_hand():
    image = np.array([[[255, 0, 0], [0, 0, 0]]], np.uint8)  # 1 x 2: pure red, black
    mask = np.array([[0, 1]], np.uint8)
    features = drift_features(image, mask, num_classes=3, source_size=(300, 200))
    # luma: red 0.299, black 0 -> mean 0.1495, standard deviation 0.1495
    assert features[R.BRIGHTNESS_KEY] == pytest.approx([0.1495])
    assert features[R.CONTRAST_KEY] == pytest.approx([0.1495])
    # HSV saturation: red (255 - 0) / 255 = 1, black 0 by definition -> 0.5
    assert features[R.SATURATION_KEY] == pytest.approx([0.5])
    assert features[R.RED_MEAN_KEY] == pytest.approx([0.5])
    assert features[R.GREEN_MEAN_KEY] == [0.0] and features[R.BLUE_MEAN_KEY] == [0.0]
    assert features[R.SHARPNESS_KEY] == [0.0]  # no interior pixel
    assert features[R.ASPECT_RATIO_KEY] == pytest.approx([1.5])  # the source's 300 x 200
    assert features[R.CLASS_FRACTIONS_KEY] == pytest.approx([0.5, 0.5, 0.0])


def test_laplacian_variance_by_hand():
    image = np.zeros((3, 4, 3), np.uint8)
    image[1, 1] = 255  # one white pixel; the interior is (1, 1) and (1, 2)
    mask = np.array([[0, 1, 1, 2]] * 3, np.uint8)
    features = drift_features(image, mask, num_classes=4, source_size=(4, 3))
    # Laplacian (up + down + left + right - 4 centre): at (1, 1) -4, at (1, 2) +1;
    # mean -1.5, variance ((-2.5)^2 + 2.5^2) / 2 = 6.25
    assert features[R.SHARPNESS_KEY] == pytest.approx([6.25])
    assert features[R.BRIGHTNESS_KEY] == pytest.approx([1 / 12])
    assert features[R.CLASS_FRACTIONS_KEY] == pytest.approx([0.25, 0.5, 0.25, 0.0])


def test_uniform_grey_has_no_contrast_saturation_or_edges():
    image = np.full((5, 5, 3), 51, np.uint8)  # 51 / 255 = 0.2
    features = drift_features(image, np.zeros((5, 5), np.uint8), 2, (5, 5))
    assert features[R.BRIGHTNESS_KEY] == pytest.approx([0.2])
    assert features[R.CONTRAST_KEY] == pytest.approx([0.0], abs=1e-12)
    assert features[R.SATURATION_KEY] == [0.0] and features[R.SHARPNESS_KEY] == [0.0]
    assert features[R.CLASS_FRACTIONS_KEY] == [1.0, 0.0]


def test_every_record_carries_them_readable_by_numpy_and_tensorflow():
    image = np.array([[[255, 0, 0], [0, 0, 0]]], np.uint8)
    mask = np.array([[0, 1]], np.uint8)
    serialized = R.encode_example("a", image, mask, source_size=(300, 200))
    drift = R.decode_example(serialized).drift
    assert set(drift) == set(R.DRIFT_FEATURE_KEYS)
    assert drift[R.BRIGHTNESS_KEY] == pytest.approx((0.1495,), rel=1e-6)  # stored as float32
    assert drift[R.CLASS_FRACTIONS_KEY] == (0.5, 0.5, 0.0)
    parsed = tf.io.parse_example([serialized], R.drift_feature_spec())
    assert parsed[R.ASPECT_RATIO_KEY].numpy().tolist() == [1.5]
    assert parsed[R.CLASS_FRACTIONS_KEY].values.numpy().tolist() == [0.5, 0.5, 0.0]
    assert R.decode_example(serialized).stem == "a"


def test_growth_per_record_is_small():
    """The drift features cost a few hundred bytes of a ~25 KB record (Pet, 128 px)."""
    from segmentation_data_prep.synthetic import _draw_pair

    image, trimap = _draw_pair(np.random.default_rng(0), 128, 128, 2)
    image, mask = image.astype(np.uint8), (trimap - 1).astype(np.uint8)
    with_features = len(R.encode_example("Abyssinian_1", image, mask))
    without = len(
        R._example_bytes(
            {R.IMAGE_KEY: R.encode_png(image), R.MASK_KEY: R.encode_png(mask),
             R.STEM_KEY: b"Abyssinian_1"},
            {R.HEIGHT_KEY: 128, R.WIDTH_KEY: 128},
        )
    )  # fmt: skip
    growth = with_features - without
    # A map entry holding one float: 2 (entry tag, length) + 2 + key (key field) + 2 (value
    # field) + 2 (Feature) + 2 (FloatList) + 4 = key + 14 bytes; three floats: key + 22.
    expected = sum(len(k) + 14 for k in R.SCALAR_DRIFT_KEYS) + len(R.CLASS_FRACTIONS_KEY) + 22
    assert growth == expected
    assert growth / without < 0.02


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_data_prep_uses_the_source_aspect_ratio_and_the_spec_class_count():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)
    labels = np.zeros((60, 90), np.uint8)
    labels[:, 45:] = 34  # the last sidewalk class
    raw = RawExample("street_1", _png(image), _png(labels), ("street_1.png", "street_1.png"))
    outcome, serialized = process_example(raw, ProcessingSettings(32, 0.2, spec=SIDEWALK))
    assert outcome.written
    drift = R.decode_example(serialized).drift
    assert drift[R.ASPECT_RATIO_KEY] == (1.5,)  # 90 x 60 before the resize to 32 x 32
    fractions = drift[R.CLASS_FRACTIONS_KEY]
    assert len(fractions) == SIDEWALK.num_classes == 35
    assert fractions[0] == fractions[34] == 0.5 and sum(fractions[1:34]) == 0
