"""The whole local pipeline on generated data: blessing, cache reuse, and two ways of not blessing.

One module-scoped sequence of runs over the same ML Metadata (each later run depends on the
earlier ones, as in real use):
1. a trained model, low thresholds: blessed, pushed to the filesystem and to the (local) Hub;
2. the same again: everything up to the Trainer from the cache (the Evaluator runs once more,
   because a blessed baseline now exists), and a third time: everything from the cache;
3. the same model, an absolute mean-IoU bound it cannot reach: not blessed, nothing pushed;
4. a model that did not learn (learning rate ~0) against the blessed baseline: the change
   threshold fails, nothing pushed.
"""

from __future__ import annotations

import os

import pytest
from segmentation_data_prep.presets import OXFORD_PET
from segmentation_model import metrics
from segmentation_pipeline.config import PipelineConfig
from segmentation_pipeline.local_runner import run_local
from segmentation_pipeline.node_ids import EVALUATOR, HF_PUSHER, PUSHER, TRAINER
from segmentation_pipeline.run_summary import RunSummary, evaluation_results, read_latest_run
from segmentation_test_support.hub import PIPELINE_TOKEN_ENV_VAR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base_config(tmp_path_factory, pet_records, pipeline_hub) -> PipelineConfig:
    return PipelineConfig(
        local_dir=str(tmp_path_factory.mktemp("run")),
        data_uri=pet_records,
        # Enough steps (~0.1 s each after tracing) at the peak rate for the first model to beat
        # an untrained one by far more than noise: an untrained model scores 0.13-0.23 mean IoU
        # (test_worse_model_than_the_baseline_is_not_blessed_nor_pushed).
        train_steps=96,
        lr_warmup_steps=4,
        eval_steps=1,
        batch_size=8,
        min_mean_iou=0.0,
        min_pixel_accuracy=0.0,
        hf_model_repo_id=f"{pipeline_hub.user}/segmentation-unet",
        hf_token_env_var=PIPELINE_TOKEN_ENV_VAR,
    )


def run(config: PipelineConfig) -> RunSummary:
    run_local(config)
    return read_latest_run(config.metadata_path, config.pipeline_name)


def hub_branches(pipeline_hub, repo_id: str) -> dict[str, str]:
    """Branch -> head commit of the model repo (HFPusher pushes one branch per model version)."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=pipeline_hub.url, token=pipeline_hub.token)
    return {ref.name: ref.target_commit for ref in api.list_repo_refs(repo_id).branches}


def evaluation(summary: RunSummary) -> dict[str, str]:
    return evaluation_results(
        summary.component(EVALUATOR).outputs["evaluation"][0], OXFORD_PET.class_names
    )


@pytest.fixture(scope="module")
def first_run(base_config) -> RunSummary:
    return run(base_config)


def test_first_model_is_blessed_and_pushed_by_both_pushers(first_run, base_config, pipeline_hub):
    results = evaluation(first_run)
    assert results["blessed"] == "True", results
    assert 0.0 < float(results["mean_iou [candidate]"]) <= 1.0
    assert 0.0 < float(results["pixel_accuracy [candidate]"]) <= 1.0
    # Every class's IoU is reported, and the summary's per-class line names each class.
    for name in metrics.class_iou_names(OXFORD_PET.class_names):
        assert 0.0 <= float(results[f"{name} [candidate]"]) <= 1.0
    assert results["per-class IoU [candidate]"].count(" | ") == OXFORD_PET.num_classes - 1

    pusher = first_run.component(PUSHER).results
    assert pusher["pushed_model.pushed"] == "1"
    destination = pusher["pushed_model.pushed_destination"]
    assert destination.startswith(base_config.serving_model_dir)
    assert os.path.exists(os.path.join(destination, "saved_model.pb"))

    hf = first_run.component(HF_PUSHER).results
    assert hf["pushed_model.pushed"] == "1"
    branches = hub_branches(pipeline_hub, base_config.hf_model_repo_id)
    assert branches[hf["pushed_model.branch"]] == hf["pushed_model.commit_id"]


def test_hub_repos_default_to_private_model_public_space(first_run, base_config, pipeline_hub):
    """The pipeline's defaults create the model repo private, as HFPusher does on its own."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    assert base_config.hf_private  # the default, not set by the fixture
    assert (
        HfApi(endpoint=pipeline_hub.url, token=pipeline_hub.token)
        .model_info(base_config.hf_model_repo_id)
        .private
    )
    with pytest.raises(HfHubHTTPError):  # hidden from anonymous callers
        HfApi(endpoint=pipeline_hub.url, token=False).model_info(base_config.hf_model_repo_id)


