"""Pull-request model check: train the base's and the head's model the same way, compare them.

    python -m segmentation_pipeline.model_check --base main [--head REF] [--output DIR]
    python -m segmentation_pipeline.model_check --base-metrics main-metrics.json

Each side is a checkout of the repository (`git archive` of the ref; the working tree for the
head unless --head is given) whose own code runs the whole local pipeline on the same fixed
synthetic dataset with a small deterministic configuration (`measure`, in a subprocess with
that checkout's packages first on PYTHONPATH). The eval split is then scored through the
serving signature (`scoring`). The report (report.md, side_by_side.png, both metrics.json)
goes to --output; the exit code is the verdict's (`model_check_report`): non-zero when the
head does not train or its mean IoU drops by more than --tolerance.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

# The fixed small configuration both sides train with (also recorded in the report).
CHECK_SETTINGS = {
    "num_images": 48,
    "seed": 0,
    "image_size": 64,
    "train_steps": 48,
    "epochs": 2,
    "batch_size": 8,
    "eval_steps": 1,
}
DEFAULT_TOLERANCE = 0.02
_METRICS = "metrics.json"
_PICTURE = "predictions.png"


def measure(output_dir: str, settings: dict) -> dict:
    """Runs this checkout's pipeline on the fixed data; writes and returns its metrics."""
    from segmentation_pipeline import demo
    from segmentation_pipeline.config import TARGET_LOCAL, PipelineConfig
    from segmentation_pipeline.dataset import dataset_spec
    from segmentation_pipeline.local_runner import run_local
    from segmentation_pipeline.pipeline import TRAINER
    from segmentation_pipeline.run_summary import read_latest_run
    from segmentation_pipeline.scoring import score_serving_model

    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    config = PipelineConfig(
        local_dir=str(output / "run"),
        image_size=settings["image_size"],
        train_steps=settings["train_steps"],
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        eval_steps=settings["eval_steps"],
        min_mean_iou=0.0,
        min_pixel_accuracy=0.0,
        enable_cache=False,
        deterministic=True,
    )
    data_dir = demo.prepare_data(config, settings["num_images"], settings["seed"])
    run_local(config)
    trainer = read_latest_run(config.metadata_path, config.pipeline_name).component(TRAINER)
    model_dir = os.path.join(trainer.outputs["model"][0], "Format-Serving")
    spec = dataset_spec(config, TARGET_LOCAL)
    scores = score_serving_model(model_dir, data_dir, spec.class_names, spec.void_label)
    metrics = {
        **scores.as_dict(),
        "training_seconds": trainer.seconds,
        "saved_model_bytes": _tree_bytes(model_dir),
        "settings": settings,
    }
    (output / _METRICS).write_text(json.dumps(metrics, indent=2, sort_keys=True))
    shutil.copy(demo.draw_predictions(config, model_dir), output / _PICTURE)
    return metrics


def _tree_bytes(path: str) -> int:
    return sum(file.stat().st_size for file in Path(path).rglob("*") if file.is_file())


def export_ref(repo: Path, ref: str, destination: Path) -> Path:
    """The ref's committed tree in `destination` (git archive: no worktree bookkeeping left)."""
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", ref],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise ValueError(f"Cannot export {ref!r} from {repo}: {archive.stderr.decode().strip()}")
    destination.mkdir(parents=True)
    archive_path = destination.with_suffix(".tar")
    archive_path.write_bytes(archive.stdout)
    with tarfile.open(archive_path) as tar:
        tar.extractall(destination, filter="data")
    archive_path.unlink()
    return destination


def describe(repo: Path, ref: str | None) -> str:
    """Short commit id of a ref (the working tree is HEAD plus local changes)."""
    result = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", ref or "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    commit = result.stdout.strip() or "?"
    return commit if ref else f"{commit}+working tree"


