"""The monitor as a scheduled Vertex AI pipeline: the Hub's last pushed version on the newest span.

    python -m segmentation_pipeline.vertex_monitor compile --project P --region R --bucket B \
        --image-uri IMAGE --hf-model-repo-id NS/NAME [--output monitor_pipeline.json]
    python -m segmentation_pipeline.vertex_monitor schedule --cron "0 6 * * *" ... (compiles,
        then creates the Vertex PipelineJob schedule)

One step, in `--image-uri`, runs `python -m segmentation_pipeline.monitor --target vertex
--hub-revision latest` with the same configuration flags: it scores the model repo's newest
version on the eval split of the newest span under gs://<bucket>/data, against the metrics its
card recorded at blessing, and writes the result JSON under <pipeline_root>/monitor/. A drop over
`monitor_max_iou_drop` exits 1, so the step and the run fail and Vertex's failure notifications
fire; a run that cannot monitor (no version, no data) exits 2 and fails the same way. The token
is never compiled in: the step reads it from Secret Manager (`hf_token_secret_name`).
"""

# No `from __future__ import annotations`: KFP reads the component's parameter types from its
# annotations, and would take the string "str" for an artifact type.
import argparse
import os
import re
import sys
from collections.abc import Sequence

from segmentation_pipeline.config import (
    TARGET_VERTEX,
    PipelineConfig,
    config_flags,
    config_from_cli,
)
from segmentation_pipeline.terminal import quiet_libraries
from segmentation_pipeline.vertex import add_command

DEFAULT_OUTPUT = "monitor_pipeline.json"
DEFAULT_CRON = "0 6 * * *"  # every day at 06:00 UTC
MONITOR_MODULE = "segmentation_pipeline.monitor"
HUB_REVISION = "latest"  # the version in production: the last one HFPusher pushed
# Settings of the compiling machine that mean nothing in the step (and would publish its paths).
_LOCAL_ONLY_FIELDS = ("local_dir",)
# Five fields of digits, *, ranges, lists and steps, optionally after a time zone prefix.
_CRON = re.compile(r"^((CRON_)?TZ=[A-Za-z0-9_+\-/]+ )?([0-9*,/\-]+ ){4}[0-9*,/\-]+$")


def monitor_pipeline_name(config: PipelineConfig) -> str:
    return f"{config.pipeline_name}-monitor"


def monitor_command(config: PipelineConfig) -> list[str]:
    """The step's command line, without --output (a per-run path, filled in at run time)."""
    return [
        "python",
        "-m",
        MONITOR_MODULE,
        "--target",
        TARGET_VERTEX,
        "--hub-revision",
        HUB_REVISION,
        *config_flags(config, leave_out=_LOCAL_ONLY_FIELDS),
    ]


def result_location(config: PipelineConfig) -> str:
    """Where each run writes its result: one JSON per pipeline job (Vertex fills in its id)."""
    from kfp import dsl

    root = config.pipeline_root_location(TARGET_VERTEX).rstrip("/")
    return f"{root}/monitor/{dsl.PIPELINE_JOB_ID_PLACEHOLDER}.json"


def compile_monitor_pipeline(config: PipelineConfig, output_path: str = DEFAULT_OUTPUT) -> str:
    """Writes the monitor's Vertex pipeline JSON (KFP v2); returns its path."""
    from kfp import compiler, dsl

    command = monitor_command(config)

    @dsl.container_component
    def monitor_deployed_model(output: str):
        """Score the Hub's newest model version on the newest span; fail on a drop."""
        return dsl.ContainerSpec(image=config.image_uri, command=command, args=["--output", output])

    @dsl.pipeline(
        name=monitor_pipeline_name(config),
        description="Monitor the deployed segmentation model on the newest data span.",
        pipeline_root=config.pipeline_root_location(TARGET_VERTEX),
    )
    def monitor_pipeline():
        monitor_deployed_model(output=result_location(config)).set_caching_options(False)

    output_path = os.path.abspath(output_path)
    os.makedirs(os.path.dirname(output_path), exist_ok=True)
    compiler.Compiler().compile(monitor_pipeline, output_path)
    return output_path


def check_cron(cron: str) -> str:
    """`cron` when it is a five-field cron expression (optionally `TZ=<zone> ` first)."""
    if not _CRON.match(cron.strip()):
        raise ValueError(
            f"--cron {cron!r} is not a cron schedule: give five fields (minute hour day month "
            f"weekday), e.g. {DEFAULT_CRON!r}, optionally after 'TZ=Europe/Paris '"
        )
    return cron.strip()


def schedule_monitor(config: PipelineConfig, pipeline_json: str, cron: str) -> str:
    """Creates the Vertex PipelineJob schedule; clear errors when credentials are missing."""
    from segmentation_pipeline.vertex import require_gcp_credentials

    require_gcp_credentials("schedule")
    from google.cloud import aiplatform

    aiplatform.init(
        project=config.project, location=config.region, staging_bucket=f"gs://{config.bucket}"
    )
    job = aiplatform.PipelineJob(
        display_name=monitor_pipeline_name(config),
        template_path=pipeline_json,
        pipeline_root=config.pipeline_root_location(TARGET_VERTEX),
        enable_caching=False,
    )
    schedule = job.create_schedule(
        cron=cron,
        display_name=monitor_pipeline_name(config),
        max_concurrent_run_count=1,
        service_account=config.vertex_service_account or None,
    )
    return schedule.resource_name


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add_command(commands, "compile", "write the monitor pipeline JSON", DEFAULT_OUTPUT)
    schedule = add_command(
        commands, "schedule", "compile, then create the Vertex schedule running it", DEFAULT_OUTPUT
    )
    schedule.add_argument(
        "--cron", default=DEFAULT_CRON, help=f"when to run [{DEFAULT_CRON!r}, UTC]"
    )
    args = parser.parse_args(argv)
    config = config_from_cli(parser, args, TARGET_VERTEX)
    if not config.hf_model_repo_id:
        parser.error("the monitor watches the Hub model: set hf_model_repo_id")
    cron = None
    if args.command == "schedule":
        try:
            cron = check_cron(args.cron)
        except ValueError as error:
            parser.error(str(error))
    quiet_libraries(args.verbose)
    path = compile_monitor_pipeline(config, args.output)
    print(f"Compiled {monitor_pipeline_name(config)} for Vertex AI: {path}")
    if cron is not None:
        print(f"Scheduled ({cron}): {schedule_monitor(config, path, cron)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
