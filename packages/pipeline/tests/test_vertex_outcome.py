"""The CD summary of a Vertex run, rendered offline from recorded runs (issue 16, CD part).

The fixtures are PipelineJobs as `aiplatform.PipelineJob.to_dict()` returns them for this
pipeline (task names, TFX artifact metadata with int properties as floats), plus what
`run_summary.evaluation_results` returned for the Evaluator's output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.cloud.aiplatform.constants.pipeline import _PIPELINE_COMPLETE_STATES
from google.cloud.aiplatform_v1.types import pipeline_job
from google.protobuf import json_format
from segmentation_pipeline import vertex_outcome

DATA = Path(__file__).parent / "data" / "vertex_outcome"
RECORDED = sorted(path.stem for path in DATA.glob("*.json"))
CONSOLE = (
    "https://console.cloud.google.com/vertex-ai/locations/europe-west4/pipelines/runs/"
    "segmentation-pipeline-20261125143015?project=123456789012"
)
HUB_REVISION = "8b1e6d2f0c4a9e7b5d3f1a2c4e6b8d0f1a3c5e7b"
SPACE = "https://huggingface.co/spaces/acme/segmentation-demo"


def recorded(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


def run_cli(name: str, tmp_path: Path, capsys) -> tuple[int, str, str]:
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    code = vertex_outcome.main(
        ["--from-json", str(DATA / f"{name}.json"), "--summary", str(summary)]
    )
    return code, summary.read_text(), capsys.readouterr().out


def test_recorded_runs_are_pipeline_jobs_as_aiplatform_returns_them() -> None:
    assert RECORDED == ["failed", "succeeded_blessed", "succeeded_not_blessed"]
    for name in RECORDED:
        job = recorded(name)["pipeline_job"]
        message = pipeline_job.PipelineJob()._pb
        json_format.ParseDict(job, message)  # unknown fields or bad enum values raise
        assert json_format.MessageToDict(message) == job, name


def test_final_states_are_aiplatforms() -> None:
    assert {state.name for state in _PIPELINE_COMPLETE_STATES} == vertex_outcome.FINAL_STATES


def test_succeeded_and_blessed(tmp_path, capsys) -> None:
    code, summary, out = run_cli("succeeded_blessed", tmp_path, capsys)
    assert code == 0
    assert summary.startswith("earlier step\n## Vertex AI pipeline run: succeeded\n")
    assert out == summary.removeprefix("earlier step\n")
    assert f"- Run: [segmentation-pipeline]({CONSOLE})" in summary
    assert "- Blessed: yes\n" in summary
    assert (
        "- Hugging Face Hub: https://huggingface.co/acme/segmentation-unet, version "
        f"`3f9a1c07be52`, revision `{HUB_REVISION}`"
    ) in summary
    assert f"- Space: {SPACE}\n" in summary
    assert "| mean_iou [candidate] | 0.6812 |" in summary
    assert "| mean_iou [diff] | 0.0272 |" in summary
    assert "| pixel_accuracy [baseline] | 0.8957 |" in summary
    assert "Failed step" not in summary and "Error" not in summary


def test_succeeded_but_not_blessed_pushes_nothing_and_passes(tmp_path, capsys) -> None:
    code, summary, _ = run_cli("succeeded_not_blessed", tmp_path, capsys)
    assert code == 0  # the run worked; the gate said no, which is its job
    assert "- Blessed: no: the model did not pass the evaluation thresholds" in summary
    assert "- Hugging Face Hub: nothing pushed (model not blessed)" in summary
    assert "Space:" not in summary and "revision" not in summary
    assert "| mean_iou [diff] | -0.0711 |" in summary
    # A '|' in a value would break the table row.
    assert "| failed thresholds | mean_iou (vs baseline): Metric mean_iou" in summary


def test_failed_run_names_the_step_and_fails(tmp_path, capsys) -> None:
    code, summary, _ = run_cli("failed", tmp_path, capsys)
    assert code == 1
    assert summary.startswith("earlier step\n## Vertex AI pipeline run: failed\n")
    assert (
        "- Error: The DAG failed because some tasks failed. The failed tasks are: [Trainer]."
        in (summary)
    )
    assert "- Failed step `Trainer`: The replica workerpool0-0 exited" in summary
    assert "train_steps must be >= 1, got 0" in summary
    assert "- Blessed: unknown (the Evaluator produced no blessing)" in summary
    assert "- Hugging Face Hub: not reached" in summary
    assert "| metric |" not in summary


def test_a_run_still_going_is_not_a_success() -> None:
    job = recorded("succeeded_blessed")["pipeline_job"] | {"state": "PIPELINE_STATE_RUNNING"}
    markdown, code = vertex_outcome.summarize(job, None)
    assert code == 2
    assert markdown.startswith("## Vertex AI pipeline run: running\n")


def test_unreadable_metrics_are_reported_not_fatal() -> None:
    markdown, code = vertex_outcome.summarize(recorded("succeeded_blessed")["pipeline_job"], None)
    assert code == 0
    evaluation = (
        "gs://acme-seg-prod-tfx-seg/pipeline-root/segmentation-pipeline/123456789012/"
        "segmentation-pipeline-20261125143015/Evaluator_"
    )
    assert f"- Metrics: could not be read from `{evaluation}" in markdown


def test_without_credentials_it_fails_clearly(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing-key.json"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    summary = tmp_path / "summary.md"
    job = "projects/acme-seg-prod/locations/europe-west4/pipelineJobs/segmentation-pipeline-1"
    with pytest.raises(SystemExit) as error:
        vertex_outcome.main([job, "--wait", "--summary", str(summary)])
    message = str(error.value)
    assert message.startswith("vertex_outcome: no Google Cloud credentials found")
    assert "gcloud auth application-default login" in message
    assert "Nothing was read" in message
    assert not summary.exists()


def test_a_job_name_that_is_not_a_resource_name_is_refused() -> None:
    with pytest.raises(SystemExit) as error:
        vertex_outcome.main(["segmentation-pipeline-1", "--wait"])
    assert "is not a PipelineJob resource name" in str(error.value)
    assert "projects/<project>/locations/<region>/pipelineJobs/<id>" in str(error.value)
