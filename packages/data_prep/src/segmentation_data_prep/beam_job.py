"""The data_prep Apache Beam job: Pet-layout images + trimaps -> TFRecord shards + report.json.

The same pipeline runs on the DirectRunner (default: one process per core) and on Dataflow
(pass Dataflow pipeline options in `beam_args`). The launcher lists the inputs first (file
names only), so shard counts are deterministic and the progress bar knows its total; the
workers decode, validate, resize and encode; a final step writes `<out>/report.json` with
every rejected item and why, after the shards are finalized.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import (
    GoogleCloudOptions,
    PipelineOptions,
    SetupOptions,
    StandardOptions,
    WorkerOptions,
)

from segmentation_data_prep import record_format
from segmentation_data_prep.inputs import (
    REJECTION_REASONS,
    WARNING_REASONS,
    Listing,
    Outcome,
    list_inputs,
)
from segmentation_data_prep.processing import process_pair, split_for_stem

LOGGER = logging.getLogger(__name__)

DEFAULT_IMAGE_SIZE = 128
DEFAULT_EVAL_FRACTION = 0.2
EXAMPLES_PER_SHARD = 1000  # ~30 MB shards at 128 px: enough files to read in parallel
REPORT_NAME = "report.json"
MAX_IMAGE_SIZE = 4096  # the schema's height/width domain
# Local default: DirectRunner with one worker process per core (0 = os.cpu_count()) ...
DIRECT_PARALLEL = ["--direct_running_mode=multi_processing", "--direct_num_workers=0"]
# ... except for small inputs: starting worker processes (each imports Beam, ~5-10 s) costs
# more than it saves below a few thousand images (benchmarks/benchmark_data_prep.py).
DIRECT_SMALL = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
MIN_PAIRS_FOR_WORKER_PROCESSES = 2000


class DataPrepError(RuntimeError):
    """The job cannot run, or ran and produced nothing usable (see `report`)."""

    def __init__(self, message: str, report: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.report = report


def pipeline_options(beam_args: list[str] | None, num_pairs: int | None = None) -> PipelineOptions:
    """Beam options: local defaults sized for `num_pairs`, overridden by anything passed."""
    beam_args = beam_args or []
    chosen = any(
        arg.startswith(("--direct_running_mode", "--direct_num_workers")) for arg in beam_args
    )
    small = not chosen and num_pairs is not None and num_pairs < MIN_PAIRS_FOR_WORKER_PROCESSES
    options = PipelineOptions([*(DIRECT_SMALL if small else DIRECT_PARALLEL), *beam_args])
    runner = options.view_as(StandardOptions).runner or "DirectRunner"
    if "dataflow" in runner.lower():
        _check_dataflow_options(options)
    return options


def _check_dataflow_options(options: PipelineOptions) -> None:
    """Fail before submitting when a Dataflow job could not work, saying which flag to add."""
    cloud = options.view_as(GoogleCloudOptions)
    missing = [
        flag
        for flag, value in (
            ("--project", cloud.project),
            ("--region", cloud.region),
            ("--temp_location", cloud.temp_location),
        )
        if not value
    ]
    if missing:
        raise DataPrepError(
            f"DataflowRunner needs {', '.join(missing)} (e.g. --temp_location gs://<bucket>/tmp)"
        )
    setup = options.view_as(SetupOptions)
    image = options.view_as(WorkerOptions).sdk_container_image
    if not (image or setup.setup_file or setup.extra_packages):
        setup_py = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "setup.py"))
        raise DataPrepError(
            "Dataflow workers need the segmentation_data_prep package: pass "
            "--sdk_container_image <the pipeline image> (recommended, see infra/), or "
            f"--setup_file {setup_py} (from a source checkout), or --extra_package <wheel>"
        )


def _shard_count(requested: int | None, num_examples: int) -> int:
    if requested is not None:
        return requested
    return max(1, math.ceil(num_examples / EXAMPLES_PER_SHARD))


def _existing_outputs(output_dir: str) -> list[str]:
    patterns = [FileSystems.join(output_dir, split, "*") for split in record_format.SPLIT_NAMES]
    patterns.append(FileSystems.join(output_dir, REPORT_NAME))
    return sorted(m.path for result in FileSystems.match(patterns) for m in result.metadata_list)


def _prepare_output_dir(output_dir: str, overwrite: bool) -> None:
    """Old shards would be picked up by the split globs next to new ones: refuse or delete."""
    existing = _existing_outputs(output_dir)
    if existing and not overwrite:
        raise DataPrepError(
            f"{output_dir} already holds {len(existing)} output files (e.g. {existing[0]}); "
            "pass --overwrite to replace them, or choose another --output-dir"
        )
    if existing:
        FileSystems.delete(existing)


class _ProgressFile:
    """A worker's running count, in a file the launcher's progress bar sums (local runs)."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, uuid.uuid4().hex)
        self.count = 0
        self.last_write = 0.0

    def tick(self) -> None:
        self.count += 1
        if time.monotonic() - self.last_write > 0.5:
            self.flush()

    def flush(self) -> None:
        temporary = f"{self.path}.tmp"
        with open(temporary, "w") as handle:
            handle.write(str(self.count))
        os.replace(temporary, self.path)
        self.last_write = time.monotonic()


