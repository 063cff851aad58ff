"""The data_prep Apache Beam job: images + masks in any layout -> TFRecord shards + report.json.

The same pipeline runs on the DirectRunner (locally) and on Dataflow (pass Dataflow pipeline
options in `beam_args`). The launcher lists the inputs first (file names only), so shard counts
are deterministic and the progress bar knows its total; the workers decode, validate, resize
and encode into a staging directory; on success the launcher moves the shards into place and
writes `<out>/report.json` last (staging.py), so a failed run never leaves a partial output.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import time
from collections import Counter
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import (
    DirectOptions,
    GoogleCloudOptions,
    PipelineOptions,
    SetupOptions,
    StandardOptions,
    WorkerOptions,
)

from segmentation_data_prep import process_pool, record_format, shards, spans, staging
from segmentation_data_prep.dataset_spec import DatasetSpec
from segmentation_data_prep.hub_dataset import HubDataset
from segmentation_data_prep.inputs import Outcome
from segmentation_data_prep.presets import OXFORD_PET
from segmentation_data_prep.processing import ProcessingSettings, process_example, split_for_stem
from segmentation_data_prep.progress import ProgressBar, ProgressFile
from segmentation_data_prep.report import build_report, read_report, summary_line, write_report
from segmentation_data_prep.settings import (
    DEFAULT_EVAL_FRACTION,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_PIXELS,
    DIRECT_DEFAULT,
    EXAMPLES_PER_SHARD,
    DataPrepError,
    check_settings,
)
from segmentation_data_prep.shards import Chunk
from segmentation_data_prep.sources import Source, list_source

LOGGER = logging.getLogger(__name__)


def pipeline_options(beam_args: list[str] | None) -> PipelineOptions:
    """Beam options: the local default (DirectRunner, one thread), overridden by anything passed."""
    options = PipelineOptions([*DIRECT_DEFAULT, *(beam_args or [])])
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


def _local_processes(requested: int | None, options, num_examples: int) -> int:
    """Worker processes for the examples of a local run (0: none, Beam's workers do it).

    `requested`, or by default on Linux every usable core when Beam runs in one thread (as
    DIRECT_DEFAULT does) and there are enough examples to repay starting them.
    """
    if requested is not None:
        return requested if requested > 1 else 0
    one_thread = options.view_as(DirectOptions).direct_running_mode == "in_memory"
    enough = num_examples >= process_pool.MIN_EXAMPLES
    if one_thread and enough and process_pool.FORK_BY_DEFAULT:
        return process_pool.usable_cores()
    return 0


def _shard_count(requested: int | None, num_examples: int) -> int:
    if requested is not None:
        return requested
    return max(1, math.ceil(num_examples / EXAMPLES_PER_SHARD))


def _refuse_existing_output(output_dir: str, overwrite: bool) -> None:
    """Old shards would be picked up by the split globs next to new ones: refuse them."""
    existing = staging.existing_outputs(output_dir)
    if existing and not overwrite:
        raise DataPrepError(
            f"{output_dir} already holds {len(existing)} output files (e.g. {existing[0]}); "
            "pass --overwrite to replace them once the new run succeeds, or choose another "
            "--output-dir"
        )


class ProcessChunkFn(beam.DoFn):
    """Chunk -> its summary (main output) and the path of its part file (tagged "parts").

    With `processes` > 1 (local runs only), examples are processed by that many worker
    processes (process_pool.py) and this DoFn only reads, counts and writes.
    """

    def __init__(
        self,
        settings: ProcessingSettings,
        parts_dir: str,
        progress_dir: str | None,
        processes: int = 0,
    ):
        self.settings = settings
        self.parts_dir = parts_dir
        self.progress_dir = progress_dir
        self.processes = processes
        self.progress: ProgressFile | None = None
        self.pool = None

    def setup(self) -> None:
        # The directory exists only where the launcher runs (DirectRunner).
        if self.progress_dir and os.path.isdir(self.progress_dir):
            self.progress = ProgressFile(self.progress_dir)
        if self.processes > 1:
            self.pool = process_pool.start(self.processes)

    def teardown(self) -> None:
        if self.pool:
            self.pool.shutdown(cancel_futures=True)

    def process(self, chunk: Chunk):
        summary = SummarizeFn().create_accumulator()
        records = []
        results = process_pool.process_pairs(chunk.pairs, self.settings, self.pool, self.processes)
        for outcome, example in results:
            summary = SummarizeFn().add_input(summary, outcome)
            if example is not None:
                records.append(example)
            if self.progress:
                self.progress.add()
        part = FileSystems.join(self.parts_dir, f"{chunk.shard_key}.{chunk.index:05d}.part")
        shards.write_file(part, shards.tfrecord_bytes(records))
        counter = beam.metrics.Metrics.counter
        counter("data_prep", chunk.split).inc(len(records))
        counter("data_prep", "rejected").inc(len(chunk.pairs) - len(records))
        yield beam.pvalue.TaggedOutput("parts", (chunk.shard_key, (chunk.index, part)))
        yield summary

    def finish_bundle(self) -> None:
        if self.progress:
            self.progress.flush()


class SummarizeFn(beam.CombineFn):
    """Counts written examples per split; keeps only the items worth reporting.

    Inputs are Outcomes or summaries (accumulators) of whole chunks.
    """

    def create_accumulator(self):
        return Counter(), [], []

    def add_input(self, accumulator, element):
        if not isinstance(element, Outcome):
            return self.merge_accumulators([accumulator, element])
        written, rejected, warned = accumulator
        if element.written:
            written[element.split] += 1
        else:
            rejected.append(element)
        if element.warnings:
            warned.append(element)
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


def _write_shard(shard: tuple[str, str], parts_by_shard, staging_dir: str) -> tuple[str, str]:
    split, name = shard
    parts = [path for _, path in sorted(parts_by_shard[name])]  # [] for a shard without pairs
    return split, shards.concatenate(parts, FileSystems.join(staging_dir, split, name))


def _write_staged_report(summary, found, settings, report_path, shard_paths):
    written, rejected, warned = summary
    by_split = {split: [] for split in record_format.SPLIT_NAMES}
    for split, path in shard_paths:
        by_split[split].append(path)
    write_report(build_report(written, rejected, warned, found, settings, by_split), report_path)


def _process_chunks(
    pipeline, source: Source, staging_dir, processing, shard_counts, progress_dir, processes
):
    """File layouts: chunks of pairs planned per shard; one part file per chunk."""
    pairs_by_split = {split: [] for split in record_format.SPLIT_NAMES}
    for pair in source.items:
        pairs_by_split[pair.split or split_for_stem(pair.stem, processing.eval_fraction)].append(
            pair
        )
    chunks = shards.plan_chunks(pairs_by_split, shard_counts)
    all_shards = [
        (split, shards.shard_name(split, shard, shard_counts[split]))
        for split in record_format.SPLIT_NAMES
        for shard in range(shard_counts[split])
    ]
    processed = (
        pipeline
        | "PlannedChunks" >> beam.Create(chunks, reshuffle=False)
        | "Distribute" >> beam.Reshuffle()  # spread chunks over workers (Create is one bundle)
        | "Process"
        >> beam.ParDo(
            ProcessChunkFn(
                processing, FileSystems.join(staging_dir, "parts"), progress_dir, processes
            )
        ).with_outputs("parts", main="summaries")
    )
    shard_paths = (
        pipeline
        | "Shards" >> beam.Create(all_shards, reshuffle=False)
        | "Concatenate"
        >> beam.Map(_write_shard, beam.pvalue.AsMultiMap(processed.parts), staging_dir)
    )
    return processed.summaries, shard_paths


class ProcessRowsFn(beam.DoFn):
    """RawExample (a parquet row) -> Outcome (main output) and its record (tagged by split).

    Rows are read by Beam's parquet IO, so their split is known only here (hash of the key,
    or the file's Hub split): records go to Beam's TFRecord sink per split.
    """

    def __init__(self, settings: ProcessingSettings, progress_dir: str | None) -> None:
        self.settings = settings
        self.progress_dir = progress_dir
        self.progress: ProgressFile | None = None

    def setup(self) -> None:
        if self.progress_dir and os.path.isdir(self.progress_dir):
            self.progress = ProgressFile(self.progress_dir)

    def process(self, raw):
        outcome, example = process_example(raw, self.settings)
        beam.metrics.Metrics.counter("data_prep", outcome.split or "rejected").inc()
        if self.progress:
            self.progress.add()
        if example is not None:
            yield beam.pvalue.TaggedOutput(outcome.split, example)
        yield outcome

    def finish_bundle(self) -> None:
        if self.progress:
            self.progress.flush()


def _process_rows(
    pipeline, source: Source, staging_dir, processing, shard_counts, progress_dir, processes
):
    """hf-parquet: rows -> records -> one TFRecord sink per split (no process pool: Beam's
    parquet reader hands over one row at a time)."""
    processed = source.read(pipeline) | "Process" >> beam.ParDo(
        ProcessRowsFn(processing, progress_dir)
    ).with_outputs(*record_format.SPLIT_NAMES, main="outcomes")
    written = []
    for split in record_format.SPLIT_NAMES:
        written.append(
            processed[split]
            | f"Write{split.title()}"
            >> beam.io.WriteToTFRecord(
                FileSystems.join(staging_dir, split, split),
                file_name_suffix=record_format.SHARD_SUFFIX,
                num_shards=shard_counts[split],
            )
            | f"Tag{split.title()}" >> beam.Map(lambda path, split=split: (split, path))
        )
    return processed.outcomes, written | "ShardPaths" >> beam.Flatten()


def build_pipeline(
    pipeline: beam.Pipeline,
    source: Source,
    staging_dir: str,
    *,
    processing: ProcessingSettings,
    shard_counts: dict[str, int],
    settings: dict[str, Any],
    progress_dir: str | None = None,
    processes: int = 0,
) -> None:
    """Shards and a report listing them, all inside `staging_dir` (promoted by the launcher).

    `processes` > 1 processes file pairs in that many local worker processes."""
    process = _process_rows if source.layout == "hf-parquet" else _process_chunks
    summaries, shard_paths = process(
        pipeline, source, staging_dir, processing, shard_counts, progress_dir, processes
    )
    _ = (
        (summaries, pipeline | "ListingRejections" >> beam.Create(source.rejected))
        | "AllOutcomes" >> beam.Flatten()
        | "Summarize" >> beam.CombineGlobally(SummarizeFn())
        | "WriteReport"
        >> beam.Map(
            _write_staged_report,
            source.found,
            settings,
            FileSystems.join(staging_dir, record_format.REPORT_NAME),
            beam.pvalue.AsList(shard_paths),
        )
    )


def _run(pipeline: beam.Pipeline, runner: str, local: bool, progress: tuple[int, str] | None):
    if progress:
        with ProgressBar(*progress):
            pipeline.run().wait_until_finish()
        return
    if not local:
        LOGGER.info("submitting to %s; follow progress in its console", runner)
    pipeline.run().wait_until_finish()


def run_data_prep(
    input_dir: str,
    output_dir: str,
    *,
    image_size: int = record_format.DEFAULT_IMAGE_SIZE,
    eval_fraction: float = DEFAULT_EVAL_FRACTION,
    num_train_shards: int | None = None,
    num_eval_shards: int | None = None,
    png_compress_level: int = record_format.DEFAULT_PNG_COMPRESS_LEVEL,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    spec: DatasetSpec = OXFORD_PET,
    layout: str | None = None,
    split: str = "hash",
    hub_dataset: HubDataset | None = None,
    overwrite: bool = False,
    span: int | None = None,
    show_progress: bool = True,
    local_processes: int | None = None,
    beam_args: list[str] | None = None,
) -> dict[str, Any]:
    """Run the job and return the report (also written to `<output_dir>/report.json`).

    The output appears all at once when the job succeeds: shards are written to a staging
    directory inside `output_dir`, then moved into place, replacing a previous output only
    with `overwrite`; the report is written last. A failed run changes nothing there.
    Shard counts default to one shard per EXAMPLES_PER_SHARD listed pairs of the split.
    `spec` says how masks map to class ids and is written beside the shards
    (`dataset_spec.json`) and into the report; `layout` defaults to the spec's; `split` is
    "hash" (stable hash of the stem, `eval_fraction`) or "official" (the dataset's own lists);
    `hub_dataset` records where a downloaded `input_dir` came from (repo, pinned commit).
    `span` writes the output as span N of `output_dir` (`<output_dir>/span-<N>/`, see
    spans.py), recorded in the report; a span is never overwritten.
    `local_processes` is the number of worker processes of a local run (1: process in Beam's
    own workers; default: every core for 50 pairs or more, see process_pool.py).

    Raises:
        DataPrepError: the arguments or the input cannot work, `output_dir` holds an output
            and `overwrite` is False, `span` already exists (or is combined with
            `overwrite`), or no example at all could be written (the report is
            attached to the error and written to `<output_dir>/failed_report.json`; the
            previous output stays in place).
        InputError: the input cannot be read as `layout` (missing, empty, a parquet file
            without the spec's columns, official split lists missing).
    """
    check_settings(
        image_size=image_size,
        eval_fraction=eval_fraction,
        png_compress_level=png_compress_level,
        num_train_shards=num_train_shards,
        num_eval_shards=num_eval_shards,
        max_pixels=max_pixels,
        max_file_bytes=max_file_bytes,
        local_processes=local_processes,
    )
    input_dir, output_dir = input_dir.rstrip("/"), output_dir.rstrip("/")
    if span is not None:
        spans.check_span(span)
        if overwrite:
            raise DataPrepError(
                f"span {span}: spans are never overwritten (--overwrite does not apply to "
                "--span); write the new data as the next span"
            )
        spans.refuse_existing_span(output_dir, span)
        spans_root, output_dir = output_dir, spans.span_dir(output_dir, span)
    options = pipeline_options(beam_args)  # fail fast on bad options, before listing
    runner = options.view_as(StandardOptions).runner or "DirectRunner"
    local = runner in ("DirectRunner", "direct", "FnApiRunner")
    if local_processes is not None and local_processes > 1 and not local:
        raise DataPrepError(
            f"local_processes applies to local (DirectRunner) runs only, not {runner}: its "
            "workers already use every core; scale it with --max_num_workers"
        )
    started = time.monotonic()
    layout = layout or spec.layout
    source = list_source(input_dir, spec, layout, split, eval_fraction)
    per_split = source.per_split
    shard_counts = {
        "train": _shard_count(num_train_shards, per_split["train"]),
        "eval": _shard_count(num_eval_shards, per_split["eval"]),
    }
    LOGGER.info(
        "found %d items in %s (%s layout, dataset %s): %d to process (%d train, %d eval), "
        "%d rejected by listing",
        source.found["items"],
        input_dir,
        layout,
        spec.name,
        source.num_to_process,
        per_split["train"],
        per_split["eval"],
        len(source.rejected),
    )
    _refuse_existing_output(output_dir, overwrite)
    settings = {
        "input_dir": input_dir,
        "output_dir": output_dir,
        "image_size": image_size,
        "eval_fraction": eval_fraction,
        "png_compress_level": png_compress_level,
        "max_pixels": max_pixels,
        "max_file_bytes": max_file_bytes,
        "layout": layout,
        "split": split,
        "hub_dataset": hub_dataset.report() if hub_dataset else None,
        "dataset_spec": spec.to_dict(),
        **({"span": span, "spans_root": spans_root} if span is not None else {}),
    }
    processing = ProcessingSettings(
        image_size, eval_fraction, png_compress_level, max_pixels, max_file_bytes, spec
    )
    processes = _local_processes(local_processes, options, source.num_to_process) if local else 0
    progress_dir = tempfile.mkdtemp(prefix="data_prep_progress_") if local else None
    staging_dir = staging.new_staging_dir(output_dir)
    try:
        pipeline = beam.Pipeline(options=options)
        build_pipeline(
            pipeline,
            source,
            staging_dir,
            processing=processing,
            shard_counts=shard_counts,
            settings=settings,
            progress_dir=progress_dir,
            processes=processes,
        )
        show = local and show_progress and source.num_to_process
        _run(pipeline, runner, local, (source.num_to_process, progress_dir) if show else None)
        report = read_report(FileSystems.join(staging_dir, record_format.REPORT_NAME))
        if not report["counts_add_up"]:
            raise DataPrepError(f"internal error: written + rejected != found in {input_dir}")
        if report["written"]["total"] == 0:
            failed_path = FileSystems.join(output_dir, staging.FAILED_REPORT_NAME)
            report["shards"] = {split: [] for split in record_format.SPLIT_NAMES}
            write_report(report, failed_path)
            reasons = ", ".join(f"{r}: {n}" for r, n in report["rejected"]["by_reason"].items())
            raise DataPrepError(
                f"no usable example in {input_dir} ({reasons}); see {failed_path} "
                f"(nothing in {output_dir} was changed)",
                report,
            )
        report = staging.promote(staging_dir, output_dir, report, spec)
    finally:
        if progress_dir:
            shutil.rmtree(progress_dir, ignore_errors=True)
        staging.delete_tree(staging_dir)
    LOGGER.info("data_prep done in %.1f s: %s", time.monotonic() - started, summary_line(report))
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
