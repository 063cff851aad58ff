"""The main job on `--dataset sidewalk-synthetic`: data from a Hub dataset repo, classes to the Hub.

Small settings (12 scenes, 6 steps) so only the flow is under test: the street scenes go to the
local Hub as a dataset repo, data_prep reads them back with the real client (the commit lands in
its report), the pipeline trains 35 classes, and the model repo gets the spec's labels.json next
to saved_model.pb and a class table on its card; the Space is published beside it.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest
from segmentation_data_prep.presets import SIDEWALK
from segmentation_pipeline.config import load_config
from segmentation_pipeline.demo import run_demo
from segmentation_pipeline.demo_datasets import SIDEWALK_SYNTHETIC

pytestmark = pytest.mark.slow


@pytest.fixture
def restored_environment():
    saved = dict(os.environ)  # run_demo points the process's Hub client at its local Hub
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_sidewalk_run_reads_the_hub_dataset_and_publishes_its_classes(
    tmp_path, restored_environment
):
    from hf_local_hub import LocalHub
    from huggingface_hub import HfApi, hf_hub_download

    config = load_config(
        environ={},
        defaults=SIDEWALK_SYNTHETIC.config_defaults,
        local_dir=str(tmp_path / "run"),
        train_steps=6,
        epochs=1,
        min_mean_iou=0.0,
        min_pixel_accuracy=0.0,
    )
    assert (config.image_size, config.decoder_filters) == (64, (96, 64, 48, 48))
    locations = run_demo(config, 12, seed=3, dataset=SIDEWALK_SYNTHETIC)
    assert locations["blessed"] == "True"
    assert Path(locations["predictions picture"]).is_file()

    report = json.loads((tmp_path / "run" / "data" / "report.json").read_text())
    assert report["layout"] == "hf-parquet" and report["written"]["total"] == 12
    assert report["hub_dataset"]["repo_id"] == "local-user/sidewalk-synthetic"

    # The run's Hub is gone with the run; its storage stays, served again here.
    with LocalHub(tmp_path / "run" / "hub", token=f"hf_{secrets.token_hex(8)}") as hub:
        api = HfApi(endpoint=hub.url, token=hub.token)
        dataset = api.dataset_info("local-user/sidewalk-synthetic")
        assert dataset.sha == report["hub_dataset"]["commit"]
        model_repo = "local-user/sidewalk-unet"
        revision = locations["Hub revision"]

        def fetch(name: str) -> str:
            return Path(
                hf_hub_download(
                    model_repo,
                    name,
                    revision=revision,
                    endpoint=hub.url,
                    token=hub.token,
                    cache_dir=tmp_path / "download",
                )
            ).read_text()

        files = set(api.list_repo_files(model_repo, revision=revision))
        assert {"saved_model.pb", "labels.json"} <= files
        assert json.loads(fetch("labels.json")) == SIDEWALK.labels_json()
        card = fetch("README.md")
        assert "| 0 | unlabeled | `#000000` | void (not scored) |" in card
        assert "| 1 | flat-road | `#804080` |" in card
        assert api.repo_exists("local-user/sidewalk-demo", repo_type="space")
