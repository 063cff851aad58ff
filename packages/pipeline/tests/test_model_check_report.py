"""The model check's verdict, Markdown report and side-by-side picture, on recorded metrics."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from segmentation_pipeline import model_check_report as report

BASE = {
    "mean_iou": 0.60,
    "pixel_accuracy": 0.90,
    "class_iou": {"pet": 0.70, "background": 0.95, "border": 0.15},
    "training_seconds": 30.0,
    "saved_model_bytes": 3 * 1024 * 1024,
}


def head_with(**changes) -> dict:
    return {**BASE, **changes}


@pytest.mark.parametrize(
    ("head_iou", "exit_code"),
    [(0.60, report.PASSED), (0.585, report.PASSED), (0.57, report.REGRESSED), (0.7, report.PASSED)],
)
def test_verdict_uses_the_tolerance(head_iou, exit_code):
    assert report.verdict(BASE, head_with(mean_iou=head_iou), 0.02).exit_code == exit_code


def test_a_head_that_did_not_train_fails():
    result = report.verdict(BASE, {"error": "exit code 1; log ..."}, 0.02)
    assert result.exit_code == report.HEAD_FAILED
    assert "did not produce a model" in result.message


def test_a_broken_base_does_not_block_the_head():
    assert report.verdict({"error": "boom"}, BASE, 0.02).exit_code == report.PASSED


def test_markdown_has_every_figure_with_its_delta():
    head = head_with(mean_iou=0.65, class_iou={"pet": 0.72, "background": 0.95, "border": 0.28})
    text = report.markdown(BASE, head, report.verdict(BASE, head, 0.02), "abc", "def", "s.png")
    lines = text.splitlines()
    assert "| mean IoU | 0.6000 | 0.6500 | +0.0500 |" in lines
    assert "| IoU border | 0.1500 | 0.2800 | +0.1300 |" in lines
    assert "| IoU background | 0.9500 | 0.9500 | +0.0000 |" in lines
    assert "| SavedModel size (MiB) | 3.00 | 3.00 | +0.00 |" in lines
    assert "| training time (s) | 30.0 | 30.0 | +0.0 |" in lines
    assert "head `def` vs base `abc`" in text
    assert "s.png" in text


def test_markdown_shows_a_failed_side_log():
    head = {"error": "exit code 1; log x:\nValueError: learning_rate must be > 0"}
    text = report.markdown(BASE, head, report.verdict(BASE, head, 0.02), "a", "b", None)
    assert "learning_rate must be > 0" in text
    assert "| mean IoU | 0.6000 | n/a | n/a |" in text.splitlines()


def test_side_by_side_puts_base_left_and_head_right(tmp_path):
    red = np.zeros((20, 30, 3), np.uint8)
    red[..., 0] = 255
    blue = np.zeros((20, 30, 3), np.uint8)
    blue[..., 2] = 255
    Image.fromarray(red).save(tmp_path / "base.png")
    Image.fromarray(blue).save(tmp_path / "head.png")
    out = report.side_by_side(
        str(tmp_path / "base.png"), str(tmp_path / "head.png"), str(tmp_path / "both.png")
    )
    picture = np.asarray(Image.open(out))
    assert picture.shape[1] == 30 + 8 + 30
    assert tuple(picture[-1, 0]) == (255, 0, 0)
    assert tuple(picture[-1, -1]) == (0, 0, 255)


def test_cli_rejects_bad_arguments_quickly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "segmentation_pipeline.model_check", "--base", "main",
         "--tolerance", "2", "--repo", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--tolerance must be in [0, 1)" in result.stderr
