"""Metrics from probabilities against a direct numpy computation."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from segmentation_model import metrics

NAMES = ("pet", "background", "border")  # any three names: the metrics know no dataset


def _numpy_confusion(labels, predicted, num_classes, weights=None):
    matrix = np.zeros((num_classes, num_classes))
    np.add.at(
        matrix, (labels.ravel(), predicted.ravel()), 1.0 if weights is None else weights.ravel()
    )
    return matrix


def _random_batch(seed, shape=(3, 8, 8), num_classes=3):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, shape)
    probabilities = rng.dirichlet(np.ones(num_classes), shape).astype(np.float32)
    return labels, probabilities


def test_metrics_match_numpy_over_several_batches():
    batches = [_random_batch(seed) for seed in range(3)]
    confusion = sum(_numpy_confusion(lab, p.argmax(-1), 3) for lab, p in batches)
    iou = np.diag(confusion) / (confusion.sum(0) + confusion.sum(1) - np.diag(confusion))
    computed = metrics.segmentation_metrics(NAMES)
    for metric in computed:
        for labels, probabilities in batches:
            metric.update_state(labels, probabilities)
    results = {m.name: float(m.result()) for m in computed}
    assert results["mean_iou"] == pytest.approx(iou.mean(), rel=1e-6)
    assert results["iou_pet"] == pytest.approx(iou[0], rel=1e-6)
    assert results["iou_background"] == pytest.approx(iou[1], rel=1e-6)
    assert results["iou_border"] == pytest.approx(iou[2], rel=1e-6)
    assert results["pixel_accuracy"] == pytest.approx(
        np.trace(confusion) / confusion.sum(), rel=1e-6
    )


def test_absent_classes_do_not_drag_mean_iou_down():
    labels = np.zeros((1, 4, 4), np.int64)
    probabilities = np.zeros((1, 4, 4, 3), np.float32)
    probabilities[..., 0] = 1.0
    metric = metrics.MeanIoUFromProbabilities(3)
    metric.update_state(labels, probabilities)
    assert float(metric.result()) == 1.0
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_example_weights_apply_to_every_pixel():
    labels, probabilities = _random_batch(7, shape=(2, 4, 4))
    weights = np.array([0.0, 2.0])
    metric = metrics.PixelAccuracyFromProbabilities(3)
    metric.update_state(labels, probabilities, sample_weight=weights)
    second = (labels[1] == probabilities[1].argmax(-1)).mean()
    assert float(metric.result()) == pytest.approx(second, rel=1e-6)


def test_labels_with_a_trailing_channel_and_float16_scores():
    labels, probabilities = _random_batch(3)
    expected = metrics.PixelAccuracyFromProbabilities(3)
    expected.update_state(labels, probabilities)
    metric = metrics.PixelAccuracyFromProbabilities(3)
    metric.update_state(labels[..., None], tf.cast(probabilities, tf.float16))
    assert float(metric.result()) == pytest.approx(float(expected.result()))


@pytest.mark.parametrize("class_name", sorted(metrics.CUSTOM_OBJECTS))
def test_constructible_by_module_path_and_serializable(class_name):
    """What TFMA does with MetricConfig(class_name=..., module="segmentation_model.metrics")."""
    cls = getattr(importlib.import_module("segmentation_model.metrics"), class_name)
    arguments = {"num_classes": 5, "void_label": 0}
    if class_name == "ClassIoUFromProbabilities":
        arguments["class_index"] = 2
    metric = cls(**arguments)
    clone = cls.from_config(metric.get_config())
    assert clone.get_config() == metric.get_config()
    restored = keras.metrics.deserialize(keras.metrics.serialize(metric))
    assert type(restored) is cls and restored.name == metric.name


def test_class_iou_rejects_bad_class_index():
    with pytest.raises(ValueError, match="class_index"):
        metrics.ClassIoUFromProbabilities(class_index=3, num_classes=3)
    with pytest.raises(ValueError, match="void label"):
        metrics.ClassIoUFromProbabilities(class_index=0, num_classes=3, void_label=0)


def _one_hot_scores(predicted: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[predicted][np.newaxis]


def test_void_pixels_never_count_in_a_mostly_void_mask():
    """13 of 16 pixels are void (class 0) and predicted as class 2 everywhere: by hand, on the
    3 scored pixels, class 1 has TP 1 of union 2, class 2 TP 1 of union 2, 2 of 3 correct."""
    labels = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 0, 2]])[np.newaxis]
    predicted = np.full((4, 4), 2)
    predicted[2, 2] = 1
    scores = _one_hot_scores(predicted, 3)
    built = metrics.segmentation_metrics(("unlabeled", "a", "b"), void_label=0)
    for metric in built:
        metric.update_state(labels, scores)
    results = {metric.name: float(metric.result()) for metric in built}
    assert results == pytest.approx(
        {"mean_iou": 0.5, "iou_a": 0.5, "iou_b": 0.5, "pixel_accuracy": 2 / 3}, rel=1e-6
    )


def test_a_batch_of_only_void_pixels_changes_no_metric():
    built = metrics.segmentation_metrics(("unlabeled", "a", "b"), void_label=0)
    for metric in built:
        metric.update_state(np.zeros((1, 3, 3), np.int64), _one_hot_scores(np.ones((3, 3), int), 3))
        assert float(metric.result()) == 0.0  # nothing scored yet: every count is still 0


def test_class_iou_names_are_sanitized_and_unique():
    names = metrics.class_iou_names(("flat-road", "Sky", "a b", "a_b", "human/person"))
    assert names == ("iou_flat_road", "iou_sky", "iou_a_b_2", "iou_a_b_3", "iou_human_person")
