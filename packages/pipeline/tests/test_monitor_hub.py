"""Monitoring the model on the Hub (issue 15): a revision's card says what it scored at
blessing, the newest data says what it scores now.

The model is a stand-in whose every mask is known (thirds of the columns: classes 0, 1, 2) and
the eval data two records with masks drawn by hand, so every IoU below is worked out by hand:
record A's mask is the thirds (all right), record B's is all class 0 (a third right). Over both:
class 0 has 96 true positives in a union of 192, classes 1 and 2 48 in 96: IoU 0.5 each.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from segmentation_data_prep import presets, record_format
from segmentation_data_prep.dataset_spec import write_spec
from segmentation_model.metrics import MEAN_IOU, class_iou_names
from segmentation_pipeline import monitor
from segmentation_test_support.network import free_port
from segmentation_test_support.standin_model import export_thirds_model, thirds_mask
from tfx_hf_pusher.publish import publish_model

SIDE = 12
SPEC = presets.OXFORD_PET
TOKEN_VAR = "MONITOR_TEST_HF_TOKEN"


@pytest.fixture(scope="module")
def thirds_model(tmp_path_factory):
    return export_thirds_model(tmp_path_factory.mktemp("model") / "thirds")


@pytest.fixture
def data_dir(tmp_path):
    """A data_prep output's eval split and dataset spec: records A (thirds) and B (all 0)."""
    import tensorflow as tf

    image = np.full((SIDE, SIDE, 3), 128, np.uint8)
    masks = {"a": thirds_mask(SIDE, SIDE).copy(), "b": np.zeros((SIDE, SIDE), np.uint8)}
    eval_dir = tmp_path / "data" / "eval"
    eval_dir.mkdir(parents=True)
    shard = eval_dir / f"eval-00000-of-00001{record_format.SHARD_SUFFIX}"
    with tf.io.TFRecordWriter(str(shard)) as out:
        for stem, mask in masks.items():
            out.write(record_format.encode_example(stem, image, mask))
    write_spec(SPEC, str(tmp_path / "data"))
    return tmp_path / "data"


def metrics_at_blessing(mean: float, per_class: float) -> dict[str, float]:
    return {MEAN_IOU: mean, **{name: per_class for name in class_iou_names(SPEC.class_names)}}


def push(hub, model_dir, version: str, metrics: dict[str, float]) -> None:
    publish_model(
        model_dir, repo_id=repo_of(hub), token=hub.token, version=version, metrics=metrics
    )


def repo_of(hub) -> str:
    return f"{hub.user}/monitored"


def run_monitor(hub, data_dir, tmp_path, *flags: str) -> tuple[int, dict | None]:
    output = tmp_path / "monitor.json"
    code = monitor.main(
        [
            "--data-uri",
            str(data_dir),
            "--local-dir",
            str(tmp_path / "run"),
            "--hf-model-repo-id",
            repo_of(hub),
            "--hf-endpoint",
            hub.url,
            "--hf-token-env-var",
            TOKEN_VAR,
            "--output",
            str(output),
            *flags,
        ]
    )
    return code, json.loads(output.read_text()) if output.exists() else None


def test_latest_hub_version_is_scored_against_its_card(
    hub, thirds_model, data_dir, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv(TOKEN_VAR, hub.token)
    push(hub, thirds_model, "first", metrics_at_blessing(0.9, 0.9))
    time.sleep(1.1)  # Hub commit times have whole seconds: `latest` must not be a tie
    push(hub, thirds_model, "second", metrics_at_blessing(0.8, 0.7))

    code, result = run_monitor(hub, data_dir, tmp_path, "--hub-revision", "latest")

    assert code == monitor.EXIT_DROP  # 0.8 -> 0.5 is over the default 0.05
    assert result["model_version"] == "second"
    assert result["examples"] == 2
    assert result["iou"]["mean"] == pytest.approx({"then": 0.8, "now": 0.5, "drop": 0.3})
    for name in SPEC.class_names:
        assert result["iou"][name] == pytest.approx({"then": 0.7, "now": 0.5, "drop": 0.2})
    printed = capsys.readouterr()
    assert f"{hub.url}/{repo_of(hub)} @ " in printed.out
    assert hub.token not in printed.out + printed.err + json.dumps(result)


def test_a_named_revision_is_scored_against_its_own_card(
    hub, thirds_model, data_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv(TOKEN_VAR, hub.token)
    push(hub, thirds_model, "first", metrics_at_blessing(0.52, 0.5))
    push(hub, thirds_model, "second", metrics_at_blessing(0.9, 0.9))

    code, result = run_monitor(hub, data_dir, tmp_path, "--hub-revision", "vfirst")

    assert code == monitor.EXIT_OK  # 0.52 -> 0.5 is within 0.05
    assert result["model_version"] == "first"
    assert result["iou"]["mean"]["then"] == pytest.approx(0.52)


def test_private_repo_without_the_token_says_what_to_set(
    hub, thirds_model, data_dir, tmp_path, monkeypatch, capsys
):
    push(hub, thirds_model, "first", metrics_at_blessing(0.8, 0.8))  # private: the default
    monkeypatch.delenv(TOKEN_VAR, raising=False)

    code, result = run_monitor(hub, data_dir, tmp_path, "--hub-revision", "latest")

    assert (code, result) == (monitor.EXIT_CANNOT_RUN, None)
    error = capsys.readouterr().err
    assert "cannot monitor" in error and "token" in error and repo_of(hub) in error


def test_unknown_revision_is_a_clear_error(
    hub, thirds_model, data_dir, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv(TOKEN_VAR, hub.token)
    push(hub, thirds_model, "first", metrics_at_blessing(0.8, 0.8))

    code, _ = run_monitor(hub, data_dir, tmp_path, "--hub-revision", "v-never-pushed")

    assert code == monitor.EXIT_CANNOT_RUN
    error = capsys.readouterr().err
    assert "'v-never-pushed'" in error and "404" in error
    assert hub.token not in error


def test_unreachable_hub_is_a_clear_error(data_dir, capsys):
    code = monitor.main(
        [
            "--data-uri",
            str(data_dir),
            "--hf-model-repo-id",
            "someone/model",
            "--hf-endpoint",
            f"http://127.0.0.1:{free_port()}",  # nobody listens there
            "--hub-revision",
            "latest",
        ]
    )
    assert code == monitor.EXIT_CANNOT_RUN
    assert "cannot reach the Hub" in capsys.readouterr().err


def test_vertex_target_monitors_a_hub_revision_only(capsys):
    with pytest.raises(SystemExit) as exit_info:
        monitor.main(["--target", "vertex"])
    assert exit_info.value.code == 2
    assert "--hub-revision" in capsys.readouterr().err