def test_second_run_without_changes_reuses_the_cache(first_run, base_config, pipeline_hub):
    branches = hub_branches(pipeline_hub, base_config.hf_model_repo_id)
    again = run(base_config)
    upstream = [c for c in again.components if c.node_id not in (EVALUATOR, PUSHER, HF_PUSHER)]
    resolver = "latest_blessed_model_resolver"  # a resolution node: always runs, no cache
    assert {c.node_id: c.state for c in upstream if c.node_id != resolver} == {
        c.node_id: "cached" for c in upstream if c.node_id != resolver
    }
    assert again.component(TRAINER).outputs == first_run.component(TRAINER).outputs
    # The first run had no blessed baseline; now the baseline is this same model, so TFX
    # evaluates once more (difference 0, blessed) and the Hub push is a no-op.
    results = evaluation(again)
    assert results["blessed"] == "True"
    assert float(results["mean_iou [diff]"]) == pytest.approx(0.0, abs=1e-6)
    assert hub_branches(pipeline_hub, base_config.hf_model_repo_id).keys() == branches.keys()
    third = run(base_config)
    assert {c.state for c in third.components if c.node_id != resolver} == {"cached"}


def pushed_state(config: PipelineConfig, pipeline_hub) -> tuple:
    """What both pushers have published so far: Hub branches and filesystem versions."""
    branches = hub_branches(pipeline_hub, config.hf_model_repo_id)
    return branches, sorted(os.listdir(config.serving_model_dir))


def assert_nothing_pushed(summary: RunSummary, config: PipelineConfig, pipeline_hub, before: tuple):
    assert summary.component(PUSHER).results["pushed_model.pushed"] == "0"
    assert summary.component(HF_PUSHER).results["pushed_model.pushed"] == "0"
    assert pushed_state(config, pipeline_hub) == before


def test_absolute_threshold_not_met_is_not_blessed_nor_pushed(first_run, base_config, pipeline_hub):
    before = pushed_state(base_config, pipeline_hub)
    strict = base_config.replace(min_mean_iou=0.99)
    summary = run(strict)
    assert summary.component(TRAINER).state == "cached"  # same model, only the gate changed
    results = evaluation(summary)
    assert results["blessed"] == "False"
    assert "mean_iou" in results["failed thresholds"]
    assert "(vs baseline)" not in results["failed thresholds"]
    assert_nothing_pushed(summary, base_config, pipeline_hub, before)


def test_worse_model_than_the_baseline_is_not_blessed_nor_pushed(
    first_run, base_config, pipeline_hub
):
    before = pushed_state(base_config, pipeline_hub)
    untrained = base_config.replace(train_steps=2, epochs=1, learning_rate=1e-9)
    summary = run(untrained)
    assert summary.component(TRAINER).state == "complete"
    results = evaluation(summary)
    assert float(results["mean_iou [candidate]"]) < float(results["mean_iou [baseline]"]), results
    assert results["blessed"] == "False"
    assert "mean_iou (vs baseline)" in results["failed thresholds"]
    assert_nothing_pushed(summary, base_config, pipeline_hub, before)
