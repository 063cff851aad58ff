"""The HFPusher component: executor, a real LocalDagRunner pipeline, and a compiled Vertex spec.

The pipeline and the compiled spec are the slow tier: importing TFX's orchestration (LocalDagRunner,
KubeflowV2DagRunner) costs about 8 s before a single test runs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml
from hf_local_hub import LocalHub
from hf_pusher_helpers import TOKEN, USER, download, tree_digest, write_tfma_evaluation
from huggingface_hub import HfApi
from tfx.types import standard_artifacts
from tfx_hf_pusher.component import HFPusher
from tfx_hf_pusher.credentials import TokenNotFoundError
from tfx_hf_pusher.executor import Executor

REPO = f"{USER}/pets-unet"
SPACE = f"{USER}/pets-demo"


def _artifacts(model_dir: Path, tmp_path: Path, blessed: int | None) -> tuple[dict, dict]:
    model = standard_artifacts.Model()
    model.uri = str(model_dir)
    inputs = {"model": [model]}
    if blessed is not None:
        blessing = standard_artifacts.ModelBlessing()
        blessing.uri = str(tmp_path / "blessing")
        blessing.set_int_custom_property("blessed", blessed)
        inputs["model_blessing"] = [blessing]
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / "pushed")
    return inputs, {"pushed_model": [pushed]}


def test_unblessed_model_is_not_pushed(
    hub: LocalHub, model_artifact_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    inputs, outputs = _artifacts(model_artifact_dirs[0], tmp_path, blessed=0)
    Executor().Do(inputs, outputs, {"repo_id": REPO})

    pushed = outputs["pushed_model"][0]
    assert pushed.get_int_custom_property("pushed") == 0
    assert not pushed.has_custom_property("repo_id")
    assert hub.stats.requests == 0  # nothing created on the Hub


def test_blessed_model_without_token_fails_with_a_clear_message(
    hub: LocalHub,
    model_artifact_dirs: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PETS_HF_TOKEN", raising=False)
    inputs, outputs = _artifacts(model_artifact_dirs[0], tmp_path, blessed=1)
    with pytest.raises(TokenNotFoundError, match="PETS_HF_TOKEN is not set"):
        Executor().Do(inputs, outputs, {"repo_id": REPO, "token_env_var": "PETS_HF_TOKEN"})
    assert hub.stats.requests == 0


def test_executor_puts_evaluator_metrics_on_the_card(
    hub: LocalHub,
    model_artifact_dirs: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    inputs, outputs = _artifacts(model_artifact_dirs[0], tmp_path, blessed=1)
    evaluation = standard_artifacts.ModelEvaluation()
    evaluation.uri = str(tmp_path / "evaluation")
    write_tfma_evaluation(tmp_path / "evaluation", {"mean_iou": 0.625})
    inputs["evaluation"] = [evaluation]
    card = json.dumps({"pipeline_tag": "image-segmentation", "eval_dataset": "pets eval"})
    Executor().Do(inputs, outputs, {"repo_id": REPO, "model_card": card})

    pushed = outputs["pushed_model"][0]
    assert pushed.get_int_custom_property("pushed") == 1
    files = download(hub, REPO, pushed.get_string_custom_property("commit_id"), tmp_path / "c")
    meta = yaml.safe_load(files["README.md"].decode().split("---\n")[1])
    [result] = meta["model-index"][0]["results"]
    assert result["dataset"]["name"] == "pets eval"
    assert result["metrics"] == [{"type": "mean_iou", "value": 0.625, "name": "mean_iou"}]


def _pipeline(model_dir: Path, template: Path, root: str, metadata: Path | None = None):
    from tfx.dsl.components.common.importer import Importer
    from tfx.orchestration import metadata as tfx_metadata
    from tfx.orchestration import pipeline as tfx_pipeline

    model = Importer(source_uri=str(model_dir), artifact_type=standard_artifacts.Model).with_id(
        "model_importer"
    )
    blessing = Importer(
        source_uri=str(model_dir.parent / "blessing"),
        artifact_type=standard_artifacts.ModelBlessing,
        custom_properties={"blessed": 1},
    ).with_id("blessing_importer")
    pusher = HFPusher(
        model=model.outputs["result"],
        model_blessing=blessing.outputs["result"],
        repo_id=REPO,
        private=False,
        model_card={"pipeline_tag": "image-segmentation", "license": "apache-2.0"},
        space_repo_id=SPACE,
        space_template=str(template),
    )
    return tfx_pipeline.Pipeline(
        pipeline_name="pets-hf",
        pipeline_root=root,
        components=[model, blessing, pusher],
        metadata_connection_config=(
            tfx_metadata.sqlite_metadata_connection_config(str(metadata)) if metadata else None
        ),
    )


@pytest.mark.slow
def test_pipeline_pushes_and_records_results_without_the_token(
    hub: LocalHub,
    api: HfApi,
    model_artifact_dirs: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from ml_metadata.metadata_store import metadata_store
    from tfx.orchestration import metadata as tfx_metadata
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    caplog.set_level(logging.DEBUG)
    model_dir = model_artifact_dirs[0]
    model_before = tree_digest(model_dir)
    template = tmp_path / "template"
    template.mkdir()
    (template / "app.py").write_text('MODEL = "%%MODEL_REPO_ID%%@%%MODEL_REVISION%%"\n')
    metadata = tmp_path / "mlmd.sqlite"

    LocalDagRunner().run(_pipeline(model_dir, template, str(tmp_path / "root"), metadata))

    config = tfx_metadata.sqlite_metadata_connection_config(str(metadata))
    store = metadata_store.MetadataStore(config)
    [pushed] = store.get_artifacts_by_type("PushedModel")
    props = {key: value for key, value in pushed.custom_properties.items()}
    assert props["pushed"].int_value == 1
    branch, commit_id = props["branch"].string_value, props["commit_id"].string_value
    assert props["repo_id"].string_value == REPO
    assert props["repo_url"].string_value == f"{hub.url}/{REPO}/tree/{branch}"
    assert props["space_url"].string_value == f"{hub.url}/spaces/{SPACE}"
    assert props["pushed_version"].string_value == branch.removeprefix("v")
    assert api.model_info(REPO, revision=branch).sha == commit_id
    assert tree_digest(model_dir) == model_before

    files = download(hub, REPO, commit_id, tmp_path / "cache")
    card = files["README.md"].decode()
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["tfx_pipeline"] == {"pipeline": "pets-hf", "component": "HFPusher"}
    assert str(model_dir) not in card and str(tmp_path) not in card  # no private paths
    space = download(hub, SPACE, "main", tmp_path / "space", repo_type="space")
    assert space["app.py"].decode() == f'MODEL = "{REPO}@{commit_id}"\n'

    executions = store.get_executions()
    exec_text = json.dumps(
        [{k: str(v) for k, v in e.custom_properties.items()} for e in executions]
    )
    assert "token_env_var" in exec_text and "HF_TOKEN" in exec_text  # only the variable name
    captured = capfd.readouterr()
    for text in (metadata.read_bytes().decode("latin-1"), caplog.text, captured.out, captured.err):
        assert TOKEN not in text
    assert TOKEN not in card


@pytest.mark.slow
def test_compiled_vertex_pipeline_holds_no_token(
    model_artifact_dirs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    template = tmp_path / "template"
    template.mkdir()
    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(
            default_image="europe-docker.pkg.dev/project/repo/pipeline:1"
        ),
        output_dir=str(tmp_path),
        output_filename="pipeline.json",
    )
    runner.run(_pipeline(model_artifact_dirs[0], template, "gs://bucket/root"), write_out=True)

    text = (tmp_path / "pipeline.json").read_text()
    spec = json.loads(text)
    executors = spec["pipelineSpec"]["deploymentSpec"]["executors"]
    assert any("tfx_hf_pusher.executor.Executor" in json.dumps(e) for e in executors.values())
    assert REPO in text and '"token_env_var"' in text
    assert TOKEN not in text and "access_token" not in text