def run_side(source_root: Path, output_dir: Path, settings: dict) -> dict:
    """`measure` with source_root's own packages first on the path; {"error": ...} on failure."""
    sources = sorted(str(path) for path in (source_root / "packages").glob("*/src"))
    inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*sources, *inherited])}
    command = [
        sys.executable,
        "-m",
        "segmentation_pipeline.model_check",
        "measure",
        "--output",
        str(output_dir),
        "--settings",
        json.dumps(settings),
    ]
    print(f"model_check: training {source_root} -> {output_dir}", flush=True)
    started = time.monotonic()
    log = output_dir.with_suffix(".log")
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as stream:
        result = subprocess.run(command, env=env, cwd=source_root, stdout=stream, stderr=stream)
    seconds = time.monotonic() - started
    print(f"model_check: {'done' if result.returncode == 0 else 'FAILED'} in {seconds:.0f} s")
    metrics_path = output_dir / _METRICS
    if result.returncode != 0 or not metrics_path.exists():
        tail = log.read_text(errors="replace")[-4000:]
        return {"error": f"exit code {result.returncode}; log {log}:\n{tail}"}
    return json.loads(metrics_path.read_text())


def compare(args: argparse.Namespace) -> int:
    from segmentation_pipeline import model_check_report as report

    repo = Path(args.repo).resolve()
    output = Path(args.output).resolve()
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    settings = {**CHECK_SETTINGS, "train_steps": args.train_steps}
    with tempfile.TemporaryDirectory(prefix="model-check-") as scratch:
        head_root = export_ref(repo, args.head, Path(scratch) / "head") if args.head else repo
        head = run_side(head_root, output / "head", settings)
        if args.base_metrics:
            base = json.loads(Path(args.base_metrics).read_text())
            base_label = f"metrics file {args.base_metrics}"
        else:
            base_root = export_ref(repo, args.base, Path(scratch) / "base")
            base = run_side(base_root, output / "base", settings)
            base_label = describe(repo, args.base)
    result = report.verdict(base, head, args.tolerance)
    picture = report.side_by_side(
        str(output / "base" / _PICTURE),
        str(output / "head" / _PICTURE),
        str(output / "side_by_side.png"),
    )
    text = report.markdown(
        base, head, result, base_label, describe(repo, args.head), picture and "side_by_side.png"
    )
    (output / "report.md").write_text(text)
    print(text)
    print(f"model_check: report {output / 'report.md'}")
    return result.exit_code


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    if argv and argv[0] == "measure":
        parser.add_argument("command")
        parser.add_argument("--output", required=True)
        parser.add_argument("--settings", type=json.loads, default=CHECK_SETTINGS)
        return parser.parse_args(argv)
    base = parser.add_mutually_exclusive_group(required=True)
    base.add_argument("--base", help="git ref of the base, e.g. main or the merge base's commit")
    base.add_argument("--base-metrics", help="metrics.json of an earlier run instead of a base")
    parser.add_argument("--head", help="git ref of the head (default: the working tree)")
    parser.add_argument("--repo", default=".", help="repository root [.]")
    parser.add_argument("--output", default="out/model-check", help="report directory")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help=f"allowed mean IoU drop of the head [{DEFAULT_TOLERANCE}]",
    )
    parser.add_argument(
        "--train-steps", type=int, default=CHECK_SETTINGS["train_steps"], help="steps per side"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.tolerance < 1:
        parser.error("--tolerance must be in [0, 1)")
    if args.train_steps < 1:
        parser.error("--train-steps must be >= 1")
    if args.base_metrics and not Path(args.base_metrics).is_file():
        parser.error(f"--base-metrics {args.base_metrics}: no such file")
    if not (Path(args.repo) / ".git").exists():
        parser.error(f"--repo {args.repo} is not the root of a git repository")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    if getattr(args, "command", None) == "measure":
        measure(args.output, args.settings)
        return 0
    try:
        return compare(args)
    except ValueError as error:  # a ref that cannot be exported
        print(f"model_check: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
