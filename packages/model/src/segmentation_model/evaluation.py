"""How TFMA evaluates this model: the model spec and the metric configs, built in one place.

The pipeline's Evaluator and this package's tests use the same functions, so the signature
names, the label key and the metrics' module path and class names are never retyped.

TFMA scores serialized raw records through the `from_examples` signature and gets the label
`label_xf` from the same records through `transform_features`, so evaluation sees exactly what
training saw. The metrics are the model's confusion-matrix Keras metrics, built by TFMA from
their module path; TFMA names a metric after its class unless the config sets `name`, so every
config sets it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import tensorflow_model_analysis as tfma

from segmentation_model import metrics, signatures, transform

EVAL_SIGNATURE = signatures.FROM_EXAMPLES_SIGNATURE
PREPROCESSING_SIGNATURE = signatures.TRANSFORM_FEATURES_SIGNATURE
LABEL_KEY = transform.LABEL_KEY


def model_spec() -> tfma.ModelSpec:
    """The SavedModel as TFMA must call it.

    The model type is declared, not detected: detection loads the whole model as Keras first,
    which costs a second model load per evaluation.
    """
    return tfma.ModelSpec(
        signature_name=EVAL_SIGNATURE,
        preprocessing_function_names=[PREPROCESSING_SIGNATURE],
        label_key=LABEL_KEY,
        model_type=tfma.TF_GENERIC,
    )


def _config(
    metric_class: type,
    name: str,
    thresholds: Mapping[str, tfma.MetricThreshold],
    **arguments: object,
) -> tfma.MetricConfig:
    config = tfma.MetricConfig(
        class_name=metric_class.__name__,
        module=metrics.__name__,
        config=json.dumps({**arguments, "name": name}),
    )
    if name in thresholds:
        config.threshold.CopyFrom(thresholds[name])
    return config


def metric_configs(
    class_names: Sequence[str],
    void_label: int | None = None,
    thresholds: Mapping[str, tfma.MetricThreshold] | None = None,
    *,
    per_class_iou: bool = False,
) -> list[tfma.MetricConfig]:
    """Mean IoU and pixel accuracy (plus each scored class's IoU if asked) for the dataset
    spec's classes in label order, void pixels left out; thresholds by metric name.

    `thresholds` keys are metric names (`metrics.MEAN_IOU`, `metrics.PIXEL_ACCURACY`,
    `metrics.class_iou_names(class_names)[i]`); a key that names no built metric is an error,
    so a typo cannot silently drop a blessing gate.
    """
    thresholds = dict(thresholds or {})
    classes = {"num_classes": len(class_names), "void_label": void_label}
    configs = [
        _config(metrics.MeanIoUFromProbabilities, metrics.MEAN_IOU, thresholds, **classes),
        _config(
            metrics.PixelAccuracyFromProbabilities, metrics.PIXEL_ACCURACY, thresholds, **classes
        ),
    ]
    if per_class_iou:
        configs.extend(
            _config(
                metrics.ClassIoUFromProbabilities, name, thresholds, class_index=index, **classes
            )
            for index, name in enumerate(metrics.class_iou_names(class_names))
            if index != void_label
        )
    built = [json.loads(config.config)["name"] for config in configs]
    unknown = sorted(set(thresholds) - set(built))
    if unknown:
        raise ValueError(f"thresholds for metrics that are not computed: {unknown}; built {built}")
    return configs
