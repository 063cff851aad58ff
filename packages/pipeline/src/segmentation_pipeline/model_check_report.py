"""The model check's verdict and report: base vs head metrics as Markdown, predictions side by side.

Plain data in, text and a PNG out, so the report can be tested on recorded metrics without
training anything.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

# Exit codes of `segmentation_pipeline.model_check` (and what the CI job fails on).
PASSED = 0
REGRESSED = 1
HEAD_FAILED = 2


@dataclass(frozen=True)
class Verdict:
    exit_code: int
    message: str


def verdict(base: dict | None, head: dict | None, tolerance: float) -> Verdict:
    """Fails when the head did not train, or its mean IoU is below the base's by > tolerance."""
    if head is None or "error" in head:
        reason = (head or {}).get("error", "no metrics")
        return Verdict(HEAD_FAILED, f"FAIL: the head did not produce a model ({reason})")
    if base is None or "error" in base:
        reason = (base or {}).get("error", "no metrics")
        return Verdict(PASSED, f"PASS: the base did not produce a model ({reason}); head measured")
    drop = base["mean_iou"] - head["mean_iou"]
    if drop > tolerance:
        return Verdict(
            REGRESSED,
            f"FAIL: head mean IoU {head['mean_iou']:.4f} is {drop:.4f} below the base's "
            f"{base['mean_iou']:.4f} (tolerance {tolerance:.4f})",
        )
    return Verdict(
        PASSED,
        f"PASS: head mean IoU {head['mean_iou']:.4f}, base {base['mean_iou']:.4f} "
        f"(tolerance {tolerance:.4f})",
    )


def _rows(base: dict, head: dict) -> list[tuple[str, float | None, float | None, int]]:
    """(label, base value, head value, decimals) for every figure either side has."""
    rows = [
        ("mean IoU", base.get("mean_iou"), head.get("mean_iou"), 4),
        ("pixel accuracy", base.get("pixel_accuracy"), head.get("pixel_accuracy"), 4),
    ]
    classes = list(base.get("class_iou", {}))
    classes += [name for name in head.get("class_iou", {}) if name not in classes]
    for name in classes:
        rows.append(
            (
                f"IoU {name}",
                base.get("class_iou", {}).get(name),
                head.get("class_iou", {}).get(name),
                4,
            )
        )
    rows.append(
        ("training time (s)", base.get("training_seconds"), head.get("training_seconds"), 1)
    )
    mib = 1024 * 1024
    rows.append(
        (
            "SavedModel size (MiB)",
            base.get("saved_model_bytes", math.nan) / mib if "saved_model_bytes" in base else None,
            head.get("saved_model_bytes", math.nan) / mib if "saved_model_bytes" in head else None,
            2,
        )
    )
    return rows


def _cell(value: float | None, decimals: int, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"


def markdown(
    base: dict | None,
    head: dict | None,
    result: Verdict,
    base_label: str,
    head_label: str,
    picture: str | None,
) -> str:
    """The report a reviewer reads in the pull request's job summary."""
    base, head = base or {}, head or {}
    lines = [
        f"## Model check: head `{head_label}` vs base `{base_label}`",
        "",
        f"**{result.message}**",
        "",
        "| metric | base | head | delta |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, before, after, decimals in _rows(base, head):
        delta = after - before if before is not None and after is not None else None
        lines.append(
            f"| {label} | {_cell(before, decimals)} | {_cell(after, decimals)} "
            f"| {_cell(delta, decimals, signed=True)} |"
        )
    for side, metrics in (("base", base), ("head", head)):
        if "error" in metrics:
            lines += ["", f"{side} failed:", "", "```", metrics["error"][-2000:], "```"]
    settings = head.get("settings") or base.get("settings")
    if settings:
        shown = ", ".join(f"{key}={value}" for key, value in sorted(settings.items()))
        lines += ["", f"Settings (both sides): {shown}."]
    if picture:
        lines += [
            "",
            f"Predictions on the same eval images, base left, head right: `{picture}`",
        ]
    return "\n".join(lines) + "\n"


def side_by_side(base_png: str | None, head_png: str | None, output: str) -> str | None:
    """One PNG: the base's predictions picture left, the head's right, titled."""
    from PIL import Image, ImageDraw

    panels = [
        (title, Image.open(path).convert("RGB"))
        for title, path in (("base", base_png), ("head", head_png))
        if path and os.path.exists(path)
    ]
    if not panels:
        return None
    gap, title_height = 8, 16
    width = sum(image.width for _, image in panels) + gap * (len(panels) - 1)
    height = max(image.height for _, image in panels) + title_height
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    left = 0
    for title, image in panels:
        canvas.paste(image, (left, title_height))
        draw.text((left + 4, 2), title, fill="black")
        left += image.width + gap
    canvas.save(output)
    return output
