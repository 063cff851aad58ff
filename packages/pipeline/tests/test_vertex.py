"""The compiled Vertex pipeline JSON: components, image, Dataflow, custom_config, secrets."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from segmentation_pipeline import vertex
from segmentation_pipeline.config import load_config
from vertex_settings import FAKE_TOKEN, GCP_FLAGS, IMAGE

BASE_FLAGS = [
    *GCP_FLAGS,
    "--hf-space-repo-id",
    "someone/segmentation-demo",
    "--dataset-spec",  # no data_prep output to read it from in these tests
    "oxford-pet",
]
FLAG_VALUES = {
    "project": "test-project",
    "region": "europe-west4",
    "bucket": "test-bucket",
    "pipeline_name": "seg-test",
    "image_uri": IMAGE,
    "hf_model_repo_id": "someone/segmentation",
    "hf_space_repo_id": "someone/segmentation-demo",
    "dataset_spec": "oxford-pet",
}
COMPONENTS = {
    "ImportExampleGen",
    "StatisticsGen",
    "ImportSchemaGen",
    "ExampleValidator",
    "AnomaliesGate",
    "Transform",
    "Trainer",
    "Evaluator",
    "Pusher",
    "HFPusher",
}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict[str, dict]:
    """Pipeline JSON with and without Dataflow, compiled with a fake HF token in the env."""
    out = tmp_path_factory.mktemp("vertex")
    previous = os.environ.get("HF_TOKEN")
    os.environ["HF_TOKEN"] = FAKE_TOKEN
    try:
        results = {}
        for name, extra in (("plain", []), ("dataflow", ["--enable-dataflow"])):
            path = out / f"{name}.json"
            assert vertex.main(["compile", *BASE_FLAGS, *extra, "--output", str(path)]) == 0
            results[name] = {"text": path.read_text(), "json": json.loads(path.read_text())}
        return results
    finally:
        if previous is None:
            os.environ.pop("HF_TOKEN")
        else:
            os.environ["HF_TOKEN"] = previous


def executors(spec: dict) -> dict[str, dict]:
    return spec["pipelineSpec"]["deploymentSpec"]["executors"]


def container_args(spec: dict, node: str) -> list[str]:
    return executors(spec)[f"{node}_executor"]["container"]["args"]


def exec_properties(spec: dict, node: str) -> dict:
    parameters = spec["pipelineSpec"]["root"]["dag"]["tasks"][node]["inputs"]["parameters"]
    constants = {
        name: value["runtimeValue"]["constantValue"]
        for name, value in parameters.items()
        if "runtimeValue" in value
    }
    return {name: next(iter(constant.values())) for name, constant in constants.items()}


def test_every_component_is_compiled_into_one_dag(compiled):
    spec = compiled["plain"]["json"]
    tasks = set(spec["pipelineSpec"]["root"]["dag"]["tasks"])
    assert tasks >= COMPONENTS
    assert spec["displayName"] == "seg-test" or spec["pipelineSpec"]["pipelineInfo"]["name"] == (
        "seg-test"
    )
    assert spec["runtimeConfig"]["gcsOutputDirectory"] == "gs://test-bucket/pipeline_root/seg-test"


def test_every_container_step_runs_the_pipeline_image(compiled):
    for name, executor in executors(compiled["plain"]["json"]).items():
        if "container" in executor:
            assert executor["container"]["image"] == IMAGE, name


def test_transform_reads_the_validated_schema_from_the_gate(compiled):
    tasks = compiled["plain"]["json"]["pipelineSpec"]["root"]["dag"]["tasks"]
    schema_input = tasks["Transform"]["inputs"]["artifacts"]["schema"]["taskOutputArtifact"]
    assert schema_input["producerTask"] == "AnomaliesGate"
    trainer_schema = tasks["Trainer"]["inputs"]["artifacts"]["schema"]["taskOutputArtifact"]
    assert trainer_schema["producerTask"] == "AnomaliesGate"


def test_dataflow_options_only_when_enabled(compiled):
    for node in ("ImportExampleGen", "StatisticsGen", "Transform", "Evaluator"):
        assert "--runner=DataflowRunner" not in container_args(compiled["plain"]["json"], node)
        args = container_args(compiled["dataflow"]["json"], node)
        assert "--runner=DataflowRunner" in args
        assert "--direct_running_mode=in_memory" not in args  # no DirectRunner flags mixed in
        for expected in (
            "--project=test-project",
            "--region=europe-west4",
            "--temp_location=gs://test-bucket/dataflow/tmp",
            "--machine_type=n1-standard-4",
            "--max_num_workers=4",
            f"--sdk_container_image={IMAGE}",
        ):
            assert expected in args, (node, expected)
    for node in ("Trainer", "Pusher", "HFPusher", "AnomaliesGate"):
        assert "--runner=DataflowRunner" not in container_args(compiled["dataflow"]["json"], node)


def test_trainer_and_pusher_run_on_vertex_through_custom_config(compiled):
    spec = compiled["plain"]["json"]
    trainer = json.loads(exec_properties(spec, "Trainer")["custom_config"])
    assert trainer["ai_platform_enable_vertex"] is True
    assert trainer["ai_platform_vertex_region"] == "europe-west4"
    job = trainer["ai_platform_training_args"]
    assert job["project"] == "test-project"
    pool = job["worker_pool_specs"][0]
    assert pool["container_spec"]["image_uri"] == IMAGE
    assert pool["machine_spec"] == {"machine_type": "n1-standard-8"}
    assert trainer["alpha"] > 0 and trainer["epochs"] >= 1  # model hyperparameters ride along

    pusher = json.loads(exec_properties(spec, "Pusher")["custom_config"])
    assert pusher["ai_platform_enable_vertex"] is True
    assert pusher["ai_platform_serving_args"]["project_id"] == "test-project"
    assert pusher["ai_platform_serving_args"]["endpoint_name"] == "segmentation-endpoint"
    assert "tfx.extensions.google_cloud_ai_platform" in json.dumps(
        executors(spec)["Pusher_executor"]
    )


def test_the_dataset_spec_classes_reach_transform_trainer_and_hub(compiled):
    from segmentation_data_prep.presets import OXFORD_PET

    spec = compiled["plain"]["json"]
    transform = json.loads(exec_properties(spec, "Transform")["custom_config"])
    assert (transform["num_classes"], transform["void_label"]) == (3, None)
    trainer = json.loads(exec_properties(spec, "Trainer")["custom_config"])
    assert trainer["dataset_spec"] == OXFORD_PET.to_dict()
    hf = exec_properties(spec, "HFPusher")
    assert json.loads(hf["labels"]) == OXFORD_PET.labels_json()
    assert json.loads(hf["class_metrics"]) == {
        "0": "iou_pet",
        "1": "iou_background",
        "2": "iou_border",
    }


def test_hf_token_is_referenced_by_name_only(compiled):
    for result in compiled.values():
        assert FAKE_TOKEN not in result["text"]
    hf = exec_properties(compiled["plain"]["json"], "HFPusher")
    assert hf["token_secret"] == "projects/test-project/secrets/hf-token"
    assert hf["repo_id"] == "someone/segmentation"
    assert re.fullmatch(
        r"gs://test-bucket/pipeline_root/seg-test/assets/space_template-[0-9a-f]{32}",
        hf["space_template"],
    )


def test_files_read_by_path_point_to_gcs(compiled):
    schema = exec_properties(compiled["plain"]["json"], "ImportSchemaGen")["schema_file"]
    assert re.fullmatch(
        r"gs://test-bucket/pipeline_root/seg-test/assets/schema-[0-9a-f]{32}/schema.pbtxt", schema
    )
    data = exec_properties(compiled["plain"]["json"], "ImportExampleGen")["input_base"]
    assert data == "gs://test-bucket/data"


def write_template(root: Path, version: str) -> Path:
    """A Space app directory: one file differs per version, a pycache that must not travel."""
    (root / "static").mkdir(parents=True)
    (root / "app.py").write_text(f"VERSION = {version!r}\n")
    (root / "static" / "style.css").write_text("body { margin: 0 }\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\x00compiled")
    return root


def test_vertex_assets_are_content_addressed_two_submits_keep_both(gcs_emulator, tmp_path):
    """What `submit` does before creating the job, twice, with two different Space templates."""
    from google.cloud import storage
    from segmentation_data_prep import record_format

    bucket = "vertex-assets-test"
    gcs_emulator.create_bucket(bucket)
    client = storage.Client(project="test-project")  # the emulator: no credentials needed
    settings = {**FLAG_VALUES, "bucket": bucket}
    submits = []
    for version in ("one", "two"):
        template = write_template(tmp_path / f"template-{version}", version)
        config = load_config(environ={}, **settings, hf_space_template=str(template))
        compiled_path = vertex.compile_pipeline(config, str(tmp_path / "p.json"))
        spec = json.loads(Path(compiled_path).read_text())
        uploaded = vertex.upload_assets(config, client)
        submits.append(
            (
                template,
                exec_properties(spec, "HFPusher")["space_template"],
                exec_properties(spec, "ImportSchemaGen")["schema_file"],
                uploaded,
            )
        )

    (first, first_uri, first_schema, _), (second, second_uri, second_schema, _) = submits
    assert first_uri != second_uri
    assert first_schema == second_schema  # same schema, same URI: ImportSchemaGen stays cached
    blobs = {blob.name: blob for blob in gcs_emulator.list_blobs(bucket)}
    for template, uri in ((first, first_uri), (second, second_uri)):
        prefix = uri.removeprefix(f"gs://{bucket}/")
        stored = {name.removeprefix(prefix + "/") for name in blobs if name.startswith(prefix)}
        assert stored == {"app.py", "static/style.css"}  # no __pycache__
        for name in stored:
            assert blobs[f"{prefix}/{name}"].download_as_bytes() == (template / name).read_bytes()
    with open(record_format.schema_path(), "rb") as f:
        assert blobs[first_schema.removeprefix(f"gs://{bucket}/")].download_as_bytes() == f.read()

    # Submitting the first template again rewrites nothing and still lists every file.
    config = load_config(environ={}, **settings, hf_space_template=str(first))

    def written_at() -> dict[str, object]:
        return {name: gcs_emulator.bucket(bucket).get_blob(name).updated for name in blobs}

    before = written_at()
    assert vertex.upload_assets(config, client) == submits[0][3]
    assert written_at() == before
    assert {blob.name for blob in gcs_emulator.list_blobs(bucket)} == set(blobs)


def test_compile_without_gcp_settings_fails_clearly(capsys):
    with pytest.raises(SystemExit):
        vertex.main(["compile", "--image-uri", IMAGE])
    error = capsys.readouterr().err
    assert "project (env SEGPIPE_PROJECT, flag --project): is required for Vertex runs" in error
    assert "bucket (env SEGPIPE_BUCKET" in error


def test_submit_without_credentials_fails_clearly(tmp_path, monkeypatch, capsys):
    # No usable Application Default Credentials: a key file that does not exist, no gcloud config.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing-key.json"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    with pytest.raises(SystemExit) as error:
        vertex.main(["submit", *BASE_FLAGS, "--output", str(tmp_path / "p.json")])
    message = str(error.value)
    assert "no Google Cloud credentials found" in message
    assert "gcloud auth application-default login" in message
    assert "Nothing was sent to Google Cloud" in message
    assert FAKE_TOKEN not in message + capsys.readouterr().out


def pip_on_path(tmp_path: Path) -> str:
    """PATH whose `pip` lists this interpreter's packages.

    The TFX CLI runs `pip freeze --local` to check that kfp is installed before compiling for
    Vertex. uv-made venvs (nox sessions, .venv) have no pip, so without pip a stand-in `pip`
    prints this interpreter's distributions the way `pip freeze` does.
    """
    bin_dir = Path(sys.executable).parent
    try:
        import pip  # noqa: F401
    except ImportError:
        shim = tmp_path / "shim-bin" / "pip"
        shim.parent.mkdir()
        shim.write_text(
            f"#!{sys.executable}\n"
            "import importlib.metadata as m\n"
            "print('\\n'.join(f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions()))\n"
        )
        shim.chmod(0o755)
        return os.pathsep.join([str(shim.parent), str(bin_dir), os.environ["PATH"]])
    return os.pathsep.join([str(bin_dir), os.environ["PATH"]])


@pytest.mark.slow
def test_tfx_cli_compiles_the_runner_file(tmp_path):
    runner_file = Path(vertex.__file__).with_name("vertex_runner.py")
    env = {
        **os.environ,
        "PATH": pip_on_path(tmp_path),
        "SEGPIPE_PROJECT": "test-project",
        "SEGPIPE_BUCKET": "test-bucket",
        "SEGPIPE_IMAGE_URI": IMAGE,
        "SEGPIPE_PIPELINE_NAME": "cli-test",
        "SEGPIPE_DATASET_SPEC": "oxford-pet",
        "HF_TOKEN": FAKE_TOKEN,
    }
    tfx_cli = Path(sys.executable).with_name("tfx")
    result = subprocess.run(
        [
            str(tfx_cli),
            "pipeline",
            "compile",
            "--engine",
            "vertex",
            "--pipeline-path",
            str(runner_file),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Pipeline cli-test compiled successfully" in result.stdout
    written = json.loads((tmp_path / "cli-test_pipeline.json").read_text())
    assert "Trainer" in written["pipelineSpec"]["root"]["dag"]["tasks"]
    assert FAKE_TOKEN not in (tmp_path / "cli-test_pipeline.json").read_text()
