"""Vertex AI Pipelines: compile the pipeline JSON and submit it as a PipelineJob.

    python -m segmentation_pipeline.vertex compile --project P --region R --bucket B \
        --image-uri IMAGE [--enable-dataflow] [--output pipeline.json]
    python -m segmentation_pipeline.vertex submit  ... (compiles, uploads the schema, submits)

Every step runs in `--image-uri` (this repository's packages installed). The Trainer runs as a
Vertex Training custom job and the Pusher deploys to a Vertex endpoint, both configured through
`custom_config`; with `--enable-dataflow` the Beam-heavy components run on Dataflow. The Hugging
Face token is never compiled in: the HFPusher step reads it from Secret Manager by name.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from segmentation_pipeline.config import (
    TARGET_LOCAL,
    TARGET_VERTEX,
    PipelineConfig,
    add_config_arguments,
    config_from_cli,
)
from segmentation_pipeline.terminal import add_verbose_flag, quiet_libraries

DEFAULT_OUTPUT = "pipeline.json"


def compile_pipeline(config: PipelineConfig, output_path: str = DEFAULT_OUTPUT) -> str:
    """Writes the Vertex (KubeflowV2) pipeline JSON; returns its path."""
    from tfx import v1 as tfx

    from segmentation_pipeline.pipeline import create_pipeline

    output_path = os.path.abspath(output_path)
    os.makedirs(os.path.dirname(output_path), exist_ok=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=config.image_uri
        ),
        output_dir=os.path.dirname(output_path),
        output_filename=os.path.basename(output_path),
    )
    runner.run(create_pipeline(config, TARGET_VERTEX))
    return output_path


def upload_assets(config: PipelineConfig, client: Any) -> list[str]:
    """Uploads the files steps read by path (data_prep's schema, the Space template) where the
    compiled pipeline expects them: content-addressed prefixes (see `vertex_assets`).

    `client` is a google.cloud.storage.Client. Returns the gs:// URI of every file.
    """
    from segmentation_data_prep import record_format

    from segmentation_pipeline.pipeline import schema_location, space_template_location
    from segmentation_pipeline.vertex_assets import upload

    assets = [(record_format.schema_path(), schema_location(config, TARGET_VERTEX))]
    if config.hf_space_repo_id:
        assets.append(
            (
                space_template_location(config, TARGET_LOCAL),
                space_template_location(config, TARGET_VERTEX),
            )
        )
    return [uri for source, destination in assets for uri in upload(client, source, destination)]


def require_gcp_credentials(action: str) -> None:
    """Exits with what to do when no Google Cloud credentials are found, before any request."""
    import google.auth
    from google.auth import exceptions as auth_exceptions

    try:
        google.auth.default()
    except auth_exceptions.DefaultCredentialsError as error:
        raise SystemExit(
            f"{action}: no Google Cloud credentials found "
            f"({type(error).__name__}). Run `gcloud auth application-default login`, or set "
            "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or run where "
            "Workload Identity provides them (CI). Nothing was sent to Google Cloud."
        ) from None


def submit_pipeline(config: PipelineConfig, pipeline_json: str) -> str:
    """Creates the Vertex PipelineJob; clear errors when credentials are missing."""
    require_gcp_credentials("submit")
    from google.cloud import aiplatform, storage

    from segmentation_pipeline.span_inputs import require_complete_data

    require_complete_data(config, TARGET_VERTEX)  # before anything is uploaded
    uploaded = upload_assets(config, storage.Client(project=config.project))
    print(f"Uploaded {len(uploaded)} files the steps read by path (schema, Space template)")
    aiplatform.init(
        project=config.project,
        location=config.region,
        staging_bucket=f"gs://{config.bucket}",
    )
    job = aiplatform.PipelineJob(
        display_name=config.pipeline_name,
        template_path=pipeline_json,
        pipeline_root=config.pipeline_root_location(TARGET_VERTEX),
        enable_caching=config.enable_cache,
    )
    job.submit(service_account=config.vertex_service_account or None)
    return job.resource_name


def add_command(
    commands: Any, name: str, help_text: str, default_output: str
) -> argparse.ArgumentParser:
    """A subcommand that compiles a pipeline JSON: --output, --verbose and every config flag."""
    command = commands.add_parser(name, help=help_text)
    command.add_argument(
        "--output", default=default_output, help=f"pipeline JSON path [{default_output}]"
    )
    add_verbose_flag(command)
    add_config_arguments(command)
    return command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compile or submit the Vertex AI pipeline.")
    commands = parser.add_subparsers(dest="command", required=True)
    add_command(commands, "compile", "write the pipeline JSON", DEFAULT_OUTPUT)
    add_command(commands, "submit", "compile, then create the Vertex PipelineJob", DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    config = config_from_cli(parser, args, TARGET_VERTEX)
    quiet_libraries(args.verbose)
    path = compile_pipeline(config, args.output)
    print(f"Compiled {config.pipeline_name} for Vertex AI: {path}")
    if args.command == "submit":
        print(f"Submitted: {submit_pipeline(config, path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
