"""report.json: what a run found, wrote and rejected; and the check that an output is complete.

The report is the completion marker of an output directory: it is written last, after the
shards are in place, and lists them. Consumers (the pipeline's runners) call
`require_complete_output` instead of trusting that train/ and eval/ exist.
"""

from __future__ import annotations

import json
import posixpath
from collections import Counter
from typing import Any

from apache_beam.io.filesystems import FileSystems

from segmentation_data_prep import record_format
from segmentation_data_prep.inputs import REJECTION_REASONS, WARNING_REASONS, Outcome
from segmentation_data_prep.settings import DataPrepError


class IncompleteOutputError(DataPrepError):
    """A data directory is not the complete output of a successful data_prep run."""


def build_report(
    written: Counter,
    rejected: list[Outcome],
    warned: list[Outcome],
    found: dict[str, int],
    settings: dict[str, Any],
    shards: dict[str, list[str]],
) -> dict[str, Any]:
    """The report.json content: counts that add up, and every rejected item with a reason."""
    show = record_format.printable
    rejected = sorted(rejected, key=lambda o: (show(o.stem), [show(p) for p in o.paths]))
    warnings = sorted(
        (show(o.stem), reason, detail, show(o.paths[0]))
        for o in warned
        for reason, detail in o.warnings
    )
    rejected_by_reason = Counter(o.reason for o in rejected)
    warnings_by_reason = Counter(reason for _, reason, _, _ in warnings)
    num_written = {split: written.get(split, 0) for split in record_format.SPLIT_NAMES}
    total_written = sum(num_written.values())
    return {
        **settings,
        "found": found["items"],
        "found_files": {kind: count for kind, count in found.items() if kind != "items"},
        "written": {**num_written, "total": total_written},
        "rejected": {"total": len(rejected), "by_reason": dict(sorted(rejected_by_reason.items()))},
        "counts_add_up": total_written + len(rejected) == found["items"],
        "rejections": [
            {
                "stem": show(o.stem),
                "reason": o.reason,
                "detail": show(o.detail),
                "paths": [show(p) for p in o.paths],
            }
            for o in rejected
        ],
        "warnings": {"total": len(warnings), "by_reason": dict(sorted(warnings_by_reason.items()))},
        "warning_items": [
            {"stem": stem, "reason": reason, "detail": show(detail), "path": path}
            for stem, reason, detail, path in warnings
        ],
        "how_to_fix": {
            reason: {**REJECTION_REASONS, **WARNING_REASONS}[reason]
            for reason in sorted(rejected_by_reason.keys() | warnings_by_reason.keys())
        },
        "shards": {split: sorted(paths) for split, paths in shards.items()},
    }


def write_report(report: dict[str, Any], path: str) -> None:
    with FileSystems.create(path, mime_type="application/json") as handle:
        handle.write(json.dumps(report, indent=2).encode("utf-8"))


def read_report(path: str) -> dict[str, Any]:
    with FileSystems.open(path) as handle:
        return json.loads(handle.read())


def summary_line(report: dict[str, Any]) -> str:
    written, rejected = report["written"], report["rejected"]
    reasons = ", ".join(f"{r}: {n}" for r, n in rejected["by_reason"].items())
    return (
        f"found {report['found']}, written {written['total']} (train {written['train']}, "
        f"eval {written['eval']}), rejected {rejected['total']}"
        + (f" ({reasons})" if reasons else "")
    )


def require_complete_output(data_dir: str) -> dict[str, Any]:
    """The report of the complete data_prep output in `data_dir` (local or gs://).

    Raises IncompleteOutputError when the report is missing or unreadable (a run failed, was
    killed or is still running), when the shards on disk differ from the ones it lists, or
    when a split is empty.
    """
    data_dir = data_dir.rstrip("/")
    path = FileSystems.join(data_dir, record_format.REPORT_NAME)
    rerun = (
        f"run `seg-data-prep --input-dir <dataset> --output-dir {data_dir} --overwrite` "
        "(or point the pipeline at a complete output)"
    )
    if not FileSystems.exists(path):
        raise IncompleteOutputError(
            f"no complete data_prep output in {data_dir}: {record_format.REPORT_NAME}, written "
            f"last by a successful run, is missing; {rerun}"
        )
    try:
        report = read_report(path)
        listed = {
            split: {posixpath.basename(p) for p in report["shards"][split]}
            for split in record_format.SPLIT_NAMES
        }
        written = {split: report["written"][split] for split in record_format.SPLIT_NAMES}
    except (ValueError, KeyError, TypeError) as error:
        raise IncompleteOutputError(
            f"{path} is not a data_prep report ({error}); {rerun}"
        ) from None
    for split in record_format.SPLIT_NAMES:
        pattern = FileSystems.join(data_dir, record_format.shard_glob(split))
        matches = FileSystems.match([pattern])[0].metadata_list
        on_disk = {posixpath.basename(m.path) for m in matches}
        if on_disk != listed[split]:
            missing, unlisted = sorted(listed[split] - on_disk), sorted(on_disk - listed[split])
            raise IncompleteOutputError(
                f"the {split} shards in {data_dir} differ from the ones {path} lists "
                f"(missing: {missing[:3]}, not listed: {unlisted[:3]}); {rerun}"
            )
        if written[split] < 1:
            raise IncompleteOutputError(f"the {split} split in {data_dir} is empty; {rerun}")
    return report
