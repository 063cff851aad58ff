"""Segmentation losses: values against independent references, and a thin class learned."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from segmentation_model import losses
from segmentation_model.losses import SegmentationLoss


def _random_problem(seed: int = 0, shape=(2, 5, 7), num_classes: int = 3):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=shape)
    logits = rng.normal(size=(*shape, num_classes))
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return labels, probabilities.astype(np.float32)


def _mostly_void_problem(void_scores):
    """2x2 labels, void (0) on the diagonal; `void_scores` are the probabilities there."""
    labels = np.array([[[0, 1], [2, 0]]])
    probabilities = np.array(
        [[[void_scores, [0.2, 0.5, 0.3]], [[0.1, 0.65, 0.25], void_scores]]], np.float32
    )
    return labels, probabilities


def test_void_pixels_never_count_in_the_loss():
    """By hand: p_true is 0.5 at the class-1 pixel and 0.25 at the class-2 pixel, so the
    cross-entropy over the two scored pixels is (ln 2 + ln 4) / 2; void scores change nothing."""
    labels, probabilities = _mostly_void_problem([0.01, 0.98, 0.01])
    cross_entropy = SegmentationLoss(losses.CROSS_ENTROPY, void_label=0)
    assert float(cross_entropy(labels, probabilities)) == pytest.approx(
        (math.log(2) + math.log(4)) / 2, rel=1e-5
    )
    # Dice over the scored pixels, classes 1 and 2 only (smoothing 1):
    # class 1: (2 * 0.5 + 1) / (1 + (0.5 + 0.65) + 1); class 2: (2 * 0.25 + 1) / (1 + 0.55 + 1).
    dice = SegmentationLoss(losses.DICE, void_label=0)
    assert float(dice(labels, probabilities)) == pytest.approx(
        1 - (2 / 3.15 + 1.5 / 2.55) / 2, rel=1e-5
    )
    for kind in losses.LOSSES:
        loss = SegmentationLoss(kind, [1.0, 2.0, 3.0], void_label=0)
        other_void_scores = _mostly_void_problem([0.9, 0.05, 0.05])[1]
        assert float(loss(labels, probabilities)) == pytest.approx(
            float(loss(labels, other_void_scores)), rel=1e-6
        ), kind


def test_cross_entropy_equals_keras_sparse_categorical_cross_entropy():
    labels, probabilities = _random_problem()
    ours = SegmentationLoss(losses.CROSS_ENTROPY)(labels, probabilities)
    reference = keras.losses.SparseCategoricalCrossentropy()(labels, probabilities)
    assert float(ours) == pytest.approx(float(reference), rel=1e-5)


def test_class_weights_scale_each_pixel_by_its_true_class():
    labels, probabilities = _random_problem(1)
    weights = [0.5, 2.0, 7.0]
    ours = SegmentationLoss(losses.CROSS_ENTROPY, weights)(labels, probabilities)
    p_true = np.take_along_axis(probabilities, labels[..., None], -1)[..., 0]
    expected = np.mean(-np.log(p_true) * np.array(weights)[labels])
    assert float(ours) == pytest.approx(expected, rel=1e-5)


def test_focal_with_gamma_zero_is_cross_entropy_and_down_weights_easy_pixels():
    labels, probabilities = _random_problem(2)
    cross_entropy = float(SegmentationLoss(losses.CROSS_ENTROPY)(labels, probabilities))
    assert float(
        SegmentationLoss(losses.FOCAL, focal_gamma=0.0)(labels, probabilities)
    ) == pytest.approx(cross_entropy, rel=1e-5)
    p_true = np.take_along_axis(probabilities, labels[..., None], -1)[..., 0]
    expected = np.mean(-np.log(p_true) * (1 - p_true) ** 2)
    focal = float(SegmentationLoss(losses.FOCAL, focal_gamma=2.0)(labels, probabilities))
    assert focal == pytest.approx(expected, rel=1e-5) and focal < cross_entropy


def test_soft_dice_counts_every_class_the_same_whatever_its_area():
    # 4 pixels: class 0 on three, class 1 on one; the prediction is exact for class 0 and
    # misses the class-1 pixel completely (it predicts class 0 there).
    labels = np.array([[0, 0, 0, 1]])
    probabilities = np.array([[[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]], np.float32)
    dice = float(SegmentationLoss(losses.DICE)(labels, probabilities))
    # Smoothed Dice (2 I + 1) / (|y| + |p| + 1): class 0: 7 / 8, class 1: 1 / 2.
    assert dice == pytest.approx(1 - (7 / 8 + 1 / 2) / 2, abs=1e-5)
    # Cross-entropy sees 1 wrong pixel out of 4; Dice loses half the score of a class.
    both = float(SegmentationLoss(losses.CROSS_ENTROPY_DICE)(labels, probabilities))
    cross_entropy = float(SegmentationLoss(losses.CROSS_ENTROPY)(labels, probabilities))
    assert both == pytest.approx(cross_entropy + dice, rel=1e-5)


def test_unknown_loss_is_named():
    with pytest.raises(ValueError, match="loss must be one of"):
        SegmentationLoss("dice+cross-entropy")


def test_loss_round_trips_through_its_config():
    loss = SegmentationLoss(losses.FOCAL_DICE, [1.0, 3.0], focal_gamma=1.5)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert (again.kind, again.class_weights, again.focal_gamma) == (
        losses.FOCAL_DICE,
        [1.0, 3.0],
        1.5,
    )


# --- A tiny problem with a thin class --------------------------------------------------------
_SIZE = 24
_INSIDE, _OUTSIDE, _OUTLINE = 0, 1, 2
_OUTLINE_LABEL_RATE = 0.4  # how often an outline pixel is labelled as outline


def _thin_class_data(count: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noisy bright rectangles on a dark background; class 2 is the rectangle's 1-px outline.

    Like the Pet trimap's border band, the outline is ambiguous: an outline pixel is labelled
    "outline" only 40% of the time, "inside" otherwise. The most probable label of an outline
    pixel is then "inside", so a model fitted with plain cross-entropy predicts "inside" there
    and never the outline class. Returns images, noisy labels and the clean outline.
    """
    rng = np.random.default_rng(seed)
    images = rng.normal(0.0, 0.15, size=(count, _SIZE, _SIZE, 1)).astype(np.float32)
    labels = np.full((count, _SIZE, _SIZE), _OUTSIDE, np.int64)
    outline = np.zeros((count, _SIZE, _SIZE), bool)
    for index in range(count):
        top, left = rng.integers(2, 8, size=2)
        bottom, right = top + rng.integers(8, 14), left + rng.integers(8, 14)
        images[index, top:bottom, left:right] += 1.0
        labels[index, top:bottom, left:right] = _INSIDE
        edge = np.zeros((_SIZE, _SIZE), bool)
        edge[top:bottom, left:right] = True
        edge[top + 1 : bottom - 1, left + 1 : right - 1] = False
        outline[index] = edge
        labelled = edge & (rng.random((_SIZE, _SIZE)) < _OUTLINE_LABEL_RATE)
        labels[index][labelled] = _OUTLINE
    return images, labels, outline


