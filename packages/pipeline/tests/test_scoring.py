"""Scoring a serving model by pixel counts: hand-counted confusion matrices and IoU."""

from __future__ import annotations

import math

import numpy as np
import pytest
from segmentation_pipeline.scoring import Scores, confusion_matrix


def test_confusion_matrix_counts_pixel_pairs():
    true = np.array([[0, 0, 1], [1, 2, 2]])
    predicted = np.array([[0, 1, 1], [1, 2, 0]])
    expected = np.array([[1, 1, 0], [0, 2, 0], [1, 0, 1]])
    np.testing.assert_array_equal(confusion_matrix(true, predicted, 3), expected)


def test_void_pixels_never_count():
    true = np.array([0, 0, 0, 0, 1, 2])  # mostly void (0)
    predicted = np.array([1, 2, 1, 2, 1, 1])  # every void pixel predicted wrong
    counts = confusion_matrix(true, predicted, 3, void_label=0)
    assert counts.sum() == 2
    assert counts[1, 1] == 1 and counts[2, 1] == 1


def test_iou_accuracy_by_hand():
    # true\pred: class a: 3 right, 1 as b; class b: 2 right; class c never present or predicted.
    confusion = np.array([[3, 1, 0], [0, 2, 0], [0, 0, 0]])
    scores = Scores(("a", "b", "c"), confusion, examples=1)
    iou = scores.class_iou
    assert iou["a"] == pytest.approx(3 / 4)  # 3 / (4 true + 3 predicted - 3)
    assert iou["b"] == pytest.approx(2 / 3)  # 2 / (2 + 3 - 2)
    assert math.isnan(iou["c"])
    assert scores.mean_iou == pytest.approx((3 / 4 + 2 / 3) / 2)
    assert scores.pixel_accuracy == pytest.approx(5 / 6)


def test_void_class_has_no_iou_even_when_predicted():
    # void (0) never labelled but predicted for 2 pixels of class a; a: 2 of 4 right, b: 3 of 3.
    true = np.array([1, 1, 1, 1, 2, 2, 2, 0])
    predicted = np.array([0, 0, 1, 1, 2, 2, 2, 1])
    scores = Scores(("void", "a", "b"), confusion_matrix(true, predicted, 3, 0), 1, void_label=0)
    assert math.isnan(scores.class_iou["void"])
    assert scores.class_iou["a"] == pytest.approx(2 / 4)  # 2 / (4 true + 2 predicted - 2)
    assert scores.mean_iou == pytest.approx((2 / 4 + 3 / 3) / 2)
    assert scores.pixel_accuracy == pytest.approx(5 / 7)


def test_out_of_range_predictions_are_clipped_not_dropped():
    counts = confusion_matrix(np.array([0, 1]), np.array([7, -1]), 2)
    assert counts.sum() == 2
