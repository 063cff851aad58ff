"""What the data_prep benchmarks measure of one run of the job, measured one way."""

from __future__ import annotations

import os
import time
from pathlib import Path

from segmentation_data_prep.beam_job import run_data_prep


def shard_bytes(paths: list[str]) -> int:
    return sum(os.path.getsize(p) for p in paths)


def timed_data_prep(source: Path, output_dir: Path, **settings) -> tuple[dict, float, float]:
    """run_data_prep (no progress display) with `settings`; returns the report, images written
    per second of wall clock (Beam start-up included) and shard bytes per written example."""
    started = time.perf_counter()
    report = run_data_prep(str(source), str(output_dir), show_progress=False, **settings)
    seconds = time.perf_counter() - started
    written = report["written"]["total"]
    size = shard_bytes([path for paths in report["shards"].values() for path in paths])
    return report, written / seconds, size / written
