"""PipelineConfig: defaults < SEGPIPE_* environment < CLI flags, and clear validation errors."""

from __future__ import annotations

import argparse
import dataclasses
import inspect

import pytest
from segmentation_pipeline.config import (
    TARGET_LOCAL,
    TARGET_VERTEX,
    ConfigError,
    PipelineConfig,
    add_config_arguments,
    load_config,
    parse_config,
)

VERTEX_ENV = {
    "SEGPIPE_PROJECT": "env-project",
    "SEGPIPE_BUCKET": "env-bucket",
    "SEGPIPE_IMAGE_URI": "europe-docker.pkg.dev/env-project/repo/pipeline:1",
}


def parse(argv: list[str], environ: dict[str, str]) -> PipelineConfig:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    return load_config(parser.parse_args(argv), environ)


def test_defaults_work_for_the_local_run_and_hold_no_cloud_identity():
    config = load_config(environ={})
    config.validate_for(TARGET_LOCAL)
    assert config == PipelineConfig()
    assert (config.project, config.bucket, config.image_uri, config.hf_model_repo_id) == ("",) * 4
    assert config.enable_cache and not config.enable_dataflow


def test_precedence_defaults_then_env_then_cli():
    environ = {"SEGPIPE_TRAIN_STEPS": "7", "SEGPIPE_REGION": "europe-west4", **VERTEX_ENV}
    from_env = parse([], environ)
    assert (from_env.train_steps, from_env.region) == (7, "europe-west4")
    assert from_env.project == "env-project"
    assert from_env.epochs == PipelineConfig().epochs  # untouched field keeps its default

    from_cli = parse(["--train-steps", "9", "--project", "cli-project"], environ)
    assert (from_cli.train_steps, from_cli.project) == (9, "cli-project")
    assert from_cli.region == "europe-west4"  # env still shows through where no flag is given


def test_run_defaults_sit_between_the_defaults_and_the_environment():
    """A demo dataset's settings (e.g. a smaller image size) under whatever env and flags say."""
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    layered = {"image_size": 64, "train_steps": 5, "epochs": 1}
    config = load_config(
        parser.parse_args(["--epochs", "2"]), {"SEGPIPE_TRAIN_STEPS": "6"}, layered
    )
    assert (config.image_size, config.train_steps, config.epochs) == (64, 6, 2)


def test_every_field_has_an_env_var_and_a_flag():
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    flags = {action.dest for action in parser._actions}
    for field in dataclasses.fields(PipelineConfig):
        assert field.name in flags
        assert field.metadata["help"]


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("1", True), ("off", False), ("No", False)]
)
def test_booleans_from_env_and_negatable_flags(raw, expected):
    assert parse([], {"SEGPIPE_ENABLE_DATAFLOW": raw}).enable_dataflow is expected
    assert parse(["--no-enable-cache"], {}).enable_cache is False
    assert parse(["--enable-dataflow"], {"SEGPIPE_ENABLE_DATAFLOW": "false"}).enable_dataflow


def test_tuple_field_from_env_and_cli():
    assert parse([], {"SEGPIPE_DECODER_FILTERS": "128,64,32,16"}).decoder_filters == (
        128,
        64,
        32,
        16,
    )
    assert parse(["--decoder-filters", "8,8,8,8"], {}).decoder_filters == (8, 8, 8, 8)


def test_bad_env_values_name_the_variable():
    with pytest.raises(ConfigError, match=r"SEGPIPE_TRAIN_STEPS.*expected int.*'many'"):
        load_config(environ={"SEGPIPE_TRAIN_STEPS": "many"})
    with pytest.raises(ConfigError, match="expected true/false"):
        load_config(environ={"SEGPIPE_ENABLE_CACHE": "maybe"})


def test_unknown_env_variable_is_reported_as_a_typo():
    with pytest.raises(ConfigError, match=r"SEGPIPE_TRAIN_STEP .*typo"):
        load_config(environ={"SEGPIPE_TRAIN_STEP": "3"})


def test_bad_cli_value_exits_with_the_field_named(capsys):
    with pytest.raises(SystemExit):
        parse_config(["--max-mean-iou-drop", "2"], environ={})
    assert "max_mean_iou_drop (env SEGPIPE_MAX_MEAN_IOU_DROP, flag --max-mean-iou-drop)" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pipeline_name": "My_Pipeline"}, "pipeline_name .*lower-case"),
        ({"train_steps": -1}, "train_steps .*>= 1"),
        ({"batch_size": 0}, "batch_size .*>= 1"),
        ({"min_mean_iou": 1.5}, r"min_mean_iou .*\[0, 1\]"),
        ({"training_accelerator_type": "NVIDIA_TESLA_T4"}, "together"),
        ({"hf_model_repo_id": "no-namespace"}, "namespace/name"),
        ({"hf_space_repo_id": "me/space"}, "needs hf_model_repo_id"),
        ({"hf_token_env_var": "hf_abcdef secret"}, "NAME of an environment variable"),
        ({"serving_min_replicas": 3, "serving_max_replicas": 2}, "serving_max_replicas"),
        ({"decoder_filters": (8, 8)}, "decoder_filters"),
        (
            {"model_architecture": "segformer"},
            "model_architecture .*choose one of: unet_mobilenetv2, deeplabv3plus, segformer_b0",
        ),
        ({"model_backbone": "xception"}, "model_backbone .*mobilenetv2, resnet50v2"),
    ],
)
def test_invalid_values_are_rejected_with_the_field_env_and_flag(changes, message):
    with pytest.raises(ConfigError, match=message) as error:
        PipelineConfig(**changes)
    assert "(env SEGPIPE_" in str(error.value) and ", flag --" in str(error.value)


