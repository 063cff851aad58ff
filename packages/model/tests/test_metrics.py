"""Metrics from probabilities against a direct numpy computation."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from segmentation_model import metrics


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
    computed = metrics.segmentation_metrics(3)
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
    metric = metrics.MeanIoUFromProbabilities()
    metric.update_state(labels, probabilities)
    assert float(metric.result()) == 1.0
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_example_weights_apply_to_every_pixel():
    labels, probabilities = _random_batch(7, shape=(2, 4, 4))
    weights = np.array([0.0, 2.0])
    metric = metrics.PixelAccuracyFromProbabilities()
    metric.update_state(labels, probabilities, sample_weight=weights)
    second = (labels[1] == probabilities[1].argmax(-1)).mean()
    assert float(metric.result()) == pytest.approx(second, rel=1e-6)


def test_labels_with_a_trailing_channel_and_float16_scores():
    labels, probabilities = _random_batch(3)
    expected = metrics.PixelAccuracyFromProbabilities()
    expected.update_state(labels, probabilities)
    metric = metrics.PixelAccuracyFromProbabilities()
    metric.update_state(labels[..., None], tf.cast(probabilities, tf.float16))
    assert float(metric.result()) == pytest.approx(float(expected.result()))


@pytest.mark.parametrize("class_name", sorted(metrics.CUSTOM_OBJECTS))
def test_constructible_by_module_path_and_serializable(class_name):
    """What TFMA does with MetricConfig(class_name=..., module="segmentation_model.metrics")."""
    cls = getattr(importlib.import_module("segmentation_model.metrics"), class_name)
    metric = cls()
    clone = cls.from_config(metric.get_config())
    assert clone.get_config() == metric.get_config()
    restored = keras.metrics.deserialize(keras.metrics.serialize(metric))
    assert type(restored) is cls and restored.name == metric.name


def test_class_iou_rejects_bad_class_index():
    with pytest.raises(ValueError, match="class_index"):
        metrics.ClassIoUFromProbabilities(class_index=3)
