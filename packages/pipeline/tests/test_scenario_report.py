"""The drift scenario's report (issue 15 item 7): Markdown tables and the PNG charts."""

from __future__ import annotations

import numpy as np
from PIL import Image
from segmentation_pipeline.drift import DriftResult, FeatureDrift
from segmentation_pipeline.scenario_report import ScenarioResults, write_report

NAMES = ("pet", "background", "border")
COLORS = ((230, 25, 75), (67, 99, 216), (255, 225, 25))


def results() -> ScenarioResults:
    drift = DriftResult(
        "train_train",
        (FeatureDrift("brightness", 0.93, 0.25), FeatureDrift("aspect_ratio", 0.04, 0.25)),
    )
    return ScenarioResults(
        shift="dark:1",
        class_names=NAMES,
        colors=COLORS,
        drift=drift,
        v1_version="1700000001",
        v2_version="1700000002",
        v1_span1={"mean": 0.7, "pet": 0.6, "background": 0.8, "border": 0.7},
        v1_span2={"mean": 0.4, "pet": 0.3, "background": 0.5, "border": float("nan")},
        v2_span2={"mean": 0.65, "pet": 0.6, "background": 0.7, "border": 0.65},
        v1_at_blessing=0.71,
        monitor_alert=True,
        max_drop=0.05,
        trained_spans=(1, 2),
        wall_seconds=321.4,
    )


def test_report_tables_and_pictures(tmp_path):
    image = np.zeros((8, 8, 3), np.uint8)
    mask = np.zeros((8, 8), np.uint8)
    mask[:, 4:] = 2
    predictions = ([image], [mask], [np.zeros_like(mask)], [mask])
    paths = write_report(results(), predictions, str(tmp_path))
    with open(paths["report"]) as handle:
        text = handle.read()
    assert "# Drift scenario: `dark:1`" in text
    assert "Drifted features: **brightness**." in text
    assert "| brightness | 0.9300 | 0.25 | yes |" in text
    assert "| aspect_ratio | 0.0400 | 0.25 |  |" in text
    assert "| mean | 0.7000 | 0.4000 | 0.6500 |" in text
    assert "| border | 0.7000 | n/a | 0.6500 |" in text
    assert "ALERT: drop over 0.05" in text and "v1 drops by 0.3000" in text
    assert "retrained on spans 1, 2 (model 1700000002)" in text
    for name in ("drift", "metrics", "class_iou", "predictions"):
        with Image.open(paths[name]) as picture:
            assert picture.format == "PNG" and picture.width > 0
        assert f"({name}.png)" in text
    with Image.open(paths["predictions"]) as picture:
        pixels = np.asarray(picture.convert("RGB"))
    # row of 4 panels, 8 px each, under a 16 px title band: v2's panel paints class 2's colour
    assert tuple(pixels[16 + 4, 3 * 8 + 6]) == COLORS[2]
    assert tuple(pixels[16 + 4, 2 * 8 + 6]) == COLORS[0]  # v1 predicted class 0 everywhere
