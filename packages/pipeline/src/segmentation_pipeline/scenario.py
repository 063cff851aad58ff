"""The continuous-training story in one command: `./dev.sh main --scenario drift`.

1. span 1 (synthetic Pet-like images) -> data_prep span 1 -> the pipeline trains, blesses and
   pushes v1 (filesystem, local Hub model repo and Space);
2. span 2 drawn with a named shift (`--shift`, default `dark`) -> data_prep span 2;
3. the monitor scores the deployed v1 on span 2 against its metrics at blessing (the drop);
4. the pipeline runs again: its DriftValidator reports the drifted features, Transform and the
   Trainer take spans 1-2, the Evaluator compares v2 with v1 on span 2 (v2 is blessed only if
   it is not worse there: `max_mean_iou_drop`), and the pushers publish v2 and update the Space;
5. a report (Markdown and PNG charts, scenario_report.py) whose paths are printed.

Everything lives under `<local_dir>/scenario-drift/`, started afresh on every run (spans are
never rewritten, so a new story needs new spans).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from pathlib import Path

from segmentation_pipeline.config import TARGET_LOCAL, PipelineConfig

SCENARIO_DIR = "scenario-drift"
_PREDICTION_ROWS = 4


def _write_span(spans_root: Path, raw_root: Path, span: int, num_images: int, seed: int, shift):
    from segmentation_data_prep import beam_job, synthetic

    raw = raw_root / f"span-{span}"
    label = f" with shift {shift}" if shift else ""
    print(f"Data: span {span}: {num_images} synthetic images (seed {seed}){label} -> {raw}")
    synthetic.write_synthetic_pet_dataset(raw, num_images, seed=seed, shift=shift)
    report = beam_job.run_data_prep(str(raw), str(spans_root), span=span)
    written = report["written"]
    print(f"Data: span {span}: {written['train']} train / {written['eval']} eval records")
    return report


def _run_pipeline(config: PipelineConfig, verbose: bool, title: str):
    from segmentation_pipeline.dataset import dataset_spec
    from segmentation_pipeline.drift import run_summary_results
    from segmentation_pipeline.local_runner import run_local
    from segmentation_pipeline.node_ids import EVALUATOR
    from segmentation_pipeline.pipeline import create_pipeline
    from segmentation_pipeline.progress import component_progress
    from segmentation_pipeline.run_summary import (
        evaluation_results,
        format_summary,
        read_latest_run,
    )

    print(f"\nPipeline: {title}")
    total = len(create_pipeline(config, TARGET_LOCAL).components)
    with contextlib.nullcontext() if verbose else component_progress(total):
        run_local(config)
    summary = read_latest_run(config.metadata_path, config.pipeline_name)
    class_names = dataset_spec(config, TARGET_LOCAL).class_names
    evaluation = evaluation_results(
        summary.component(EVALUATOR).outputs["evaluation"][0], class_names
    )
    print(format_summary(summary, {**run_summary_results(summary), EVALUATOR: evaluation}))
    return summary, evaluation


def _iou(scores, class_names) -> dict[str, float]:
    return {"mean": scores.mean_iou, **{n: scores.class_iou[n] for n in class_names}}


def _predictions(predictors: list, data_dir: str, count: int):
    """(images, true masks, masks of each `scoring.mask_predictor`) for the first `count` eval
    records."""
    from segmentation_pipeline.scoring import eval_records

    records = list(eval_records(data_dir, count))
    masks = [[predict(r.image) for r in records] for predict in predictors]
    return [r.image for r in records], [r.mask for r in records], *masks


def run_drift_scenario(
    config: PipelineConfig, num_images: int, seed: int, shift_text: str, verbose: bool = False
) -> dict[str, str]:
    """Runs the story of the module docstring; returns the report's paths."""
    from hf_local_hub import LocalHub
    from segmentation_data_prep import spans
    from segmentation_data_prep.dataset_spec import SPEC_FILE_NAME, read_spec
    from segmentation_data_prep.shifts import Shift

    from segmentation_pipeline.demo import with_demo_repos
    from segmentation_pipeline.deployment import last_deployment
    from segmentation_pipeline.drift import drift_of_run
    from segmentation_pipeline.monitor import format_result, monitor
    from segmentation_pipeline.node_ids import TRAINER, TRANSFORM
    from segmentation_pipeline.run_summary import input_spans
    from segmentation_pipeline.scenario_report import ScenarioResults, write_report
    from segmentation_pipeline.scoring import mask_predictor, score_predictor

    shift = Shift.parse(shift_text)
    started = time.monotonic()
    root = Path(config.local_dir) / SCENARIO_DIR
    if root.exists():
        print(f"Scenario: starting afresh, removing the previous story in {root}")
        shutil.rmtree(root)
    spans_root = root / "spans"
    config = config.replace(
        local_dir=str(root / "run"),
        data_uri=str(spans_root),
        train_spans_window=max(2, config.train_spans_window),
        pipeline_name=f"{config.pipeline_name}-drift",
    )
    _write_span(spans_root, root / "raw", 1, num_images, seed, None)

    with LocalHub(root / "hub", token=f"hf_{secrets.token_hex(16)}") as hub:
        os.environ.update(hub.client_env())
        os.environ[config.hf_token_env_var] = hub.token
        config = with_demo_repos(config, hub.user)
        print(f"Hub: local Hugging Face Hub-compatible server at {hub.url} (user {hub.user})")
        _run_pipeline(config, verbose, "span 1: train, bless and push v1")
        v1 = last_deployment(config.metadata_path, config.pipeline_name)
        print(f"Deployed: v1 = {v1.version} ({v1.model_dir})")

        _write_span(spans_root, root / "raw", 2, num_images, seed + 1, shift)
        print("\nMonitor: the deployed v1 on span 2")
        watched = monitor(config)
        print(format_result(watched))

        summary, evaluation = _run_pipeline(
            config, verbose, "span 2: drift, retrain on spans 1-2, evaluate against v1"
        )
        drift = drift_of_run(summary)
        v2 = last_deployment(config.metadata_path, config.pipeline_name)
        v2_pushed = v2.version != v1.version
        print(f"Deployed: {'v2 = ' + v2.version if v2_pushed else 'still v1 (v2 not blessed)'}")
        hub_url = f"{hub.url}/{config.hf_model_repo_id}"

    span1, span2 = (spans.span_dir(str(spans_root), n) for n in (1, 2))
    spec = read_spec(os.path.join(span2, SPEC_FILE_NAME))
    scored = [name for i, name in enumerate(spec.class_names) if i != spec.void_label]
    candidate_dir = os.path.join(summary.component(TRAINER).outputs["model"][0], "Format-Serving")

    v2_dir = v2.model_dir if v2_pushed else candidate_dir
    v1_predict, v2_predict = mask_predictor(v1.model_dir), mask_predictor(v2_dir)

    def iou(predict, data_dir):
        scores = score_predictor(predict, data_dir, spec.class_names, spec.void_label)
        return _iou(scores, scored)

    results = ScenarioResults(
        shift=str(shift),
        class_names=tuple(scored),
        colors=spec.colors,
        drift=drift,
        v1_version=v1.version,
        v2_version=v2.version if v2_pushed else None,
        v1_span1=iou(v1_predict, span1),
        v1_span2=iou(v1_predict, span2),
        v2_span2=iou(v2_predict, span2),
        v1_at_blessing=watched.then["mean"],
        monitor_alert=watched.alert,
        max_drop=watched.max_drop,
        trained_spans=tuple(input_spans(config.metadata_path, summary.component(TRANSFORM))),
        wall_seconds=time.monotonic() - started,
        notes=[
            f"Evaluator on span 2: {evaluation.get('mean_iou [candidate]', '?')} (v2) vs "
            f"{evaluation.get('mean_iou [baseline]', '?')} (v1), blessed "
            f"{evaluation.get('blessed', '?')}",
            f"Hub model repo: {hub_url}",
        ],
    )
    predictions = _predictions([v1_predict, v2_predict], span2, _PREDICTION_ROWS)
    paths = write_report(results, predictions, str(root / "report"))
    print("\nScenario report:")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    print(f"Scenario done in {results.wall_seconds:.0f} s.")
    return paths
