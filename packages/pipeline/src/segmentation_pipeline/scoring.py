"""Scores an exported serving model on data_prep eval shards: confusion matrix -> IoU, accuracy.

Independent of TFMA and of the Trainer's metrics on purpose: it calls the model exactly as a
client does (`serving_default` on encoded images) and counts pixels, so the model check and the
monitoring of a deployed model compare models on the same footing whatever built them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scores:
    """Pixel counts and the metrics derived from them (classes absent everywhere: IoU nan).

    The void class has no IoU (nan), even where the model predicts it: its labelled pixels are
    never scored, so counting it would lower the mean by a class nobody can be right about. The
    Keras and TFMA metrics (`segmentation_model.metrics`) leave it out the same way.
    """

    class_names: tuple[str, ...]
    confusion: np.ndarray  # [true, predicted] pixel counts, void pixels excluded
    examples: int
    void_label: int | None = None

    @property
    def class_iou(self) -> dict[str, float]:
        true_positive = np.diag(self.confusion).astype(np.float64)
        union = self.confusion.sum(0) + self.confusion.sum(1) - true_positive
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = np.where(union > 0, true_positive / union, np.nan)
        if self.void_label is not None:
            iou[self.void_label] = np.nan
        return dict(zip(self.class_names, iou.tolist()))

    @property
    def mean_iou(self) -> float:
        values = [value for value in self.class_iou.values() if not np.isnan(value)]
        return float(np.mean(values)) if values else float("nan")

    @property
    def pixel_accuracy(self) -> float:
        total = self.confusion.sum()
        return float(np.trace(self.confusion) / total) if total else float("nan")

    def as_dict(self) -> dict:
        return {
            "examples": self.examples,
            "mean_iou": self.mean_iou,
            "pixel_accuracy": self.pixel_accuracy,
            "class_iou": self.class_iou,
        }


def confusion_matrix(
    true: np.ndarray, predicted: np.ndarray, num_classes: int, void_label: int | None = None
) -> np.ndarray:
    """[num_classes, num_classes] counts of (true, predicted) pixel pairs, void pixels skipped."""
    true, predicted = true.ravel().astype(np.int64), predicted.ravel().astype(np.int64)
    keep = (true >= 0) & (true < num_classes)
    if void_label is not None:
        keep &= true != void_label
    predicted = np.clip(predicted[keep], 0, num_classes - 1)
    counts = np.bincount(true[keep] * num_classes + predicted, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes)


def eval_shards(data_dir: str) -> list[str]:
    """The eval split's shards of a data_prep output (local or gs://)."""
    import tensorflow as tf

    files = sorted(tf.io.gfile.glob(os.path.join(data_dir, "eval", "*")))
    if not files:
        raise FileNotFoundError(f"No eval shards under {os.path.join(data_dir, 'eval')}")
    return files


def eval_records(data_dir: str, limit: int | None = None) -> Iterator:
    """The decoded eval records of a data_prep output (the first `limit`, or all)."""
    import tensorflow as tf
    from segmentation_data_prep import record_format

    dataset = tf.data.TFRecordDataset(eval_shards(data_dir))
    for raw in dataset.take(limit or -1).as_numpy_iterator():
        yield record_format.decode_example(bytes(raw))


def mask_predictor(model_dir: str) -> Callable[[np.ndarray], np.ndarray]:
    """The exported model as a client calls it: an image, sent PNG-encoded to the serving
    signature, -> its uint8 class mask at the image's size."""
    import tensorflow as tf
    from segmentation_data_prep import record_format
    from segmentation_model import signatures

    serve = tf.saved_model.load(model_dir).signatures[signatures.SERVING_SIGNATURE]

    def predict(image: np.ndarray) -> np.ndarray:
        encoded = tf.constant([record_format.encode_png(image)])
        outputs = serve(**{signatures.SERVING_INPUT_KEY: encoded})
        return outputs[signatures.MASK_OUTPUT_KEY][0].numpy().astype(np.uint8)

    return predict


def score_serving_model(
    model_dir: str,
    data_dir: str,
    class_names: Sequence[str],
    void_label: int | None = None,
    limit: int | None = None,
) -> Scores:
    """Runs the serving signature on every eval record of `data_dir` (or the first `limit`)."""
    return score_predictor(mask_predictor(model_dir), data_dir, class_names, void_label, limit)


def score_predictor(
    predict: Callable[[np.ndarray], np.ndarray],
    data_dir: str,
    class_names: Sequence[str],
    void_label: int | None = None,
    limit: int | None = None,
) -> Scores:
    """Scores a `mask_predictor` already loaded (a model scored on several data sets is loaded
    once) on every eval record of `data_dir` (or the first `limit`)."""
    confusion = np.zeros((len(class_names),) * 2, dtype=np.int64)
    examples = 0
    for record in eval_records(data_dir, limit):
        predicted = predict(record.image)
        confusion += confusion_matrix(record.mask, predicted, len(class_names), void_label)
        examples += 1
    return Scores(tuple(class_names), confusion, examples, void_label)
