"""Monitoring the deployed model (issue 15 item 6): then / now / drop, and the exit code."""

from __future__ import annotations

import json
import math

import pytest
from segmentation_pipeline import monitor
from segmentation_pipeline.monitor import MonitorResult, format_result


def result(then_mean: float, now_mean: float, max_drop: float = 0.05) -> MonitorResult:
    return MonitorResult(
        model_dir="/serving/1700000000",
        model_version="1700000000",
        model_source="pipeline run 2026-12-04T01:00:00",
        data_dir="/data/span-2",
        span=2,
        class_names=("pet", "background", "border"),
        then={"mean": then_mean, "pet": 0.8, "background": 0.9},
        now={"mean": now_mean, "pet": 0.5, "background": 0.92},
        examples=16,
        max_drop=max_drop,
    )


def test_drop_is_then_minus_now_and_only_a_mean_drop_over_the_threshold_alerts():
    dropped = result(0.7, 0.6)
    assert dropped.drop == pytest.approx({"mean": 0.1, "pet": 0.3, "background": -0.02})
    assert dropped.alert
    assert not result(0.7, 0.66).alert  # 0.04 <= 0.05
    assert not result(0.7, 0.75).alert  # better is never an alert
    text = format_result(dropped)
    assert "pet" in text and "+0.3000" in text and "-0.0200" in text
    assert "ALERT: mean IoU dropped by 0.1000 > 0.05" in text
    data = dropped.as_dict()
    assert data["alert"] is True and data["span"] == 2
    assert data["iou"]["pet"] == pytest.approx({"then": 0.8, "now": 0.5, "drop": 0.3})


def test_nothing_deployed_is_a_clear_error_exit_2(tmp_path, capsys):
    code = monitor.main(["--local-dir", str(tmp_path)])
    assert code == monitor.EXIT_CANNOT_RUN
    error = capsys.readouterr().err
    assert "cannot monitor" in error and "metadata.sqlite" in error


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--span", "0"], "--span must be >= 1"),
        (["--monitor-max-iou-drop", "2"], "monitor_max_iou_drop"),
    ],
)
def test_bad_flags_are_usage_errors(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        monitor.main(flags)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_result_json_has_no_nan_for_classes_measured_both_times():
    data = json.loads(json.dumps(result(0.7, 0.6).as_dict()))
    assert all(not math.isnan(v) for entry in data["iou"].values() for v in entry.values())
