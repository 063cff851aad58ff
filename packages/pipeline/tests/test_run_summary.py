"""The run summary's per-class IoU line: every class, in label order, per model role."""

from __future__ import annotations

from segmentation_data_prep import record_format
from segmentation_model import metrics
from segmentation_pipeline.run_summary import class_iou_line


def test_every_class_iou_is_on_one_line_in_label_order():
    values = [f"0.{index}{index}00" for index in range(record_format.NUM_CLASSES)]
    results = {
        f"{metrics.class_iou_name(index)} [candidate]": value for index, value in enumerate(values)
    }
    results["mean_iou [candidate]"] = "0.5000"
    results[f"{metrics.class_iou_name(0)} [baseline]"] = "0.9900"
    expected = " | ".join(
        f"{name} {value}" for name, value in zip(record_format.CLASS_NAMES, values)
    )
    assert class_iou_line(results, "candidate") == expected
    assert class_iou_line(results, "baseline") == f"{record_format.CLASS_NAMES[0]} 0.9900"
    assert class_iou_line({}, "candidate") == ""