class ProcessPairsFn(beam.DoFn):
    """Pair -> Outcome (main output) and the serialized example (output tagged by split)."""

    def __init__(
        self, image_size: int, eval_fraction: float, compress_level: int, progress_dir: str | None
    ) -> None:
        self.image_size = image_size
        self.eval_fraction = eval_fraction
        self.compress_level = compress_level
        self.progress_dir = progress_dir
        self.progress: _ProgressFile | None = None

    def setup(self) -> None:
        # The directory exists only where the launcher runs (DirectRunner).
        if self.progress_dir and os.path.isdir(self.progress_dir):
            self.progress = _ProgressFile(self.progress_dir)

    def process(self, pair):
        outcome, example = process_pair(
            pair, self.image_size, self.eval_fraction, self.compress_level
        )
        status = outcome.split if outcome.written else "rejected"
        beam.metrics.Metrics.counter("data_prep", status).inc()
        if self.progress:
            self.progress.tick()
        if example is not None:
            yield beam.pvalue.TaggedOutput(outcome.split, example)
        yield outcome

    def finish_bundle(self) -> None:
        if self.progress:
            self.progress.flush()


class SummarizeFn(beam.CombineFn):
    """Counts written examples per split; keeps only the items worth reporting."""

    def create_accumulator(self):
        return Counter(), [], []

    def add_input(self, accumulator, outcome: Outcome):
        written, rejected, warned = accumulator
        if outcome.written:
            written[outcome.split] += 1
        else:
            rejected.append(outcome)
        if outcome.warnings:
            warned.append(outcome)
        return accumulator

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for written, rejected, warned in accumulators:
            merged[0].update(written)
            merged[1].extend(rejected)
            merged[2].extend(warned)
        return merged

    def extract_output(self, accumulator):
        return accumulator


def build_report(
    summary, found: dict[str, int], settings: dict[str, Any], shards: dict[str, list[str]]
) -> dict[str, Any]:
    """The report.json content: counts that add up, and every rejected item with a reason."""
    written, rejected, warned = summary
    rejected = sorted(rejected, key=lambda o: (o.stem, o.paths))
    warnings = [
        (o.stem, reason, detail, o.paths[0]) for o in warned for reason, detail in o.warnings
    ]
    rejected_by_reason = Counter(o.reason for o in rejected)
    warnings_by_reason = Counter(reason for _, reason, _, _ in warnings)
    num_written = {split: written.get(split, 0) for split in record_format.SPLIT_NAMES}
    total_written = sum(num_written.values())
    return {
        **settings,
        "found": found["items"],
        "found_files": {"images": found["images"], "trimaps": found["trimaps"]},
        "written": {**num_written, "total": total_written},
        "rejected": {"total": len(rejected), "by_reason": dict(sorted(rejected_by_reason.items()))},
        "counts_add_up": total_written + len(rejected) == found["items"],
        "rejections": [
            {"stem": o.stem, "reason": o.reason, "detail": o.detail, "paths": list(o.paths)}
            for o in rejected
        ],
        "warnings": {"total": len(warnings), "by_reason": dict(sorted(warnings_by_reason.items()))},
        "warning_items": [
            {"stem": stem, "reason": reason, "detail": detail, "path": path}
            for stem, reason, detail, path in sorted(warnings)
        ],
        "how_to_fix": {
            reason: {**REJECTION_REASONS, **WARNING_REASONS}[reason]
            for reason in sorted(rejected_by_reason.keys() | warnings_by_reason.keys())
        },
        "shards": {split: sorted(paths) for split, paths in shards.items()},
    }


