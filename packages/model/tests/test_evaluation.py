"""The TFMA contract the pipeline imports: model spec and metric configs match the model."""

from __future__ import annotations

import importlib
import json

import pytest
import tensorflow_model_analysis as tfma
from segmentation_data_prep.presets import OXFORD_PET, SIDEWALK
from segmentation_model import evaluation


def test_metric_configs_build_the_named_metrics_by_module_path():
    """What TFMA does with each config: import the module, build the class from the config."""
    built = []
    for config in evaluation.metric_configs(OXFORD_PET.class_names, per_class_iou=True):
        metric_class = getattr(importlib.import_module(config.module), config.class_name)
        metric = metric_class(**json.loads(config.config))
        built.append(metric.name)
    assert built == ["mean_iou", "pixel_accuracy", "iou_pet", "iou_background", "iou_border"]


def test_per_class_metrics_of_a_spec_with_void_skip_it_and_have_readable_names():
    configs = evaluation.metric_configs(
        SIDEWALK.class_names, SIDEWALK.void_label, per_class_iou=True
    )
    names = [json.loads(config.config)["name"] for config in configs]
    assert len(names) == 2 + 34  # mean IoU, pixel accuracy, every class but "unlabeled"
    assert "iou_unlabeled" not in names
    assert names[2:5] == ["iou_flat_road", "iou_flat_sidewalk", "iou_flat_crosswalk"]
    for config in configs:
        settings = json.loads(config.config)
        assert (settings["num_classes"], settings["void_label"]) == (35, 0)


def test_thresholds_attach_to_their_metric_by_name():
    gate = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": 0.25})
    )
    configs = {
        json.loads(config.config)["name"]: config
        for config in evaluation.metric_configs(OXFORD_PET.class_names, None, {"mean_iou": gate})
    }
    assert configs["mean_iou"].threshold == gate
    assert not configs["pixel_accuracy"].HasField("threshold")


def test_a_threshold_for_a_metric_not_computed_is_rejected():
    gate = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": 0.5})
    )
    with pytest.raises(ValueError, match=r"not computed: \['mean_IoU'\]"):
        evaluation.metric_configs(OXFORD_PET.class_names, None, {"mean_IoU": gate})


def test_model_spec_names_what_the_exported_model_has(exported_model):
    spec = evaluation.model_spec()
    assert spec.signature_name == "from_examples"
    assert set(spec.preprocessing_function_names) == {"transform_features"}
    preprocessing = exported_model.signatures["transform_features"]
    assert spec.label_key in preprocessing.structured_outputs
    assert spec.signature_name in exported_model.signatures
