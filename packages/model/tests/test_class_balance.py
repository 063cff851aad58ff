"""Class weights from label frequencies (expected values worked out by hand)."""

from __future__ import annotations

import numpy as np
import pytest
from segmentation_model import class_balance


def test_none_weighs_every_class_one():
    weights = class_balance.class_weights([0.7, 0.25, 0.05], class_balance.NONE, cap=10)
    np.testing.assert_array_equal(weights, [1.0, 1.0, 1.0])


def test_inverse_frequency_keeps_the_average_pixel_weight_at_one():
    # 1 / (3 f): 1/2.1, 1/0.75, 1/0.15
    weights = class_balance.class_weights([0.7, 0.25, 0.05], class_balance.INVERSE_FREQUENCY, 10)
    np.testing.assert_allclose(weights, [0.476190, 1.333333, 6.666667], rtol=1e-5)
    assert np.dot([0.7, 0.25, 0.05], weights) == pytest.approx(1.0)


def test_median_frequency_gives_the_median_class_weight_one():
    # median 0.25: 0.25/0.7, 0.25/0.25, 0.25/0.05
    weights = class_balance.class_weights([0.7, 0.25, 0.05], class_balance.MEDIAN_FREQUENCY, 10)
    np.testing.assert_allclose(weights, [0.357143, 1.0, 5.0], rtol=1e-5)


def test_rare_and_absent_classes_are_capped():
    weights = class_balance.class_weights(
        [0.9, 0.0999, 0.0001, 0.0], class_balance.INVERSE_FREQUENCY, cap=4
    )
    # 1 / (3 * 0.9) = 0.370; 1 / (3 * 0.0999) = 3.337; the rare and the absent class: the cap.
    np.testing.assert_allclose(weights, [0.370370, 3.336670, 4.0, 4.0], rtol=1e-5)


def test_all_zero_frequencies_give_unit_weights():
    weights = class_balance.class_weights([0.0, 0.0], class_balance.MEDIAN_FREQUENCY, 10)
    np.testing.assert_array_equal(weights, [1.0, 1.0])


@pytest.mark.parametrize(
    ("frequencies", "method", "cap", "message"),
    [
        ([0.5, 0.5], "inverse", 10, "class_weighting must be one of"),
        ([0.5, 0.5], class_balance.MEDIAN_FREQUENCY, 0.5, "class_weight_cap must be >= 1"),
        ([0.5, -0.1], class_balance.MEDIAN_FREQUENCY, 10, "shares >= 0"),
        ([], class_balance.MEDIAN_FREQUENCY, 10, "non-empty"),
        ([np.nan, 1.0], class_balance.MEDIAN_FREQUENCY, 10, "shares >= 0"),
    ],
)
def test_bad_settings_are_named(frequencies, method, cap, message):
    with pytest.raises(ValueError, match=message):
        class_balance.class_weights(frequencies, method, cap)