def _write_report(summary, found, settings, output_dir, train_shards, eval_shards) -> str:
    report = build_report(summary, found, settings, {"train": train_shards, "eval": eval_shards})
    path = FileSystems.join(output_dir, REPORT_NAME)
    with FileSystems.create(path, mime_type="application/json") as handle:
        handle.write(json.dumps(report, indent=2).encode("utf-8"))
    return path


def build_pipeline(
    pipeline: beam.Pipeline,
    listing: Listing,
    output_dir: str,
    *,
    image_size: int,
    eval_fraction: float,
    shard_counts: dict[str, int],
    compress_level: int,
    settings: dict[str, Any],
    progress_dir: str | None = None,
) -> None:
    processed = (
        pipeline
        | "ListedPairs" >> beam.Create(listing.pairs)
        | "Distribute" >> beam.Reshuffle()  # spread pairs over workers (Create is one bundle)
        | "Process"
        >> beam.ParDo(
            ProcessPairsFn(image_size, eval_fraction, compress_level, progress_dir)
        ).with_outputs(*record_format.SPLIT_NAMES, main="outcomes")
    )
    shard_paths = {}
    for split in record_format.SPLIT_NAMES:
        shard_paths[split] = processed[split] | f"Write{split.title()}" >> beam.io.WriteToTFRecord(
            FileSystems.join(output_dir, split, split),
            file_name_suffix=record_format.SHARD_SUFFIX,
            num_shards=shard_counts[split],
        )
    found = {
        "items": listing.found,
        "images": listing.num_image_files,
        "trimaps": listing.num_mask_files,
    }
    _ = (
        (processed.outcomes, pipeline | "ListingRejections" >> beam.Create(listing.rejected))
        | "AllOutcomes" >> beam.Flatten()
        | "Summarize" >> beam.CombineGlobally(SummarizeFn())
        | "WriteReport"
        >> beam.Map(
            _write_report,
            found,
            settings,
            output_dir,
            beam.pvalue.AsList(shard_paths["train"]),
            beam.pvalue.AsList(shard_paths["eval"]),
        )
    )


class _ProgressBar:
    """tqdm over the workers' progress files, refreshed from a thread while the job runs."""

    def __init__(self, total: int, directory: str) -> None:
        from tqdm import tqdm

        self.directory = directory
        self.bar = tqdm(total=total, unit="img", desc="data_prep", mininterval=1.0)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _done(self) -> int:
        done = 0
        for name in os.listdir(self.directory):
            if not name.endswith(".tmp"):
                try:
                    with open(os.path.join(self.directory, name)) as handle:
                        done += int(handle.read() or 0)
                except (OSError, ValueError):
                    continue  # being replaced right now; next poll reads it
        return min(done, self.bar.total)  # retried bundles may count twice

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            self.bar.update(self._done() - self.bar.n)

    def __enter__(self) -> _ProgressBar:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        self.thread.join()
        self.bar.update(self._done() - self.bar.n)
        self.bar.close()