def _outline_iou_after_training(loss: keras.losses.Loss) -> float:
    """Trains a small fully convolutional net for 300 steps; outline IoU on new images."""
    keras.utils.set_random_seed(0)
    images, labels, _ = _thin_class_data(256, seed=1)
    test_images, _, test_outline = _thin_class_data(64, seed=2)
    model = keras.Sequential(
        [
            keras.Input((_SIZE, _SIZE, 1)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(3, 1, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).repeat().batch(32)
    model.fit(dataset, steps_per_epoch=300, epochs=1, verbose=0)
    predicted = np.argmax(model.predict(test_images, verbose=0), axis=-1) == _OUTLINE
    union = np.sum(predicted | test_outline)
    return float(np.sum(predicted & test_outline) / union) if union else 0.0


@pytest.mark.slow
def test_cross_entropy_ignores_a_thin_ambiguous_class_and_cross_entropy_plus_dice_does_not():
    plain = _outline_iou_after_training(SegmentationLoss(losses.CROSS_ENTROPY))
    combined = _outline_iou_after_training(SegmentationLoss(losses.CROSS_ENTROPY_DICE))
    weighted = _outline_iou_after_training(
        SegmentationLoss(losses.CROSS_ENTROPY, class_weights=[1.0, 1.0, 3.0])
    )
    assert plain < 0.05, plain
    assert combined > 0.5, (plain, combined)
    assert weighted > 0.5, (plain, weighted)
