"""What a run reads, per input layout: listed in the launcher, read in the workers.

The launcher lists names only (file layouts) or parquet footers only (hf-parquet), so counts,
shard sizes and every input that cannot be used are known before the pipeline starts. In
the pipeline, `read` yields file Pairs (read by the processing step) or RawExamples (parquet
rows, which carry their bytes): `processing.process_pair` reads and processes a Pair,
`processing.process_example` processes a RawExample.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam

from segmentation_data_prep.dataset_spec import DatasetSpec
from segmentation_data_prep.hf_parquet import (
    OFFICIAL_SPLITS,
    ReadHubParquet,
    hub_split,
    list_parquet,
)
from segmentation_data_prep.inputs import InputError, Outcome, list_inputs
from segmentation_data_prep.official_split import apply_official_split, read_pet_official_split
from segmentation_data_prep.processing import split_for_stem
from segmentation_data_prep.settings import SPLIT_MODES


@dataclass
class Source:
    layout: str
    items: list[Any]  # Pairs, or parquet file paths
    rejected: list[Outcome] = field(default_factory=list)  # found unusable by the listing
    found: dict[str, int] = field(default_factory=dict)  # "items" and file counts
    per_split: Counter = field(default_factory=Counter)  # expected examples (sizes shards)
    spec: DatasetSpec | None = None
    official_split: bool = False

    @property
    def num_to_process(self) -> int:
        return self.found["items"] - len(self.rejected)

    def read(self, pipeline: beam.Pipeline):
        """PCollection of Pairs or RawExamples, spread over the workers."""
        listed = pipeline | "Listed" >> beam.Create(self.items)
        if self.layout == "hf-parquet":
            # Spread the files first (Create is one bundle), then the rows.
            listed = listed | "DistributeFiles" >> beam.Reshuffle()
            listed = listed | "ReadParquet" >> ReadHubParquet(self.spec, self.official_split)
        return listed | "Distribute" >> beam.Reshuffle()


def list_source(
    input_dir: str, spec: DatasetSpec, layout: str, split: str, eval_fraction: float
) -> Source:
    """List the input; InputError (before any work) when it cannot be read as `layout`."""
    if split not in SPLIT_MODES:
        raise InputError(f"split {split!r} is not one of {SPLIT_MODES}")
    if layout == "hf-parquet":
        parquet = list_parquet(input_dir, spec)
        per_split: Counter = Counter()
        for path, rows in zip(parquet.files, parquet.rows):
            official = OFFICIAL_SPLITS.get(hub_split(path) or "")
            if split == "official" and official is None:
                raise InputError(
                    f"--split official: {path} names no split (train, validation, test); "
                    "leave out --split official to split by key hash"
                )
            if split == "official":
                per_split[official] += rows
            else:  # keys are known only once rows are read: expected sizes
                per_split["eval"] += round(rows * eval_fraction)
                per_split["train"] += rows - round(rows * eval_fraction)
        found = {"items": parquet.found, "parquet_files": len(parquet.files)}
        return Source(layout, list(parquet.files), [], found, per_split, spec, split == "official")
    if split == "official" and layout != "pet":
        raise InputError("--split official reads the Pet layout's list files: use --layout pet")
    listing = list_inputs(input_dir, layout)
    if split == "official":
        listing = apply_official_split(listing, read_pet_official_split(input_dir))
    per_split = Counter(p.split or split_for_stem(p.stem, eval_fraction) for p in listing.pairs)
    found = {
        "items": listing.found,
        "images": listing.num_image_files,
        "trimaps" if layout == "pet" else "masks": listing.num_mask_files,
    }
    return Source(layout, listing.pairs, listing.rejected, found, per_split, spec)