def test_all_problems_are_reported_at_once():
    with pytest.raises(ConfigError) as error:
        PipelineConfig(train_steps=-1, batch_size=0)
    assert "train_steps" in str(error.value) and "batch_size" in str(error.value)


def test_vertex_needs_project_bucket_and_image():
    with pytest.raises(ConfigError) as error:
        PipelineConfig().validate_for(TARGET_VERTEX)
    for name in ("project", "bucket", "image_uri"):
        assert f"{name} (env SEGPIPE_{name.upper()}" in str(error.value)
    config = load_config(environ=VERTEX_ENV)
    config.validate_for(TARGET_VERTEX)
    assert config.pipeline_root_location(TARGET_VERTEX) == (
        "gs://env-bucket/pipeline_root/segmentation-pipeline"
    )
    assert config.data_location(TARGET_VERTEX) == "gs://env-bucket/data"


def test_vertex_rejects_local_paths_and_bucket_uris():
    with pytest.raises(ConfigError, match=r"data_uri .*gs://"):
        load_config(environ=VERTEX_ENV, data_uri="/tmp/data").validate_for(TARGET_VERTEX)
    with pytest.raises(ConfigError, match="bucket name only"):
        load_config(environ=VERTEX_ENV, bucket="gs://b").validate_for(TARGET_VERTEX)


def test_dataflow_is_refused_for_local_runs():
    with pytest.raises(ConfigError, match=r"enable_dataflow .*only on Vertex"):
        PipelineConfig(enable_dataflow=True).validate_for(TARGET_LOCAL)


def test_local_locations_are_absolute_and_under_local_dir(tmp_path):
    config = PipelineConfig(local_dir=str(tmp_path / "runs"))
    assert config.data_location(TARGET_LOCAL) == str(tmp_path / "runs" / "data")
    assert config.pipeline_root_location(TARGET_LOCAL) == str(tmp_path / "runs" / "pipeline_root")
    assert config.metadata_path == str(tmp_path / "runs" / "metadata.sqlite")


def test_config_rejects_train_steps_below_one():
    with pytest.raises(ConfigError, match=r"train_steps \(env SEGPIPE_TRAIN_STEPS.*>= 1, got 0"):
        PipelineConfig(train_steps=0)


@pytest.mark.parametrize("name", ["learning_rate", "model_alpha", "min_mean_iou"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_config_rejects_non_finite_floats(name, value):
    with pytest.raises(ConfigError, match=rf"{name} \(env .*finite number, got {value}"):
        PipelineConfig(**{name: value})


def test_config_rejects_non_finite_floats_from_the_environment():
    with pytest.raises(ConfigError, match=r"learning_rate .*finite number, got nan"):
        load_config(environ={"SEGPIPE_LEARNING_RATE": "nan"})


def test_config_rejects_serving_min_replicas_below_one():
    with pytest.raises(ConfigError, match=r"serving_min_replicas .*>= 1, got 0"):
        PipelineConfig(serving_min_replicas=0)


@pytest.mark.parametrize("name", ["projects/p/secrets/hf-token", "hf-token/versions/2", "a b"])
def test_config_rejects_a_secret_name_with_a_slash(name):
    with pytest.raises(
        ConfigError, match=r"hf_token_secret_name .*not a Secret Manager secret NAME"
    ):
        PipelineConfig(hf_token_secret_name=name)


@pytest.mark.parametrize("uri", ["gs://", "gs:///data", "gs://-bad/x"])
def test_config_rejects_a_bare_gs_data_uri(uri):
    with pytest.raises(ConfigError, match=r"data_uri .*names no bucket"):
        PipelineConfig(data_uri=uri)
    with pytest.raises(ConfigError, match=r"pipeline_root .*names no bucket"):
        PipelineConfig(pipeline_root=uri)
    assert PipelineConfig(data_uri="gs://my-bucket").data_uri == "gs://my-bucket"


@pytest.mark.parametrize(
    "endpoint", ["http://hub.example.com", "http://10.0.0.5:8080", "http://[2001:db8::1]/"]
)
def test_config_refuses_a_non_loopback_http_hub_endpoint(endpoint):
    with pytest.raises(ConfigError, match=r"hf_endpoint .*token in clear text"):
        PipelineConfig(hf_endpoint=endpoint)


@pytest.mark.parametrize(
    "endpoint",
    ["https://huggingface.co", "http://127.0.0.1:8765", "http://localhost:1", "http://[::1]:9"],
)
def test_config_accepts_https_and_loopback_http_hub_endpoints(endpoint):
    assert PipelineConfig(hf_endpoint=endpoint).hf_endpoint == endpoint


def test_config_rejects_a_hub_endpoint_that_is_not_a_url():
    with pytest.raises(ConfigError, match=r"hf_endpoint .*not an http\(s\) URL"):
        PipelineConfig(hf_endpoint="huggingface.co")


def test_hub_repos_default_to_private():
    from tfx_hf_pusher.component import HFPusher

    config = PipelineConfig()
    assert config.hf_private is True
    assert config.hf_space_private is False
    # As the component's own defaults: a private model, a public demo Space.
    assert load_config(environ={"SEGPIPE_HF_PRIVATE": "false"}).hf_private is False
    defaults = inspect.signature(HFPusher.__init__).parameters
    assert (defaults["private"].default, defaults["space_private"].default) == (True, False)
