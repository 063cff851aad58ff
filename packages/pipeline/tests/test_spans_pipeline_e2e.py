"""Spans through the real local pipeline (issue 15 items 4-5): newest span, window, drift.

Two sequences of runs, each over its own spans root and ML Metadata:
1. span 1, then a `dark` span 2: the first run has nothing to compare with and pushes v1; the
   monitor scores v1 on span 2 against its blessing metrics; the second run reports brightness
   drift, still trains (drift is no gate) on both spans, and evaluates on span 2;
2. span 1, then a span 2 drawn from the same distribution: no feature drifts, and the monitor
   sees no drop beyond `monitor_max_iou_drop`.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from segmentation_data_prep import record_format
from segmentation_data_prep.shifts import Shift
from segmentation_pipeline.config import PipelineConfig
from segmentation_pipeline.drift import read_drift
from segmentation_pipeline.hub_deployment import LATEST
from segmentation_pipeline.local_runner import run_local
from segmentation_pipeline.monitor import monitor
from segmentation_pipeline.node_ids import (
    DRIFT_VALIDATOR,
    EVALUATOR,
    HF_PUSHER,
    TRAINER,
    TRANSFORM,
)
from segmentation_pipeline.run_summary import (
    RunSummary,
    evaluation_results,
    input_spans,
    read_latest_run,
)

pytestmark = pytest.mark.slow
NUM_IMAGES = 60
HUB_TOKEN_VAR = "SPANS_TEST_HF_TOKEN"


def write_span(root, span: int, seed: int, shift: Shift | None = None) -> None:
    from segmentation_data_prep import beam_job, synthetic

    raw = synthetic.write_synthetic_pet_dataset(
        root / f"raw-{span}", NUM_IMAGES, seed=seed, shift=shift
    )
    beam_job.run_data_prep(str(raw), str(root / "spans"), span=span, show_progress=False)


def span_config(tmp_path, root) -> PipelineConfig:
    return PipelineConfig(
        local_dir=str(tmp_path / "run"),
        data_uri=str(root / "spans"),
        train_spans_window=2,
        train_steps=24,
        epochs=2,
        eval_steps=1,
        batch_size=8,
        min_mean_iou=0.0,
        min_pixel_accuracy=0.0,
    )


def run(config: PipelineConfig) -> RunSummary:
    run_local(config)
    return read_latest_run(config.metadata_path, config.pipeline_name)


def test_a_dark_span_drifts_and_is_trained_on_with_the_span_before(tmp_path, hub, monkeypatch):
    root = tmp_path / "data"
    write_span(root, 1, seed=0)
    monkeypatch.setenv(HUB_TOKEN_VAR, hub.token)
    config = dataclasses.replace(
        span_config(tmp_path, root),
        hf_model_repo_id=f"{hub.user}/spans",
        hf_endpoint=hub.url,
        hf_token_env_var=HUB_TOKEN_VAR,
        max_mean_iou_drop=1.0,  # v2 is pushed whatever it scores: its card is under test
    )
    first = run(config)
    assert first.component(DRIFT_VALIDATOR).state == "complete"  # runs without a baseline
    assert not read_drift(first.component(DRIFT_VALIDATOR).outputs["anomalies"][0]).has_baseline
    assert input_spans(config.metadata_path, first.component(TRANSFORM)) == [1]

    write_span(root, 2, seed=1, shift=Shift("dark"))
    watched = monitor(config)  # v1, pushed by the first run, on the new span
    blessing = evaluation_results(first.component(EVALUATOR).outputs["evaluation"][0])
    assert watched.span == 2 and watched.model_dir.startswith(config.serving_model_dir)
    assert f"{watched.then['mean']:.4f}" == blessing["mean_iou [candidate]"]
    assert not [name for name, value in watched.then.items() if math.isnan(value)]
    eval_records = json.loads((root / "spans" / "span-2" / record_format.REPORT_NAME).read_text())
    assert watched.examples == eval_records["written"]["eval"]
    print("v1 mean IoU at blessing (span 1) / on dark span 2:", watched.then, watched.now)

    second = run(config)
    result = read_drift(second.component(DRIFT_VALIDATOR).outputs["anomalies"][0])
    drifted = {f.feature for f in result.drifted}
    assert record_format.BRIGHTNESS_KEY in drifted
    assert record_format.ASPECT_RATIO_KEY not in drifted  # sizes come from the same draw
    assert {f.feature for f in result.features} == set(record_format.DRIFT_FEATURE_KEYS)
    trained_on = input_spans(config.metadata_path, second.component(TRANSFORM))
    assert trained_on == [1, 2]  # the window: both spans
    judged_on = input_spans(config.metadata_path, second.component(EVALUATOR))
    assert judged_on == [2]  # judged on the newest span
    assert second.component(TRAINER).state == "complete"  # drift does not block training

    card = pushed_card(hub, config, second)  # v2's card: the spans and the drift behind it
    assert "- data spans 1, 2" in card
    brightness = next(f for f in result.features if f.feature == record_format.BRIGHTNESS_KEY)
    assert (
        f"| train_train | {brightness.feature} | jensen_shannon_divergence | "
        f"{brightness.distance:.4f} | {config.drift_threshold:g} | yes |"
    ) in card
    v2_on_hub = monitor(config, hub_revision=LATEST)  # the Hub's newest version: v2
    v2_blessing = evaluation_results(second.component(EVALUATOR).outputs["evaluation"][0])
    assert f"{v2_on_hub.then['mean']:.4f}" == v2_blessing["mean_iou [candidate]"]
    assert v2_on_hub.span == 2 and v2_on_hub.examples == watched.examples


def pushed_card(hub, config: PipelineConfig, summary: RunSummary) -> str:
    from huggingface_hub import HfApi

    results = summary.component(HF_PUSHER).results
    assert results["pushed_model.pushed"] == "1"
    path = HfApi(endpoint=hub.url, token=hub.token).hf_hub_download(
        config.hf_model_repo_id, "README.md", revision=results["pushed_model.commit_id"]
    )
    with open(path) as handle:
        return handle.read()


def test_a_span_from_the_same_distribution_reports_no_drift(tmp_path):
    root = tmp_path / "data"
    write_span(root, 1, seed=0)
    config = span_config(tmp_path, root)
    run(config)
    write_span(root, 2, seed=1)  # new images, same distribution
    watched = monitor(config)
    print("v1 mean IoU at blessing (span 1) / on span 2, no shift:", watched.then, watched.now)
    assert not watched.alert, watched.drop
    second = run(config)
    result = read_drift(second.component(DRIFT_VALIDATOR).outputs["anomalies"][0])
    assert result.has_baseline
    assert result.drifted == (), [(f.feature, f.distance) for f in result.features]
