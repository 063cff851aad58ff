"""Spans: successive batches of data under one root, `<root>/span-<N>/`, each a whole output.

Continuous training adds data as new spans instead of rewriting the old output: span N is one
complete data_prep output (`train/`, `eval/`, `report.json`, `dataset_spec.json`) written
once, through the same staging and atomic promotion as any output, and never changed after.
The pipeline's ImportExampleGen reads them with TFX's `{SPAN}` placeholder
(`span_split_pattern`): the latest span by default, a window of spans for training.
Apache Beam's FileSystems is imported where used, so command lines can read the names first.
"""

from __future__ import annotations

import re

from segmentation_data_prep import record_format
from segmentation_data_prep.settings import DataPrepError

SPAN_DIR_PREFIX = "span-"
TFX_SPAN_PLACEHOLDER = "{SPAN}"  # ImportExampleGen replaces it with the span number
FIRST_SPAN = 1  # TFX calls data without spans "span 0"
_SPAN_DIR = re.compile(rf"{re.escape(SPAN_DIR_PREFIX)}(0|[1-9][0-9]*)")


def span_dir_name(span: int) -> str:
    return f"{SPAN_DIR_PREFIX}{span}"


def span_dir(root: str, span: int) -> str:
    """`<root>/span-<span>` (local path or gs://)."""
    return f"{root.rstrip('/')}/{span_dir_name(span)}"


def span_split_pattern(split: str) -> str:
    """Relative pattern of a split's shards in every span, for ImportExampleGen `{SPAN}`."""
    return f"{SPAN_DIR_PREFIX}{TFX_SPAN_PLACEHOLDER}/{record_format.shard_glob(split)}"


def check_span(span: int) -> None:
    if isinstance(span, bool) or not isinstance(span, int) or span < FIRST_SPAN:
        raise DataPrepError(f"span must be an integer >= {FIRST_SPAN}, got {span!r}")


def list_spans(root: str, complete_only: bool = True) -> list[int]:
    """Span numbers under `root`, ascending: those with a report (complete outputs), or with
    `complete_only=False` those holding train shards (what ImportExampleGen's `{SPAN}` sees)."""
    from apache_beam.io.filesystems import FileSystems

    leaf = record_format.REPORT_NAME if complete_only else record_format.shard_glob("train")
    pattern = FileSystems.join(root.rstrip("/"), f"{SPAN_DIR_PREFIX}*", leaf)
    prefix = FileSystems.join(root.rstrip("/"), "")
    spans = set()
    for metadata in FileSystems.match([pattern])[0].metadata_list:
        name = metadata.path[len(prefix) :].split("/", 1)[0]
        if match := _SPAN_DIR.fullmatch(name):
            spans.add(int(match.group(1)))
    return sorted(spans)


def refuse_existing_span(root: str, span: int) -> None:
    """Spans are immutable: a span that holds shards or a report is never written again."""
    from segmentation_data_prep.staging import existing_outputs

    existing = existing_outputs(span_dir(root, span))
    if existing:
        complete = list_spans(root)
        after = (max(complete) if complete else span) + 1
        raise DataPrepError(
            f"span {span} already exists in {root} ({len(existing)} files, e.g. {existing[0]}); "
            "spans are never rewritten (a pipeline may have trained on it): write new data as "
            f"the next span (--span {after}), or remove {span_dir(root, span)} yourself if it "
            "was never used"
        )


def require_complete_span(root: str, span: int | None = None) -> dict:
    """The report of span `span` (default: the latest span, the one ImportExampleGen reads)
    under `root`.

    Raises:
        IncompleteOutputError: `root` holds no span, or the span's output is not complete
            (a run failed, was killed or is running; see report.require_complete_output).
    """
    from segmentation_data_prep.report import IncompleteOutputError, require_complete_output

    if span is None:
        spans = list_spans(root, complete_only=False)
        if not spans:
            raise IncompleteOutputError(
                f"no complete span under {root} (expected {span_dir(root, FIRST_SPAN)}/"
                f"{record_format.REPORT_NAME}); write one with `seg-data-prep --output-dir "
                f"{root} --span {FIRST_SPAN} ...`"
            )
        span = spans[-1]
    return require_complete_output(span_dir(root, span))
