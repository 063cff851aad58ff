"""The scheduled monitor on Vertex (issue 15): the compiled pipeline runs the monitor's own
command line with the same configuration, holds no secret, and scheduling fails clearly offline."""

from __future__ import annotations

import dataclasses
import json

import pytest
from segmentation_pipeline import monitor, vertex_monitor
from segmentation_pipeline.config import TARGET_VERTEX, PipelineConfig, config_flags, load_config
from vertex_settings import FAKE_TOKEN, GCP_FLAGS, IMAGE

FLAGS = [
    *GCP_FLAGS,
    "--hf-token-secret-name",
    "segmentation-hf-token",
    "--monitor-max-iou-drop",
    "0.08",
    "--data-uri",
    "gs://test-bucket/prepared",
]


@pytest.fixture
def compiled(tmp_path, monkeypatch):
    """(pipeline JSON text, its spec): compiled with a token in the environment and a local_dir
    that must not reach the JSON."""
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    output = tmp_path / "monitor.json"
    local_dir = tmp_path / "private-local-dir"
    code = vertex_monitor.main(
        ["compile", *FLAGS, "--local-dir", str(local_dir), "--output", str(output)]
    )
    assert code == 0
    text = output.read_text()
    return text, json.loads(text), local_dir


def only_container(spec: dict) -> dict:
    [executor] = spec["deploymentSpec"]["executors"].values()
    return executor["container"]


def test_the_step_runs_the_monitor_with_the_same_configuration(compiled):
    _, spec, _ = compiled
    container = only_container(spec)
    assert container["image"] == IMAGE
    assert container["command"][:3] == ["python", "-m", vertex_monitor.MONITOR_MODULE]

    args = monitor.build_parser().parse_args(container["command"][3:] + container["args"])
    assert args.target == TARGET_VERTEX
    assert args.hub_revision == "latest"
    expected = load_config(monitor.build_parser().parse_args(FLAGS), environ={})
    assert load_config(args, environ={}) == expected
    assert expected.monitor_max_iou_drop == 0.08 and expected.data_uri.endswith("/prepared")


def test_each_run_writes_its_result_under_the_pipeline_root(compiled):
    _, spec, _ = compiled
    container = only_container(spec)
    assert container["args"] == ["--output", "{{$.inputs.parameters['output']}}"]
    [task] = spec["root"]["dag"]["tasks"].values()
    output = task["inputs"]["parameters"]["output"]["runtimeValue"]["constant"]
    assert output == "gs://test-bucket/pipeline_root/seg-test/monitor/{{$.pipeline_job_uuid}}.json"
    assert task["cachingOptions"] == {}  # never cached: every run scores anew


def test_no_secret_or_local_path_is_compiled_in(compiled):
    text, _, local_dir = compiled
    assert FAKE_TOKEN not in text
    assert str(local_dir) not in text
    assert "segmentation-hf-token" in text  # the secret's name, read by the step at run time


def test_schedule_without_credentials_fails_clearly(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing-key.json"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    with pytest.raises(SystemExit) as error:
        vertex_monitor.main(["schedule", *FLAGS, "--output", str(tmp_path / "m.json")])
    message = str(error.value)
    assert message.startswith("schedule: no Google Cloud credentials found")
    assert "Nothing was sent to Google Cloud" in message
    assert (tmp_path / "m.json").exists()  # compiled, ready for a retry with credentials


@pytest.mark.parametrize("cron", ["every day", "0 6 * *", "0 6 * * * *", "TZ=Europe/Paris"])
def test_bad_cron_is_a_usage_error_before_compiling(cron, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        vertex_monitor.main(["schedule", *FLAGS, "--cron", cron, "--output", str(tmp_path / "m")])
    assert exit_info.value.code == 2
    assert "is not a cron schedule" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("cron", ["0 6 * * *", "*/15 0-6 1,15 * 1-5", "TZ=Europe/Paris 30 2 * * 0"])
def test_cron_schedules_are_accepted(cron):
    assert vertex_monitor.check_cron(f" {cron} ") == cron


def test_a_model_repo_is_required(tmp_path, capsys):
    without_repo = [f for f in FLAGS if f not in ("--hf-model-repo-id", "someone/segmentation")]
    with pytest.raises(SystemExit) as exit_info:
        vertex_monitor.main(["compile", *without_repo, "--output", str(tmp_path / "m")])
    assert exit_info.value.code == 2
    assert "hf_model_repo_id" in capsys.readouterr().err


def test_config_flags_rebuild_every_kind_of_field():
    config = PipelineConfig(
        project="p",
        train_steps=7,  # int
        learning_rate=0.0125,  # float
        augment=not PipelineConfig.augment,  # bool, either way
        enable_cache=not PipelineConfig.enable_cache,
        decoder_filters=(48, 32, 24, 8),  # tuple
        loss="focal+dice",  # str with a '+'
    )
    parser = monitor.build_parser()
    flags = config_flags(config)
    assert load_config(parser.parse_args(flags), environ={}) == config
    assert "--local-dir" not in config_flags(
        dataclasses.replace(config, local_dir="/somewhere"), leave_out=("local_dir",)
    )
