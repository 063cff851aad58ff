"""Each model architecture through the whole local pipeline: trained, blessed, pushed to the
filesystem and the (local) Hub, and served by the published Space.

Tiny settings (a few steps, a low gate): what is checked is that every architecture fits every
contract after the Trainer (signatures for the Evaluator, the pushers, the Space app), not how
well it learns (packages/model/benchmarks/benchmark_architectures.py compares that).
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest
from segmentation_model import architectures, model_info
from segmentation_pipeline.config import PipelineConfig
from segmentation_pipeline.local_runner import run_local
from segmentation_pipeline.node_ids import EVALUATOR, HF_PUSHER, PUSHER
from segmentation_pipeline.run_summary import evaluation_results, read_latest_run
from segmentation_test_support.hub import PIPELINE_TOKEN_ENV_VAR

pytestmark = pytest.mark.slow


def _space_files(pipeline_hub, space_repo: str, revision: str, cache: Path) -> Path:
    from huggingface_hub import snapshot_download

    return Path(
        snapshot_download(
            space_repo,
            repo_type="space",
            revision=revision,
            endpoint=pipeline_hub.url,
            token=pipeline_hub.token,
            cache_dir=cache,
        )
    )


@pytest.mark.parametrize("name", architectures.ARCHITECTURES)
def test_architecture_is_blessed_pushed_and_served_by_the_space(
    name, pet_records, pipeline_hub, tmp_path
):
    from gradio_client import Client, handle_file
    from huggingface_hub import HfApi
    from segmentation_space_app import template_dir
    from segmentation_space_app.local import serve_space_app

    repo = f"{pipeline_hub.user}/seg-{name.replace('_', '-')}"
    config = PipelineConfig(
        local_dir=str(tmp_path / "run"),
        data_uri=pet_records,
        model_architecture=name,
        train_steps=6,
        epochs=1,
        eval_steps=1,
        batch_size=4,
        eval_batch_size=4,
        lr_warmup_steps=2,
        min_mean_iou=0.0,
        min_pixel_accuracy=0.0,
        hf_model_repo_id=repo,
        hf_space_repo_id=f"{repo}-demo",
        hf_token_env_var=PIPELINE_TOKEN_ENV_VAR,
    )
    run_local(config)
    summary = read_latest_run(config.metadata_path, config.pipeline_name)
    results = evaluation_results(summary.component(EVALUATOR).outputs["evaluation"][0])
    assert results["blessed"] == "True", results
    assert summary.component(PUSHER).results["pushed_model.pushed"] == "1"
    pushed = summary.component(HF_PUSHER).results
    assert pushed["pushed_model.pushed"] == "1", pushed

    api = HfApi(endpoint=pipeline_hub.url, token=pipeline_hub.token)
    info_path = api.hf_hub_download(
        repo,
        model_info.MODEL_INFO_FILE,
        revision=pushed["pushed_model.commit_id"],
        cache_dir=tmp_path / "model_download",
    )
    info = json.loads(Path(info_path).read_text())
    assert info[model_info.ARCHITECTURE_KEY] == name
    assert info[model_info.PARAMETERS_KEY] > 0
    card = Path(
        api.hf_hub_download(
            repo,
            "README.md",
            revision=pushed["pushed_model.commit_id"],
            cache_dir=tmp_path / "model_download",
        )
    ).read_text()
    assert f"| architecture | {name} |" in card
    assert f"| parameters | {info[model_info.PARAMETERS_KEY]:,} |" in card

    space_repo = f"{repo}-demo"
    space_commit = api.repo_info(space_repo, repo_type="space").sha
    space_dir = _space_files(pipeline_hub, space_repo, space_commit, tmp_path / "space_download")
    app_dir = tmp_path / "space"
    shutil.copytree(space_dir, app_dir)  # real files: the Hub cache holds symlinks to blobs
    # As on a Space: the HF_TOKEN secret is sent implicitly (the test clients disable that).
    env = {
        **pipeline_hub.client_env(),
        "HF_TOKEN": pipeline_hub.token,
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "",
        "TF_USE_LEGACY_KERAS": "0",
    }
    log_path = tmp_path / "app.log"
    with serve_space_app(app_dir, env, log_path=log_path) as url:
        example = sorted((template_dir() / "examples").glob("*.jpg"))[0]
        overlay, label, status = Client(url, verbose=False).predict(
            handle_file(str(example)), api_name="/segment"
        )
        with urllib.request.urlopen(f"{url}/config", timeout=30) as response:
            page_config = response.read().decode()
    # The page's header (a Markdown component) names the architecture and its size.
    assert f"Architecture: `{name}`" in page_config
    assert f"{info[model_info.PARAMETERS_KEY] / 1e6:.1f} M parameters" in page_config
    assert os.path.getsize(overlay) > 0 and label["confidences"], (label, status)
    log = log_path.read_text()
    assert f"at revision {pushed['pushed_model.commit_id']}" in log, log[-2000:]
    assert f"Model: Architecture: `{name}`" in log, log[-2000:]
