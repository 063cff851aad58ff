"""The main job's datasets, and how each reaches data_prep.

`pet-synthetic` (the default): synthetic images in the Oxford-IIIT Pet layout on local disk.
`sidewalk-synthetic`: synthetic street scenes with the 35 Sidewalk classes (void "unlabeled"),
published to the local Hub as a dataset repo in the Hub's parquet layout and read back by
data_prep through the real huggingface_hub client (commit pinned in the report), as a user's
own Hub dataset would be. Each brings PipelineConfig settings that sit under the environment
and the flags (`load_config(defaults=...)`): its own local_dir (ML Metadata's blessed
baseline must be a model of the same classes) and a size that trains in minutes on 2 cores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DemoDataset:
    name: str
    model_repo: str  # in the local Hub user's namespace
    space_repo: str
    default_num_images: int
    config_defaults: Mapping[str, Any] = field(default_factory=dict)
    hub_dataset_repo: str = ""  # set: the data is published to and read from the Hub


PET_SYNTHETIC = DemoDataset("pet-synthetic", "segmentation-unet", "segmentation-demo", 80)
SIDEWALK_SYNTHETIC = DemoDataset(
    "sidewalk-synthetic",
    "sidewalk-unet",
    "sidewalk-demo",
    default_num_images=160,
    config_defaults={
        "local_dir": "out/pipeline-sidewalk",
        "image_size": 64,
        "train_steps": 300,
        "epochs": 3,
        "batch_size": 8,
        "eval_steps": 2,
        "decoder_filters": (96, 64, 48, 48),  # the last stage feeds 35 output channels
        "learning_rate": 3e-3,
        # 34 scored classes, several seen in a few hundred pixels: the gate asks for a model
        # that learned the large classes, not every rare one.
        "min_mean_iou": 0.1,
        "min_pixel_accuracy": 0.4,
    },
    hub_dataset_repo="sidewalk-synthetic",
)
DEMO_DATASETS = {dataset.name: dataset for dataset in (PET_SYNTHETIC, SIDEWALK_SYNTHETIC)}


def write_source(
    dataset: DemoDataset, raw_dir: Path, num_images: int, seed: int, hub: Any = None
) -> tuple[str, dict[str, Any]]:
    """Writes the dataset's raw files (and publishes them to `hub`, a running LocalHub, for a
    Hub dataset); returns data_prep's input directory and its other run_data_prep arguments."""
    if not dataset.hub_dataset_repo:
        from segmentation_data_prep import synthetic

        print(f"Data: writing {num_images} synthetic images (Oxford-IIIT Pet layout) to {raw_dir}")
        synthetic.write_synthetic_pet_dataset(raw_dir, num_images, seed=seed)
        return str(raw_dir), {}
    if hub is None:
        raise ValueError(f"{dataset.name} is read from a Hub dataset repo: start the Hub first")
    from huggingface_hub import HfApi
    from segmentation_data_prep.hub_dataset import download_hub_dataset
    from segmentation_data_prep.presets import SIDEWALK
    from segmentation_data_prep.synthetic_street import write_street_parquet

    repo_id = f"{hub.user}/{dataset.hub_dataset_repo}"
    print(f"Data: writing {num_images} synthetic street scenes (Hub parquet layout) to {raw_dir}")
    write_street_parquet(raw_dir, num_images, seed=seed)
    api = HfApi(endpoint=hub.url, token=hub.token)
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    api.upload_folder(
        repo_id=repo_id,
        repo_type="dataset",
        folder_path=str(raw_dir),
        commit_message=f"{num_images} synthetic street scenes, seed {seed}",
    )
    downloaded = download_hub_dataset(
        repo_id, "main", str(raw_dir.parent / "hub_download"), endpoint=hub.url
    )
    print(f"Data: dataset repo {hub.url}/datasets/{repo_id} at commit {downloaded.commit[:12]}")
    return downloaded.local_dir, {
        "spec": SIDEWALK,
        "layout": "hf-parquet",
        "hub_dataset": downloaded,
    }
