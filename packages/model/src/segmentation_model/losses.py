"""Segmentation losses on per-class probabilities: cross-entropy, focal, soft Dice, sums.

Cross-entropy averages over pixels, so a class covering 2% of them contributes 2% of the
gradient: thin classes (the Pet trimap's border band) are cheaper to ignore than to learn.
Class weights (`class_balance`) and soft Dice (one overlap score per class, whatever its size)
both counter that; focal loss down-weights the pixels the model already gets right.

Inputs: `y_true` class ids [B, S, S] (or [B, S, S, 1]), `y_pred` probabilities [B, S, S, C].
Pixels labelled `void_label` (the dataset spec's "unlabeled") carry no loss at all: the
pixel-wise term averages over the other pixels of each example, and soft Dice leaves them out
of every class's overlap and skips the void class itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf
import tf_keras as keras

CROSS_ENTROPY = "cross-entropy"
FOCAL = "focal"
DICE = "dice"
CROSS_ENTROPY_DICE = "cross-entropy+dice"
FOCAL_DICE = "focal+dice"
LOSSES = (CROSS_ENTROPY, FOCAL, DICE, CROSS_ENTROPY_DICE, FOCAL_DICE)

_EPSILON = 1e-7
_DICE_SMOOTHING = 1.0  # pixels: keeps a class absent from both labels and predictions at 0 loss


@keras.saving.register_keras_serializable(package="segmentation_model")
class SegmentationLoss(keras.losses.Loss):
    """`kind` in LOSSES; `class_weights` [C] weigh each pixel's (focal) cross-entropy term;
    pixels labelled `void_label` count nowhere.

    Soft Dice is computed over the whole batch per class and averaged over the scored classes
    (every class counts the same, whatever its area); it is unweighted. The "+dice" kinds add it
    to the pixel-wise term.
    """

    def __init__(
        self,
        kind: str = CROSS_ENTROPY,
        class_weights: Sequence[float] | None = None,
        focal_gamma: float = 2.0,
        void_label: int | None = None,
        name: str = "segmentation_loss",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        if kind not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
        if focal_gamma < 0:
            raise ValueError(f"focal_gamma must be >= 0, got {focal_gamma}")
        if void_label is not None and int(void_label) < 0:
            raise ValueError(f"void_label must be None or a class id >= 0, got {void_label}")
        self.kind = kind
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        self.focal_gamma = float(focal_gamma)
        self.void_label = None if void_label is None else int(void_label)

    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        """Per-example loss [B] (the batch Dice term is shared by every example)."""
        num_classes = y_pred.shape[-1]
        y_pred = tf.clip_by_value(tf.cast(y_pred, tf.float32), _EPSILON, 1.0 - _EPSILON)
        labels = tf.cast(tf.reshape(y_true, tf.shape(y_pred)[:-1]), tf.int32)
        one_hot = tf.one_hot(labels, num_classes, dtype=tf.float32)
        pixel_axes = list(range(1, len(y_pred.shape) - 1))
        # 1 where a pixel counts, 0 on void pixels; None without a void label, so that case
        # computes exactly what it did before dataset specs (same graph, same numbers).
        scored = None
        if self.void_label is not None:
            scored = tf.cast(tf.not_equal(labels, self.void_label), tf.float32)
        loss = tf.zeros(tf.shape(y_pred)[:1])
        if self.kind != DICE:
            p_true = tf.reduce_sum(one_hot * y_pred, axis=-1)
            pixel_loss = -tf.math.log(p_true)
            if self.kind in (FOCAL, FOCAL_DICE):
                pixel_loss *= tf.pow(1.0 - p_true, self.focal_gamma)
            if self.class_weights is not None:
                pixel_loss *= tf.gather(tf.constant(self.class_weights, tf.float32), labels)
            if scored is None:
                loss += tf.reduce_mean(pixel_loss, axis=pixel_axes)
            else:
                loss += tf.math.divide_no_nan(
                    tf.reduce_sum(pixel_loss * scored, axis=pixel_axes),
                    tf.reduce_sum(scored, axis=pixel_axes),
                )
        if self.kind in (DICE, CROSS_ENTROPY_DICE, FOCAL_DICE):
            pixel_mask = None if scored is None else scored[..., tf.newaxis]
            loss += soft_dice_loss(one_hot, y_pred, pixel_mask, self.void_label)
        return loss

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "kind": self.kind,
            "class_weights": self.class_weights,
            "focal_gamma": self.focal_gamma,
            "void_label": self.void_label,
        }


def soft_dice_loss(
    one_hot: tf.Tensor,
    probabilities: tf.Tensor,
    scored: tf.Tensor | None = None,
    void_label: int | None = None,
) -> tf.Tensor:
    """1 - mean over the scored classes of the soft Dice score over the batch's scored pixels
    (`scored` [..., 1] is 1 where the pixel counts, 0 on void pixels), a scalar."""
    if scored is not None:
        one_hot, probabilities = one_hot * scored, probabilities * scored
    axes = list(range(len(probabilities.shape) - 1))
    intersection = tf.reduce_sum(one_hot * probabilities, axis=axes)
    total = tf.reduce_sum(one_hot, axis=axes) + tf.reduce_sum(probabilities, axis=axes)
    dice = (2.0 * intersection + _DICE_SMOOTHING) / (total + _DICE_SMOOTHING)
    if void_label is not None:
        dice = tf.concat([dice[:void_label], dice[void_label + 1 :]], axis=0)
    return 1.0 - tf.reduce_mean(dice)
