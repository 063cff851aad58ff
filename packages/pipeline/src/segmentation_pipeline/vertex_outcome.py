"""The outcome of a Vertex AI pipeline run, as Markdown for a CD job summary, and an exit code.

    python -m segmentation_pipeline.vertex_outcome projects/P/locations/R/pipelineJobs/ID \
        [--wait [--timeout-minutes 360]] [--summary "$GITHUB_STEP_SUMMARY"]
    python -m segmentation_pipeline.vertex_outcome --from-json recorded_job.json

The CD workflow submits the pipeline and, when asked, waits here for the run to end: the summary
says whether the model was blessed, its evaluation metrics, the Hub revision it was pushed as and
the Space serving it; the exit code is 1 when the run failed or was cancelled, so the workflow
fails with it. Everything is read from the PipelineJob as `aiplatform` returns it
(`PipelineJob.to_dict()`): task states and the output artifacts' metadata, where TFX records the
custom properties of each artifact (Evaluator's `blessed`, HFPusher's `pushed`, `commit_id`...).
The metrics come from the Evaluator's output on GCS. `summarize` is a pure function of those
recorded outputs, so it is tested offline on recorded runs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tfx.components.evaluator import constants as evaluator_constants
from tfx.types import standard_component_specs
from tfx_hf_pusher.component import PUSHED_MODEL_KEY

from segmentation_pipeline.pipeline import EVALUATOR, HF_PUSHER

SUCCEEDED = "PIPELINE_STATE_SUCCEEDED"
# States after which a run never changes again (aiplatform's _PIPELINE_COMPLETE_STATES).
FINAL_STATES = frozenset(
    {SUCCEEDED, "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED", "PIPELINE_STATE_PAUSED"}
)
EXIT_OK, EXIT_RUN_FAILED, EXIT_NOT_FINISHED = 0, 1, 2
_JOB_NAME = re.compile(r"projects/([^/]+)/locations/([^/]+)/pipelineJobs/([^/]+)")


@dataclass
class RunOutcome:
    """What a PipelineJob says about one run; None where the run did not get that far."""

    job_name: str
    display_name: str
    state: str
    error: str = ""
    failed_tasks: list[tuple[str, str]] = field(default_factory=list)  # (task, message)
    blessed: bool | None = None
    evaluation_uri: str = ""
    pushed: bool | None = None
    hub_repo_url: str = ""
    hub_version: str = ""
    hub_revision: str = ""
    space_url: str = ""

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def succeeded(self) -> bool:
        return self.state == SUCCEEDED

    @property
    def console_url(self) -> str:
        match = _JOB_NAME.fullmatch(self.job_name)
        if not match:
            return ""
        project, region, job_id = match.groups()
        return (
            f"https://console.cloud.google.com/vertex-ai/locations/{region}/pipelines/runs/"
            f"{job_id}?project={project}"
        )


def outcome_from_job(job: Mapping[str, Any]) -> RunOutcome:
    """Reads a PipelineJob dict (`PipelineJob.to_dict()`, camelCase JSON) into a RunOutcome."""
    outcome = RunOutcome(
        job_name=job.get("name", ""),
        display_name=job.get("displayName", ""),
        state=job.get("state", "PIPELINE_STATE_UNSPECIFIED"),
        error=(job.get("error") or {}).get("message", ""),
    )
    tasks = {
        task.get("taskName", ""): task for task in job.get("jobDetail", {}).get("taskDetails", [])
    }
    outcome.failed_tasks = [
        (name, (task.get("error") or {}).get("message", "") or "no message")
        for name, task in tasks.items()
        if task.get("state") == "FAILED"
    ]
    blessing = _output_artifact(tasks.get(EVALUATOR), standard_component_specs.BLESSING_KEY)
    if blessing is not None:
        blessed = blessing.get("metadata", {}).get(
            evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY
        )
        outcome.blessed = None if blessed is None else blessed == evaluator_constants.BLESSED_VALUE
    evaluation = _output_artifact(tasks.get(EVALUATOR), standard_component_specs.EVALUATION_KEY)
    if evaluation is not None:
        outcome.evaluation_uri = evaluation.get("uri", "")
    pushed = _output_artifact(tasks.get(HF_PUSHER), PUSHED_MODEL_KEY)
    if pushed is not None:
        metadata = pushed.get("metadata", {})
        if "pushed" in metadata:
            outcome.pushed = metadata["pushed"] == 1
        outcome.hub_repo_url = metadata.get("repo_url", "")
        outcome.hub_version = metadata.get("pushed_version", "")
        outcome.hub_revision = metadata.get("commit_id", "")
        outcome.space_url = metadata.get("space_url", "")
    return outcome


def _output_artifact(task: Mapping[str, Any] | None, key: str) -> Mapping[str, Any] | None:
    """The task's one output artifact under `key` (None when the task did not produce it)."""
    if not task:
        return None
    artifacts = task.get("outputs", {}).get(key, {}).get("artifacts", [])
    return artifacts[0] if artifacts else None


