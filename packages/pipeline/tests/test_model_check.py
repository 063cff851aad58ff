"""The model check end to end: two commits that differ in a hyperparameter show a delta; the
same commit measured twice shows exactly none (deterministic training)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
CONFIG = Path("packages/pipeline/src/segmentation_pipeline/config.py")
# The default learning rate's line, whatever its value: each commit below sets its own.
LEARNING_RATE = re.compile(r"(learning_rate: float = _setting\()([^,]+)(,)")


def with_learning_rate(source: str, value: str) -> str:
    changed, count = LEARNING_RATE.subn(rf"\g<1>{value}\g<3>", source, count=1)
    assert count == 1, "the learning_rate default moved: update this test"
    return changed


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def two_commits(tmp_path_factory) -> tuple[Path, str, str]:
    """A repository holding this tree's packages (c1) and c1 with learning rate 1e-2 (c2)."""
    repo = tmp_path_factory.mktemp("repo")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache")
    shutil.copytree(REPO / "packages", repo / "packages", ignore=ignore)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    identity = ("-c", "user.name=check", "-c", "user.email=check@example.com")
    git(repo, *identity, "commit", "-qm", "c1")
    first = git(repo, "rev-parse", "HEAD")
    source = (repo / CONFIG).read_text()
    (repo / CONFIG).write_text(with_learning_rate(source, "1e-2"))
    git(repo, *identity, "commit", "-qam", "c2: learning rate 1e-2")
    return repo, first, git(repo, "rev-parse", "HEAD")


def model_check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "segmentation_pipeline.model_check", *args],
        capture_output=True,
        text=True,
        timeout=1800,
    )


@pytest.fixture(scope="module")
def hyperparameter_change(two_commits, tmp_path_factory):
    repo, first, second = two_commits
    output = tmp_path_factory.mktemp("check") / "out"
    result = model_check("--repo", str(repo), "--base", first, "--head", second,
                         "--output", str(output), "--tolerance", "0.99")  # fmt: skip
    return result, output


def test_a_changed_hyperparameter_shows_its_delta(hyperparameter_change):
    result, output = hyperparameter_change
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    base = json.loads((output / "base" / "metrics.json").read_text())
    head = json.loads((output / "head" / "metrics.json").read_text())
    assert base["mean_iou"] != head["mean_iou"]
    delta = head["mean_iou"] - base["mean_iou"]
    report = (output / "report.md").read_text()
    row = f"| mean IoU | {base['mean_iou']:.4f} | {head['mean_iou']:.4f} | {delta:+.4f} |"
    assert row in report.splitlines()
    assert (output / "side_by_side.png").stat().st_size > 0


def test_the_same_commit_twice_gives_exactly_zero(two_commits, hyperparameter_change, tmp_path):
    repo, first, _ = two_commits
    _, earlier = hyperparameter_change
    result = model_check("--repo", str(repo), "--head", first, "--base-metrics",
                         str(earlier / "base" / "metrics.json"), "--output", str(tmp_path / "o"),
                         "--tolerance", "0")  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    before = json.loads((earlier / "base" / "metrics.json").read_text())
    again = json.loads((tmp_path / "o" / "head" / "metrics.json").read_text())
    for key in ("mean_iou", "pixel_accuracy", "class_iou"):  # sizes may embed run paths
        assert again[key] == before[key], key
    report = (tmp_path / "o" / "report.md").read_text()
    assert "| mean IoU |" in report and "| +0.0000 |" in report


def test_a_head_that_cannot_train_fails_the_check(two_commits, hyperparameter_change, tmp_path):
    repo, first, _ = two_commits
    _, earlier = hyperparameter_change
    broken = tmp_path / "broken"
    git(repo, "worktree", "add", "-q", "--detach", str(broken), first)
    (broken / CONFIG).write_text(with_learning_rate((broken / CONFIG).read_text(), "-1"))
    identity = ("-c", "user.name=check", "-c", "user.email=check@example.com")
    git(broken, *identity, "commit", "-qam", "c3: invalid learning rate")
    result = model_check("--repo", str(repo), "--head", git(broken, "rev-parse", "HEAD"),
                         "--base-metrics", str(earlier / "base" / "metrics.json"),
                         "--output", str(tmp_path / "o"))  # fmt: skip
    assert result.returncode == 2, result.stdout[-3000:]
    assert "FAIL: the head did not produce a model" in result.stdout
    assert "learning_rate" in (tmp_path / "o" / "report.md").read_text()


def test_an_unknown_ref_is_a_clear_error(two_commits, tmp_path):
    repo, first, _ = two_commits
    result = model_check("--repo", str(repo), "--head", "no-such-ref", "--base", first,
                         "--output", str(tmp_path / "o"))  # fmt: skip
    assert result.returncode == 2
    assert "Cannot export 'no-such-ref'" in result.stderr
    assert "Traceback" not in result.stderr
