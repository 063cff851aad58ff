"""Runs the pipeline locally: LocalDagRunner, SQLite ML Metadata, local pipeline root, cache on.

`python -m segmentation_pipeline.local_runner [--flags]` runs on data already prepared in
`--data-uri` (default <local_dir>/data); `python -m segmentation_pipeline.demo` does everything
from generating the sample images.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

from segmentation_pipeline.config import (
    TARGET_LOCAL,
    PipelineConfig,
    add_config_arguments,
    config_from_cli,
)
from segmentation_pipeline.terminal import add_verbose_flag, quiet_libraries


def run_local(config: PipelineConfig) -> None:
    """Runs the full pipeline; raises if a component fails (e.g. the anomalies gate).

    Raises:
        IncompleteOutputError: the data directory is not a complete data_prep output.
    """
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    from segmentation_pipeline.pipeline import create_pipeline
    from segmentation_pipeline.span_inputs import require_complete_data

    # Refuses a directory without the report a successful data_prep run writes last: train/
    # and eval/ alone may hold the partial shards of a failed run.
    require_complete_data(config, TARGET_LOCAL)
    os.makedirs(config.local_dir, exist_ok=True)
    LocalDagRunner().run(create_pipeline(config, TARGET_LOCAL))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_verbose_flag(parser)
    add_config_arguments(parser)
    args = parser.parse_args(argv)
    config = config_from_cli(parser, args, TARGET_LOCAL)
    quiet_libraries(args.verbose)
    from segmentation_pipeline.pipeline import create_pipeline
    from segmentation_pipeline.progress import component_progress
    from segmentation_pipeline.run_summary import format_summary, read_latest_run

    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    total = len(create_pipeline(config, TARGET_LOCAL).components)
    with contextlib.nullcontext() if args.verbose else component_progress(total):
        run_local(config)
    from segmentation_pipeline.drift import run_summary_results

    summary = read_latest_run(config.metadata_path, config.pipeline_name)
    print(format_summary(summary, run_summary_results(summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