def summarize(job: Mapping[str, Any], metrics: Mapping[str, str] | None) -> tuple[str, int]:
    """Markdown for the job summary and the exit code, from recorded run outputs.

    Args:
        job: the PipelineJob as `PipelineJob.to_dict()` returns it.
        metrics: `run_summary.evaluation_results` of the Evaluator's output (name -> value), or
            None when they could not be read.

    Returns:
        (markdown, exit code): 0 when the run succeeded (blessed or not), 1 when it ended any
        other way (failed, cancelled, paused), 2 when it has not finished.
    """
    outcome = outcome_from_job(job)
    state = outcome.state.removeprefix("PIPELINE_STATE_").lower()
    lines = [f"## Vertex AI pipeline run: {state}", ""]
    link = f"[{outcome.display_name or outcome.job_name}]({outcome.console_url})"
    lines.append(f"- Run: {link if outcome.console_url else outcome.job_name}")
    if outcome.error:
        lines.append(f"- Error: {_one_line(outcome.error)}")
    for task, message in outcome.failed_tasks:
        lines.append(f"- Failed step `{task}`: {_one_line(message)}")
    lines.append(f"- Blessed: {_blessed_text(outcome)}")
    lines.extend(_push_lines(outcome))
    if metrics:
        lines += ["", "| metric | value |", "| --- | --- |"]
        lines += [f"| {name} | {_cell(value)} |" for name, value in sorted(metrics.items())]
    elif outcome.evaluation_uri:
        lines.append(f"- Metrics: could not be read from `{outcome.evaluation_uri}`")
    if not outcome.finished:
        code = EXIT_NOT_FINISHED
    else:
        code = EXIT_OK if outcome.succeeded else EXIT_RUN_FAILED
    return "\n".join(lines) + "\n", code


def _blessed_text(outcome: RunOutcome) -> str:
    if outcome.blessed is None:
        return "unknown (the Evaluator produced no blessing)"
    return "yes" if outcome.blessed else "no: the model did not pass the evaluation thresholds"


def _push_lines(outcome: RunOutcome) -> list[str]:
    if outcome.pushed is None:
        return ["- Hugging Face Hub: not reached"]
    if not outcome.pushed:
        return ["- Hugging Face Hub: nothing pushed (model not blessed)"]
    lines = [
        f"- Hugging Face Hub: {outcome.hub_repo_url}, version `{outcome.hub_version}`, "
        f"revision `{outcome.hub_revision}`"
    ]
    if outcome.space_url:
        lines.append(f"- Space: {outcome.space_url}")
    return lines


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


def read_metrics(evaluation_uri: str) -> dict[str, str] | None:
    """The Evaluator's overall metrics and verdict, or None (reported) when unreadable."""
    if not evaluation_uri:
        return None
    from segmentation_pipeline.run_summary import evaluation_results

    try:
        return evaluation_results(evaluation_uri)
    except Exception as error:  # any read failure (GCS, TFMA) only leaves the metrics out
        print(f"vertex_outcome: metrics not read from {evaluation_uri}: {error}", file=sys.stderr)
        return None


def require_credentials() -> None:
    """Fails with what to do when no Application Default Credentials are available."""
    import google.auth
    from google.auth import exceptions as auth_exceptions

    try:
        google.auth.default()
    except auth_exceptions.DefaultCredentialsError as error:
        raise SystemExit(
            "vertex_outcome: no Google Cloud credentials found "
            f"({type(error).__name__}). Run `gcloud auth application-default login`, or set "
            "GOOGLE_APPLICATION_CREDENTIALS, or run where Workload Identity provides them (the "
            "CD workflow's auth step). Nothing was read. To render a recorded run offline, pass "
            "--from-json FILE."
        ) from None


def fetch_job(
    job_name: str,
    *,
    wait: bool = False,
    timeout_seconds: float = 6 * 3600,
    poll_seconds: float = 60,
) -> dict[str, Any]:
    """The PipelineJob as a dict; with `wait`, polls until the run ends or the timeout passes."""
    match = _JOB_NAME.fullmatch(job_name)
    if not match:
        raise SystemExit(
            f"vertex_outcome: {job_name!r} is not a PipelineJob resource name: expected "
            "projects/<project>/locations/<region>/pipelineJobs/<id> (printed by "
            "`segmentation_pipeline.vertex submit`)"
        )
    require_credentials()
    from google.cloud import aiplatform

    project, region, _ = match.groups()
    job = aiplatform.PipelineJob.get(job_name, project=project, location=region)
    deadline = time.monotonic() + timeout_seconds
    while True:
        record = job.to_dict()
        if not wait or record.get("state") in FINAL_STATES or time.monotonic() >= deadline:
            return record
        print(f"vertex_outcome: {job_name} is {record.get('state')}; waiting", file=sys.stderr)
        time.sleep(poll_seconds)
        job = aiplatform.PipelineJob.get(job_name, project=project, location=region)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write the outcome of a Vertex AI pipeline run as Markdown; exit 1 if it failed"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("job", nargs="?", help="projects/P/locations/R/pipelineJobs/ID")
    source.add_argument(
        "--from-json",
        metavar="FILE",
        help='a recorded run: {"pipeline_job": <PipelineJob.to_dict()>, "metrics": {...}}',
    )
    parser.add_argument("--wait", action="store_true", help="wait until the run ends")
    parser.add_argument(
        "--timeout-minutes", type=float, default=360, help="give up waiting after this [360]"
    )
    parser.add_argument(
        "--summary", metavar="PATH", help="also append the Markdown here ($GITHUB_STEP_SUMMARY)"
    )
    args = parser.parse_args(argv)
    if args.timeout_minutes <= 0:
        parser.error("--timeout-minutes must be positive")
    if args.from_json:
        with open(args.from_json, encoding="utf-8") as recorded:
            record = json.load(recorded)
        job, metrics = record["pipeline_job"], record.get("metrics")
    else:
        job = fetch_job(args.job, wait=args.wait, timeout_seconds=args.timeout_minutes * 60)
        metrics = read_metrics(outcome_from_job(job).evaluation_uri)
    markdown, code = summarize(job, metrics)
    if code == EXIT_NOT_FINISHED and args.wait:
        markdown += f"\nStopped waiting after {args.timeout_minutes:g} minutes.\n"
    print(markdown, end="")
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as summary:
            summary.write(markdown)
    return code


if __name__ == "__main__":
    sys.exit(main())
