"""labels.json next to saved_model.pb and the model card's class table, on the local Hub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hf_local_hub import LocalHub
from hf_pusher_helpers import TOKEN, USER, download
from huggingface_hub import HfApi
from tfx_hf_pusher import publish
from tfx_hf_pusher.errors import PublishError

REPO = f"{USER}/streets-unet"
# The shape of a dataset spec's labels_json(): class 0 is void ("unlabeled").
LABELS = {
    "dataset": "streets",
    "classes": [
        {"id": 0, "name": "unlabeled", "color": "#000000"},
        {"id": 1, "name": "flat-road", "color": "#804080"},
        {"id": 2, "name": "sky", "color": [70, 130, 180]},
    ],
    "void_label": 0,
}


def test_labels_are_published_beside_the_model_and_tabled_on_the_card(
    hub: LocalHub, saved_model: Path, tmp_path: Path
) -> None:
    result = publish.publish_model(
        saved_model,
        repo_id=REPO,
        token=TOKEN,
        metrics={"mean_iou": 0.5, "iou_flat_road": 0.75},
        labels=LABELS,
        class_metrics={1: "iou_flat_road", 2: "iou_sky"},
    )
    files = download(hub, REPO, result.commit_id, tmp_path / "cache")
    assert "saved_model.pb" in files  # labels.json sits in the same directory
    assert json.loads(files["labels.json"]) == LABELS
    readme = files["README.md"].decode()
    assert "| id | class | colour | IoU |" in readme
    assert "| 0 | unlabeled | `#000000` | void (not scored) |" in readme
    assert "| 1 | flat-road | `#804080` | 0.7500 |" in readme
    assert "| 2 | sky | `#4682b4` | - |" in readme  # not evaluated: no number made up


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"classes": []}, "non-empty"),
        ({"classes": [{"id": 1, "name": "a", "color": "#000000"}]}, '"id": 0'),
        ({"classes": [{"id": 0, "name": "", "color": "#000000"}]}, "name"),
        ({"classes": [{"id": 0, "name": "a", "color": "red"}]}, "color"),
        ({"classes": [{"id": 0, "name": "a", "color": [0, 0, 256]}]}, "color"),
        ({**LABELS, "void_label": 3}, "void_label"),
    ],
)
def test_bad_labels_fail_before_anything_is_pushed(
    hub: LocalHub, api: HfApi, saved_model: Path, labels: dict, message: str
) -> None:
    with pytest.raises(PublishError, match=message):
        publish.publish_model(saved_model, repo_id=f"{USER}/never", token=TOKEN, labels=labels)
    assert not api.repo_exists(f"{USER}/never")


def test_a_model_dir_with_its_own_labels_file_is_refused(
    hub: LocalHub, saved_model: Path, tmp_path: Path
) -> None:
    import shutil

    model = tmp_path / "model"
    shutil.copytree(saved_model, model)
    (model / "labels.json").write_text("{}")
    with pytest.raises(PublishError, match=r"contains a labels\.json"):
        publish.publish_model(model, repo_id=f"{USER}/dup", token=TOKEN, labels=LABELS)
