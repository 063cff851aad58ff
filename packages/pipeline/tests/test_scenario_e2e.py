"""`./dev.sh main --scenario drift`, small (issue 15 item 7): the story and its report."""

from __future__ import annotations

import os

import pytest
from segmentation_pipeline.config import PipelineConfig

pytestmark = pytest.mark.slow


def test_drift_scenario_tells_the_story_and_writes_its_report(tmp_path, capsys):
    from segmentation_pipeline.scenario import run_drift_scenario

    config = PipelineConfig(
        local_dir=str(tmp_path),
        train_steps=16,
        epochs=1,
        eval_steps=1,
        batch_size=8,
        min_mean_iou=0.0,
        min_pixel_accuracy=0.0,
        hf_token_env_var="SEGPIPE_TEST_SCENARIO_TOKEN",
    )
    saved = dict(os.environ)
    try:
        paths = run_drift_scenario(config, num_images=40, seed=0, shift_text="dark")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    printed = capsys.readouterr().out
    for name in ("report", "drift", "metrics", "class_iou", "predictions"):
        assert os.path.isfile(paths[name]) and f"{name}: {paths[name]}" in printed
    with open(paths["report"]) as handle:
        report = handle.read()
    assert "# Drift scenario: `dark:1`" in report
    assert "| brightness |" in report and "Drifted features: **" in report
    assert "retrained on spans 1, 2" in report
    assert "Monitor: v1's mean IoU at blessing" in report
    assert "Scenario done in" in printed
