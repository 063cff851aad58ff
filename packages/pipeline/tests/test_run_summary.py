"""The run summary's per-class IoU line: every class, in label order, per model role."""

from __future__ import annotations

from segmentation_data_prep.presets import OXFORD_PET, SIDEWALK
from segmentation_model import metrics
from segmentation_pipeline.run_summary import class_iou_line


def test_every_class_iou_is_on_one_line_in_label_order():
    names = OXFORD_PET.class_names
    values = [f"0.{index}{index}00" for index in range(len(names))]
    metric_names = metrics.class_iou_names(names)
    results = {f"{metric} [candidate]": value for metric, value in zip(metric_names, values)}
    results["mean_iou [candidate]"] = "0.5000"
    results[f"{metric_names[0]} [baseline]"] = "0.9900"
    expected = " | ".join(f"{name} {value}" for name, value in zip(names, values))
    assert class_iou_line(results, "candidate", names) == expected
    assert class_iou_line(results, "baseline", names) == f"{names[0]} 0.9900"
    assert class_iou_line({}, "candidate", names) == ""


def test_the_line_shows_the_spec_names_of_sanitized_metrics_and_no_void():
    results = {"iou_flat_road [candidate]": "0.7000", "iou_sky [candidate]": "0.9000"}
    assert class_iou_line(results, "candidate", SIDEWALK.class_names) == (
        "flat-road 0.7000 | sky 0.9000"
    )
