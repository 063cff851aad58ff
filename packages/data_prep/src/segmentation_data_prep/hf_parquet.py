"""Input layout `hf-parquet`: a Hugging Face dataset repo's parquet files (local or gs://).

The Hub stores image datasets as parquet files whose Image columns are `{bytes, path}`
structs (`data/<split>-00000-of-00001.parquet`, or `<config>/<split>/0000.parquet` for
converted repos). The launcher reads only the footers (row counts and schemas), so a file
without the spec's columns is an error before any work starts; the workers read the rows
with Beam's parquet IO, so Dataflow reads them in parallel.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.io import parquetio
from apache_beam.io.filesystems import FileSystems

from segmentation_data_prep.dataset_spec import DatasetSpec
from segmentation_data_prep.inputs import InputError
from segmentation_data_prep.raw_example import RawExample

# Hub split names -> ours, for `--split official`.
OFFICIAL_SPLITS = {"train": "train", "validation": "eval", "valid": "eval", "test": "eval"}
_SPLIT_IN_NAME = re.compile(r"^(?P<split>[a-z]+)(-\d+-of-\d+)?$")


@dataclass(frozen=True)
class ParquetListing:
    files: tuple[str, ...]
    rows: tuple[int, ...]  # rows per file, from the footers

    @property
    def found(self) -> int:
        return sum(self.rows)


def hub_split(path: str) -> str | None:
    """The Hub split a parquet file belongs to, from its name or folder; None if unnamed."""
    stem = posixpath.splitext(posixpath.basename(path))[0]
    match = _SPLIT_IN_NAME.match(stem)
    if match and match["split"] in OFFICIAL_SPLITS:
        return match["split"]
    folder = posixpath.basename(posixpath.dirname(path))
    return folder if folder in OFFICIAL_SPLITS else None


def _check_image_column(schema, column: str, path: str, spec: DatasetSpec) -> None:
    import pyarrow as pa

    which = "image_column" if column == spec.image_column else "label_column"
    if column not in schema.names:
        raise InputError(
            f"{path} has no column {column!r} (columns: {', '.join(schema.names)}); the dataset "
            f"spec {spec.name!r} names it as {which}: pass a spec whose {which} is one of those"
        )
    column_type = schema.field(column).type
    if not (
        pa.types.is_struct(column_type)
        and column_type.get_field_index("bytes") >= 0
        and pa.types.is_binary(column_type.field(column_type.get_field_index("bytes")).type)
    ):
        raise InputError(
            f"{path}: column {column!r} is {column_type}, not an image struct "
            "{bytes: binary, path: string} as the Hub stores Image features"
        )


def list_parquet(root: str, spec: DatasetSpec) -> ParquetListing:
    """Every `*.parquet` under `root`, with its row count; InputError on a file we cannot use."""
    import pyarrow.parquet as pq

    pattern = FileSystems.join(root.rstrip("/"), "**.parquet")
    files = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
    if not files:
        raise InputError(
            f"no .parquet files under {root}: the hf-parquet layout is a Hugging Face dataset "
            "repo (data/train-00000-of-00001.parquet, ...); check the path or --hf-dataset"
        )
    rows = []
    for path in files:
        try:
            with FileSystems.open(path) as handle:
                footer = pq.ParquetFile(handle)
                schema, num_rows = footer.schema_arrow, footer.metadata.num_rows
        except Exception as error:  # pyarrow raises several types on corrupt footers
            raise InputError(f"{path} is not a readable parquet file: {error}") from error
        for column in (spec.image_column, spec.label_column):
            _check_image_column(schema, column, path, spec)
        rows.append(num_rows)
    return ParquetListing(tuple(files), tuple(rows))


def _stem(cell: dict | None) -> str:
    path = (cell or {}).get("path") or ""
    return posixpath.splitext(posixpath.basename(path))[0]


def row_to_example(
    file_path: str, row: dict, spec: DatasetSpec, official_split: bool
) -> RawExample:
    """One parquet row -> RawExample. The key is the image's file stem when the row has a
    path, else a hash of the image bytes (stable across runs, so the split is too)."""
    image_cell, label_cell = row.get(spec.image_column), row.get(spec.label_column)
    image = (image_cell or {}).get("bytes") or b""
    mask = (label_cell or {}).get("bytes") or b""
    key = _stem(image_cell) or "row-" + hashlib.sha256(image + mask).hexdigest()[:16]
    paths = (f"{file_path}#{spec.image_column}:{key}", f"{file_path}#{spec.label_column}:{key}")
    split = OFFICIAL_SPLITS.get(hub_split(file_path) or "") if official_split else None
    return RawExample(key, image, mask, paths, split)


class ReadHubParquet(beam.PTransform):
    """Parquet file paths -> RawExample per row (Beam's parquet IO, columns projected)."""

    def __init__(self, spec: DatasetSpec, official_split: bool = False) -> None:
        super().__init__()
        self.spec = spec
        self.official_split = official_split

    def expand(self, paths):
        columns = [self.spec.image_column, self.spec.label_column]
        return (
            paths
            | "ReadRows" >> parquetio.ReadAllFromParquet(with_filename=True, columns=columns)
            | "ToRawExample"
            >> beam.Map(
                lambda item, spec, official: row_to_example(*item, spec, official),
                self.spec,
                self.official_split,
            )
        )
