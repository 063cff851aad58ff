"""Atomic outputs: a run writes into a staging directory and is moved into place on success.

A run that fails or is killed leaves the previous complete output (or nothing) in place, never
partial shards under the split globs. Promotion removes the old report first (the output is
then visibly incomplete), replaces the shards and writes the new report last, so at every
moment `report.require_complete_output` accepts either the old or the new output, or neither.
Works on local paths and gs:// (Beam's FileSystems; on GCS a rename is a copy and a delete).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import uuid
from typing import Any

from apache_beam.io.filesystems import FileSystems

from segmentation_data_prep import record_format
from segmentation_data_prep.dataset_spec import DatasetSpec, write_spec
from segmentation_data_prep.report import write_report

STAGING_PREFIX = ".data_prep_staging-"
# Where a run that wrote nothing usable leaves its report; the output stays as it was.
FAILED_REPORT_NAME = "failed_report.json"


def existing_outputs(output_dir: str) -> list[str]:
    """Shards and report of a previous run in `output_dir` (what the split globs would see)."""
    patterns = [FileSystems.join(output_dir, split, "*") for split in record_format.SPLIT_NAMES]
    patterns.append(FileSystems.join(output_dir, record_format.REPORT_NAME))
    return sorted(m.path for result in FileSystems.match(patterns) for m in result.metadata_list)


def new_staging_dir(output_dir: str) -> str:
    return FileSystems.join(output_dir, f"{STAGING_PREFIX}{uuid.uuid4().hex}")


def delete_tree(path: str) -> None:
    """Delete every file under `path` (and the directory itself on local disks)."""
    files = [m.path for m in FileSystems.match([FileSystems.join(path, "**")])[0].metadata_list]
    if files:
        FileSystems.delete(files)
    if "://" not in path and os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)


def _leftover_staging_dirs(output_dir: str) -> set[str]:
    """Staging directories of runs that were killed before cleaning up."""
    pattern = FileSystems.join(output_dir, f"{STAGING_PREFIX}*", "**")
    prefix_length = len(FileSystems.join(output_dir, STAGING_PREFIX))
    dirs = set()
    for metadata in FileSystems.match([pattern])[0].metadata_list:
        name = metadata.path[prefix_length:].split("/", 1)[0]
        dirs.add(FileSystems.join(output_dir, STAGING_PREFIX + name))
    return dirs


def _ensure_dir(path: str) -> None:
    if "://" not in path:
        os.makedirs(path, exist_ok=True)  # GCS has no directories to create


def promote(
    staging_dir: str, output_dir: str, staged_report: dict[str, Any], spec: DatasetSpec
) -> dict[str, Any]:
    """Move the staged shards into `output_dir`, replacing any previous output; report last.

    The dataset spec (`dataset_spec.json`) is written once the old report is gone, so no
    moment pairs an old report with a new spec.
    """
    old = existing_outputs(output_dir)
    report_path = FileSystems.join(output_dir, record_format.REPORT_NAME)
    if report_path in old:
        FileSystems.delete([report_path])  # from here on the old output is visibly incomplete
        old.remove(report_path)
    write_spec(spec, output_dir)
    if old:
        FileSystems.delete(old)
    sources, destinations = [], []
    final_shards: dict[str, list[str]] = {}
    for split in record_format.SPLIT_NAMES:
        _ensure_dir(FileSystems.join(output_dir, split))
        final_shards[split] = []
        for path in staged_report["shards"][split]:
            destination = FileSystems.join(output_dir, split, posixpath.basename(path))
            sources.append(path)
            destinations.append(destination)
            final_shards[split].append(destination)
    if sources:
        FileSystems.rename(sources, destinations)
    report = {**staged_report, "shards": final_shards}
    write_report(report, report_path)
    failed_report = FileSystems.join(output_dir, FAILED_REPORT_NAME)
    if FileSystems.exists(failed_report):
        FileSystems.delete([failed_report])
    for directory in {staging_dir} | _leftover_staging_dirs(output_dir):
        delete_tree(directory)
    return report
