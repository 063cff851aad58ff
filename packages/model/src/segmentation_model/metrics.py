"""Segmentation metrics computed from per-class probabilities (or logits).

Keras metrics, so the same classes serve in training (`model.compile(metrics=...)`) and in
TFMA by module path, e.g.
`tfma.MetricConfig(class_name="MeanIoUFromProbabilities", module="segmentation_model.metrics")`
with the class count and void label in its `config` (`segmentation_model.evaluation` writes it).
The class count and names come from the dataset spec; nothing here knows a dataset.

Inputs: `y_true` class ids of any shape (e.g. [B, S, S] or [B, S, S, 1]) and `y_pred`
per-class scores [..., C] with the same number of pixels; the predicted class is the argmax.
Pixels labelled `void_label` (the spec's "unlabeled") are left out of every count: a model is
neither rewarded nor punished for what it predicts there, and the void class has no IoU.
All metrics accumulate one confusion matrix in float64 (exact pixel counts well past 2**24).
Keras' own `MeanIoU` would need class ids, not probabilities, so it cannot be used directly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import tensorflow as tf
import tf_keras as keras

# Metric names (Keras and TFMA): what the pipeline's thresholds and the model card refer to.
MEAN_IOU = "mean_iou"
PIXEL_ACCURACY = "pixel_accuracy"


def class_iou_names(class_names: Sequence[str]) -> tuple[str, ...]:
    """`iou_<class name>` per class, lower-cased with runs of other characters than a-z, 0-9
    and '_' turned into '_' (`flat-road` -> `iou_flat_road`): names TFMA, TensorBoard and the
    model card show as they are. Two classes that would share a name get their index appended.
    """
    names = [f"iou_{re.sub(r'[^a-z0-9_]+', '_', name.lower()).strip('_')}" for name in class_names]
    return tuple(
        f"{name}_{index}" if names.count(name) > 1 else name for index, name in enumerate(names)
    )


class _ConfusionMatrixMetric(keras.metrics.Metric):
    """Accumulates a [C, C] confusion matrix (rows: true class, columns: predicted class)."""

    def __init__(
        self,
        num_classes: int,
        void_label: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if void_label is not None and not 0 <= int(void_label) < int(num_classes):
            raise ValueError(f"void_label must be None or in [0, {num_classes}), got {void_label}")
        self.num_classes = int(num_classes)
        self.void_label = None if void_label is None else int(void_label)
        self.confusion = self.add_weight(
            name="confusion",
            shape=(self.num_classes, self.num_classes),
            initializer="zeros",
            dtype=tf.float64,
        )

    def update_state(
        self, y_true: tf.Tensor, y_pred: tf.Tensor, sample_weight: tf.Tensor | None = None
    ) -> tf.Operation:
        y_pred = tf.convert_to_tensor(y_pred)
        scores = tf.reshape(y_pred, [-1, self.num_classes])
        predicted = tf.argmax(scores, axis=-1, output_type=tf.int64)
        labels = tf.reshape(tf.cast(y_true, tf.int64), [-1])
        weights = None
        if sample_weight is not None:
            # One weight per example (TFMA's example weight) or per pixel: repeat to pixels.
            sample_weight = tf.reshape(tf.cast(sample_weight, tf.float64), [-1])
            repeats = tf.size(labels) // tf.maximum(tf.size(sample_weight), 1)
            weights = tf.repeat(sample_weight, repeats)
        if self.void_label is not None:
            scored = tf.cast(tf.not_equal(labels, self.void_label), tf.float64)
            weights = scored if weights is None else weights * scored
        batch = tf.math.confusion_matrix(
            labels, predicted, num_classes=self.num_classes, weights=weights, dtype=tf.float64
        )
        return self.confusion.assign_add(batch)

    def reset_state(self) -> None:
        self.confusion.assign(tf.zeros_like(self.confusion))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "void_label": self.void_label,
        }

    def _class_iou(self) -> tf.Tensor:
        true_positives = tf.linalg.diag_part(self.confusion)
        union = (
            tf.reduce_sum(self.confusion, axis=0)
            + tf.reduce_sum(self.confusion, axis=1)
            - true_positives
        )
        return tf.math.divide_no_nan(true_positives, union)

    def _present_classes(self) -> tf.Tensor:
        """Scored classes seen in labels or predictions: IoU is undefined for the others, and
        the void class has no labelled pixels to be scored on."""
        seen = (tf.reduce_sum(self.confusion, axis=0) + tf.reduce_sum(self.confusion, axis=1)) > 0
        if self.void_label is None:
            return seen
        return tf.logical_and(seen, tf.not_equal(tf.range(self.num_classes), self.void_label))


@keras.saving.register_keras_serializable(package="segmentation_model")
class MeanIoUFromProbabilities(_ConfusionMatrixMetric):
    """Mean intersection-over-union over the scored classes present in labels or predictions."""

    def __init__(
        self,
        num_classes: int,
        void_label: int | None = None,
        name: str = MEAN_IOU,
        dtype: Any = None,
    ) -> None:
        super().__init__(num_classes, void_label, name=name, dtype=dtype)

    def result(self) -> tf.Tensor:
        iou = tf.boolean_mask(self._class_iou(), self._present_classes())
        return tf.cast(
            tf.math.divide_no_nan(tf.reduce_sum(iou), tf.cast(tf.size(iou), tf.float64)), self.dtype
        )


@keras.saving.register_keras_serializable(package="segmentation_model")
class ClassIoUFromProbabilities(_ConfusionMatrixMetric):
    """Intersection-over-union of one class (0 when the class never occurs).

    The argument is `class_index`, not Keras' usual `class_id`: TFMA treats metrics with a
    `class_id` attribute as binary metrics and would feed them that class's column only.
    """

    def __init__(
        self,
        class_index: int,
        num_classes: int,
        void_label: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if not 0 <= int(class_index) < int(num_classes):
            raise ValueError(f"class_index must be in [0, {num_classes}), got {class_index}")
        if void_label is not None and int(class_index) == int(void_label):
            raise ValueError(f"class {class_index} is the void label: it has no IoU")
        super().__init__(num_classes, void_label, name=name or f"iou_{class_index}", dtype=dtype)
        self.class_index = int(class_index)

    def result(self) -> tf.Tensor:
        return tf.cast(self._class_iou()[self.class_index], self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_index": self.class_index}


@keras.saving.register_keras_serializable(package="segmentation_model")
class PixelAccuracyFromProbabilities(_ConfusionMatrixMetric):
    """Fraction of the scored (non-void) pixels whose argmax class equals the label."""

    def __init__(
        self,
        num_classes: int,
        void_label: int | None = None,
        name: str = PIXEL_ACCURACY,
        dtype: Any = None,
    ) -> None:
        super().__init__(num_classes, void_label, name=name, dtype=dtype)

    def result(self) -> tf.Tensor:
        correct = tf.reduce_sum(tf.linalg.diag_part(self.confusion))
        return tf.cast(tf.math.divide_no_nan(correct, tf.reduce_sum(self.confusion)), self.dtype)


def segmentation_metrics(
    class_names: Sequence[str], void_label: int | None = None
) -> list[keras.metrics.Metric]:
    """Mean IoU, the IoU of every scored class (`class_iou_names`) and pixel accuracy: the set
    used in training, for the dataset spec's classes in label order."""
    num_classes = len(class_names)
    return [
        MeanIoUFromProbabilities(num_classes, void_label),
        *(
            ClassIoUFromProbabilities(index, num_classes, void_label, name=name)
            for index, name in enumerate(class_iou_names(class_names))
            if index != void_label
        ),
        PixelAccuracyFromProbabilities(num_classes, void_label),
    ]


CUSTOM_OBJECTS = {
    cls.__name__: cls
    for cls in (MeanIoUFromProbabilities, ClassIoUFromProbabilities, PixelAccuracyFromProbabilities)
}