def run_data_prep(
    input_dir: str,
    output_dir: str,
    *,
    image_size: int = DEFAULT_IMAGE_SIZE,
    eval_fraction: float = DEFAULT_EVAL_FRACTION,
    num_train_shards: int | None = None,
    num_eval_shards: int | None = None,
    png_compress_level: int = record_format.DEFAULT_PNG_COMPRESS_LEVEL,
    overwrite: bool = False,
    show_progress: bool = True,
    beam_args: list[str] | None = None,
) -> dict[str, Any]:
    """Run the job and return the report (also written to `<output_dir>/report.json`).

    Raises DataPrepError when the arguments or the input cannot work, and when no example at
    all could be written (the report is attached to the error and written all the same).
    Shard counts default to one shard per EXAMPLES_PER_SHARD listed pairs of the split.
    """
    if not 1 <= image_size <= MAX_IMAGE_SIZE:
        raise DataPrepError(f"image_size must be in 1..{MAX_IMAGE_SIZE}, got {image_size}")
    if not 0.0 < eval_fraction < 1.0:
        raise DataPrepError(f"eval_fraction must be strictly between 0 and 1, got {eval_fraction}")
    if not 0 <= png_compress_level <= 9:
        raise DataPrepError(f"png_compress_level must be in 0..9, got {png_compress_level}")
    for name, count in (
        ("num_train_shards", num_train_shards),
        ("num_eval_shards", num_eval_shards),
    ):
        if count is not None and count < 1:
            raise DataPrepError(f"{name} must be >= 1, got {count}")
    input_dir, output_dir = input_dir.rstrip("/"), output_dir.rstrip("/")
    pipeline_options(beam_args)  # fail fast on bad options, before listing
    started = time.monotonic()
    listing = list_inputs(input_dir)
    options = pipeline_options(beam_args, len(listing.pairs))
    per_split = Counter(split_for_stem(p.stem, eval_fraction) for p in listing.pairs)
    shard_counts = {
        "train": _shard_count(num_train_shards, per_split["train"]),
        "eval": _shard_count(num_eval_shards, per_split["eval"]),
    }
    LOGGER.info(
        "found %d items in %s: %d pairs (%d train, %d eval), %d rejected by listing",
        listing.found,
        input_dir,
        len(listing.pairs),
        per_split["train"],
        per_split["eval"],
        len(listing.rejected),
    )
    _prepare_output_dir(output_dir, overwrite)
    settings = {
        "input_dir": input_dir,
        "output_dir": output_dir,
        "image_size": image_size,
        "eval_fraction": eval_fraction,
        "png_compress_level": png_compress_level,
    }
    runner = options.view_as(StandardOptions).runner or "DirectRunner"
    local = runner in ("DirectRunner", "direct", "FnApiRunner")
    progress_dir = tempfile.mkdtemp(prefix="data_prep_progress_") if local else None
    try:
        pipeline = beam.Pipeline(options=options)
        build_pipeline(
            pipeline,
            listing,
            output_dir,
            image_size=image_size,
            eval_fraction=eval_fraction,
            shard_counts=shard_counts,
            compress_level=png_compress_level,
            settings=settings,
            progress_dir=progress_dir,
        )
        if local and show_progress and listing.pairs:
            with _ProgressBar(len(listing.pairs), progress_dir):
                pipeline.run().wait_until_finish()
        else:
            if not local:
                LOGGER.info("submitting to %s; follow progress in its console", runner)
            pipeline.run().wait_until_finish()
    finally:
        if progress_dir:
            shutil.rmtree(progress_dir, ignore_errors=True)
    with FileSystems.open(FileSystems.join(output_dir, REPORT_NAME)) as handle:
        report = json.loads(handle.read())
    LOGGER.info("data_prep done in %.1f s: %s", time.monotonic() - started, summary_line(report))
    if not report["counts_add_up"]:
        raise DataPrepError(f"internal error: written + rejected != found in {output_dir}", report)
    if report["written"]["total"] == 0:
        reasons = ", ".join(f"{r}: {n}" for r, n in report["rejected"]["by_reason"].items())
        raise DataPrepError(
            f"no usable example in {input_dir} ({reasons}); see {output_dir}/{REPORT_NAME}",
            report,
        )
    for split in record_format.SPLIT_NAMES:
        if report["written"][split] == 0:
            LOGGER.warning(
                "the %s split is empty (%d usable examples, eval_fraction %s): training or "
                "evaluation on it will fail; add data or change --eval-fraction",
                split,
                report["written"]["total"],
                eval_fraction,
            )
    return report


def summary_line(report: dict[str, Any]) -> str:
    written, rejected = report["written"], report["rejected"]
    reasons = ", ".join(f"{r}: {n}" for r, n in rejected["by_reason"].items())
    return (
        f"found {report['found']}, written {written['total']} (train {written['train']}, "
        f"eval {written['eval']}), rejected {rejected['total']}"
        + (f" ({reasons})" if reasons else "")
    )
