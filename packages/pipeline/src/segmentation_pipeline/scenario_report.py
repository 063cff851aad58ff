"""The drift scenario's report: Markdown and the pictures people would rather see than read.

Plain data in (`ScenarioResults`), files out: `report.md`, `drift.png` (each drift feature's
Jensen-Shannon distance against the threshold), `metrics.png` (mean IoU of v1 on span 1 and on
the shifted span 2, of v2 on span 2), `class_iou.png` (per-class IoU of v1 and v2 on span 2)
and `predictions.png` (span 2 eval images: truth, v1, v2 side by side).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from segmentation_pipeline.drift import DriftResult


@dataclass(frozen=True)
class ScenarioResults:
    shift: str  # e.g. "dark:1"
    class_names: tuple[str, ...]
    colors: tuple[tuple[int, int, int], ...]
    drift: DriftResult
    v1_version: str
    v2_version: str | None  # None: the retrained model was not blessed
    v1_span1: dict[str, float]  # "mean" and class name -> IoU
    v1_span2: dict[str, float]
    v2_span2: dict[str, float]
    v1_at_blessing: float  # mean IoU the Evaluator recorded for v1
    monitor_alert: bool
    max_drop: float
    trained_spans: tuple[int, ...]
    wall_seconds: float
    notes: list[str] = field(default_factory=list)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, figure, path: str) -> str:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def drift_chart(drift: DriftResult, path: str) -> str:
    plt = _plt()
    names = [f.feature for f in drift.features]
    distances = [f.distance for f in drift.features]
    colors = ["#d62728" if f.drifted else "#1f77b4" for f in drift.features]
    figure, axes = plt.subplots(figsize=(7, 3.5))
    axes.barh(names, distances, color=colors)
    if drift.features:
        axes.axvline(drift.features[0].threshold, color="black", linestyle="--", label="threshold")
        axes.legend(loc="lower right")
    axes.set_xlim(0, 1)
    axes.invert_yaxis()
    axes.set_xlabel("Jensen-Shannon divergence, span 2 vs span 1 (red: drift)")
    return _save(plt, figure, path)


def metrics_chart(results: ScenarioResults, path: str) -> str:
    plt = _plt()
    labels = ["v1 on span 1", "v1 on span 2", "v2 on span 2"]
    values = [results.v1_span1["mean"], results.v1_span2["mean"], results.v2_span2["mean"]]
    figure, axes = plt.subplots(figsize=(5, 3.5))
    bars = axes.bar(labels, values, color=["#1f77b4", "#d62728", "#2ca02c"])
    for bar, value in zip(bars, values):
        axes.annotate(f"{value:.3f}", (bar.get_x() + bar.get_width() / 2, value), ha="center")
    axes.set_ylim(0, 1)
    axes.set_ylabel("mean IoU (eval split)")
    axes.set_title(f"before and after retraining ({results.shift})")
    return _save(plt, figure, path)


def class_iou_chart(results: ScenarioResults, path: str) -> str:
    plt = _plt()
    names = [name for name in results.class_names if name in results.v1_span2]
    positions = range(len(names))
    figure, axes = plt.subplots(figsize=(max(5, 0.6 * len(names) + 2), 3.5))
    width = 0.4
    axes.bar([p - width / 2 for p in positions], [results.v1_span2[n] for n in names], width,
             label="v1", color="#d62728")  # fmt: skip
    axes.bar([p + width / 2 for p in positions], [results.v2_span2[n] for n in names], width,
             label="v2", color="#2ca02c")  # fmt: skip
    axes.set_xticks(list(positions), names, rotation=30 if len(names) > 6 else 0)
    axes.set_ylim(0, 1)
    axes.set_ylabel("IoU on span 2 (eval)")
    axes.legend()
    return _save(plt, figure, path)


def predictions_chart(
    images: Sequence, truths: Sequence, v1: Sequence, v2: Sequence, colors, path: str
) -> str:
    """Rows of image | true mask | v1's mask | v2's mask, with column titles."""
    import numpy as np
    from PIL import Image, ImageDraw

    palette = np.array(colors, dtype=np.uint8)

    def paint(mask):
        return palette[np.clip(mask, 0, len(palette) - 1)]

    rows = [
        np.concatenate([image, paint(truth), paint(first), paint(second)], axis=1)
        for image, truth, first, second in zip(images, truths, v1, v2)
    ]
    grid = Image.fromarray(np.concatenate(rows, axis=0))
    canvas = Image.new("RGB", (grid.width, grid.height + 16), "white")
    canvas.paste(grid, (0, 16))
    draw = ImageDraw.Draw(canvas)
    for column, title in enumerate(("span 2 image", "true mask", "v1", "v2")):
        draw.text((column * (grid.width // 4) + 4, 2), title, fill="black")
    canvas.save(path)
    return path


def _row(name: str, values: Sequence[float]) -> str:
    shown = [("n/a" if math.isnan(v) else f"{v:.4f}") for v in values]
    return f"| {name} | " + " | ".join(shown) + " |"


def markdown(results: ScenarioResults, pictures: dict[str, str]) -> str:
    drift = results.drift
    drifted = ", ".join(f.feature for f in drift.drifted) or "none"
    drop = results.v1_span1["mean"] - results.v1_span2["mean"]
    lines = [
        f"# Drift scenario: `{results.shift}`",
        "",
        f"Wall time {results.wall_seconds:.0f} s. v1 = model {results.v1_version}, trained on "
        f"span 1; span 2 drawn with the shift; v2 = retrained on spans "
        f"{', '.join(map(str, results.trained_spans))} "
        + (f"(model {results.v2_version})." if results.v2_version else "(not blessed)."),
        "",
        "## Drift (span 2 vs span 1, train split)",
        "",
        f"Drifted features: **{drifted}**.",
        "",
        "| feature | JS divergence | threshold | drift |",
        "| --- | --- | --- | --- |",
        *[
            f"| {f.feature} | {f.distance:.4f} | {f.threshold:g} | {'yes' if f.drifted else ''} |"
            for f in drift.features
        ],
        "",
        f"![drift]({os.path.basename(pictures['drift'])})",
        "",
        "## The deployed model on the new span, and the retrained one",
        "",
        f"Monitor: v1's mean IoU at blessing {results.v1_at_blessing:.4f}, on span 2 "
        f"{results.v1_span2['mean']:.4f} "
        + (
            f"(ALERT: drop over {results.max_drop})"
            if results.monitor_alert
            else f"(within {results.max_drop})"
        )
        + f". Scored alike (serving signature, eval split): v1 drops by {drop:.4f} from span 1 "
        "to span 2.",
        "",
        "| IoU | v1 on span 1 | v1 on span 2 | v2 on span 2 |",
        "| --- | --- | --- | --- |",
        *[
            _row(name, (results.v1_span1[name], results.v1_span2[name], results.v2_span2[name]))
            for name in results.v1_span2
        ],
        "",
        f"![metrics]({os.path.basename(pictures['metrics'])})",
        f"![per-class IoU]({os.path.basename(pictures['class_iou'])})",
        "",
        "## Predictions on span 2",
        "",
        f"![predictions]({os.path.basename(pictures['predictions'])})",
    ]
    if results.notes:
        lines += ["", "## Notes", "", *[f"- {note}" for note in results.notes]]
    return "\n".join(lines) + "\n"


def write_report(results: ScenarioResults, predictions: tuple, out_dir: str) -> dict[str, str]:
    """All files into `out_dir`; returns {name: path}. `predictions` = (images, truths, v1, v2)."""
    os.makedirs(out_dir, exist_ok=True)
    pictures = {
        "drift": drift_chart(results.drift, os.path.join(out_dir, "drift.png")),
        "metrics": metrics_chart(results, os.path.join(out_dir, "metrics.png")),
        "class_iou": class_iou_chart(results, os.path.join(out_dir, "class_iou.png")),
        "predictions": predictions_chart(
            *predictions, results.colors, os.path.join(out_dir, "predictions.png")
        ),
    }
    report = os.path.join(out_dir, "report.md")
    with open(report, "w") as handle:
        handle.write(markdown(results, pictures))
    return {"report": report, **pictures}
