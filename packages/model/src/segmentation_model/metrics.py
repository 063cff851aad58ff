"""Segmentation metrics computed from per-class probabilities (or logits).

Keras metrics, so the same classes serve in training (`model.compile(metrics=...)`) and in
TFMA by module path, e.g.
`tfma.MetricConfig(class_name="MeanIoUFromProbabilities", module="segmentation_model.metrics")`.
Every constructor argument has a default, so TFMA can build them without a `config`.

Inputs: `y_true` class ids of any shape (e.g. [B, S, S] or [B, S, S, 1]) and `y_pred`
per-class scores [..., C] with the same number of pixels; the predicted class is the argmax.
All metrics accumulate one confusion matrix in float64 (exact pixel counts well past 2**24).
Keras' own `MeanIoU` would need class ids, not probabilities, so it cannot be used directly.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tf_keras as keras
from segmentation_data_prep import record_format

# Metric names (Keras and TFMA): what the pipeline's thresholds and the model card refer to.
MEAN_IOU = "mean_iou"
PIXEL_ACCURACY = "pixel_accuracy"


def class_iou_name(class_index: int) -> str:
    """`iou_<class name>` of record_format.CLASS_NAMES, e.g. `iou_pet`."""
    return f"iou_{record_format.CLASS_NAMES[class_index]}"


class _ConfusionMatrixMetric(keras.metrics.Metric):
    """Accumulates a [C, C] confusion matrix (rows: true class, columns: predicted class)."""

    def __init__(
        self,
        num_classes: int = record_format.NUM_CLASSES,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self.num_classes = int(num_classes)
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
        batch = tf.math.confusion_matrix(
            labels, predicted, num_classes=self.num_classes, weights=weights, dtype=tf.float64
        )
        return self.confusion.assign_add(batch)

    def reset_state(self) -> None:
        self.confusion.assign(tf.zeros_like(self.confusion))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_classes": self.num_classes}

    def _class_iou(self) -> tf.Tensor:
        true_positives = tf.linalg.diag_part(self.confusion)
        union = (
            tf.reduce_sum(self.confusion, axis=0)
            + tf.reduce_sum(self.confusion, axis=1)
            - true_positives
        )
        return tf.math.divide_no_nan(true_positives, union)

    def _present_classes(self) -> tf.Tensor:
        """Classes seen in labels or predictions: IoU is undefined for the others."""
        return (tf.reduce_sum(self.confusion, axis=0) + tf.reduce_sum(self.confusion, axis=1)) > 0


@keras.saving.register_keras_serializable(package="segmentation_model")
class MeanIoUFromProbabilities(_ConfusionMatrixMetric):
    """Mean intersection-over-union over the classes present in labels or predictions."""

    def __init__(
        self,
        num_classes: int = record_format.NUM_CLASSES,
        name: str = MEAN_IOU,
        dtype: Any = None,
    ) -> None:
        super().__init__(num_classes=num_classes, name=name, dtype=dtype)

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
        class_index: int = 0,
        num_classes: int = record_format.NUM_CLASSES,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if not 0 <= int(class_index) < int(num_classes):
            raise ValueError(f"class_index must be in [0, {num_classes}), got {class_index}")
        if name is None:
            name = (
                class_iou_name(class_index)
                if num_classes == record_format.NUM_CLASSES
                else f"iou_{class_index}"
            )
        super().__init__(num_classes=num_classes, name=name, dtype=dtype)
        self.class_index = int(class_index)

    def result(self) -> tf.Tensor:
        return tf.cast(self._class_iou()[self.class_index], self.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_index": self.class_index}


@keras.saving.register_keras_serializable(package="segmentation_model")
class PixelAccuracyFromProbabilities(_ConfusionMatrixMetric):
    """Fraction of pixels whose argmax class equals the label."""

    def __init__(
        self,
        num_classes: int = record_format.NUM_CLASSES,
        name: str = PIXEL_ACCURACY,
        dtype: Any = None,
    ) -> None:
        super().__init__(num_classes=num_classes, name=name, dtype=dtype)

    def result(self) -> tf.Tensor:
        correct = tf.reduce_sum(tf.linalg.diag_part(self.confusion))
        return tf.cast(tf.math.divide_no_nan(correct, tf.reduce_sum(self.confusion)), self.dtype)


def segmentation_metrics(
    num_classes: int = record_format.NUM_CLASSES,
) -> list[keras.metrics.Metric]:
    """Mean IoU, IoU of every class and pixel accuracy: the set used in training."""
    return [
        MeanIoUFromProbabilities(num_classes),
        *(
            ClassIoUFromProbabilities(class_index, num_classes)
            for class_index in range(num_classes)
        ),
        PixelAccuracyFromProbabilities(num_classes),
    ]


CUSTOM_OBJECTS = {
    cls.__name__: cls
    for cls in (MeanIoUFromProbabilities, ClassIoUFromProbabilities, PixelAccuracyFromProbabilities)
}
