"""Which pairs go to which shard, and writing TFRecord shards from chunks of pairs.

The launcher plans everything up front: pairs are split (by stem hash), each split cut into
shards of consecutive stems, each shard into chunks of at most CHUNK_SIZE pairs. A chunk is
one Beam element: a worker processes its pairs and writes one part file, so Beam moves a few
hundred small elements instead of every serialized example (no per-record shuffle). A last
step concatenates each shard's parts in chunk order: the output is the same byte for byte on
every runner and every run.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import google_crc32c
from apache_beam.io.filesystems import FileSystems

from segmentation_data_prep import record_format
from segmentation_data_prep.inputs import Pair

# Pairs per Beam element: small enough to spread over workers and show progress, large enough
# that Beam's per-element cost (~1 ms on the DirectRunner) disappears.
CHUNK_SIZE = 50
_COPY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Chunk:
    split: str
    shard: int
    num_shards: int
    index: int  # position within the shard
    pairs: tuple[Pair, ...]

    @property
    def shard_key(self) -> str:
        return shard_name(self.split, self.shard, self.num_shards)


def shard_name(split: str, shard: int, num_shards: int) -> str:
    """`train-00000-of-00002.tfrecord`: the names `record_format.shard_glob` matches."""
    return f"{split}-{shard:05d}-of-{num_shards:05d}{record_format.SHARD_SUFFIX}"


def plan_chunks(
    pairs_by_split: dict[str, list[Pair]],
    shard_counts: dict[str, int],
    chunk_size: int = CHUNK_SIZE,
) -> list[Chunk]:
    """Every pair in exactly one chunk; shards of a split differ in size by at most one pair."""
    chunks = []
    for split, pairs in pairs_by_split.items():
        num_shards = shard_counts[split]
        for shard in range(num_shards):
            start = len(pairs) * shard // num_shards
            members = pairs[start : len(pairs) * (shard + 1) // num_shards]
            for index in range(math.ceil(len(members) / chunk_size)):
                part = tuple(members[index * chunk_size : (index + 1) * chunk_size])
                chunks.append(Chunk(split, shard, num_shards, index, part))
    return chunks


def _masked_crc32c(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord_bytes(records: Iterable[bytes]) -> bytes:
    """TFRecord framing: length, masked CRC-32C of the length, data, masked CRC-32C of data."""
    out = []
    for record in records:
        length = struct.pack("<Q", len(record))
        out.append(length)
        out.append(struct.pack("<I", _masked_crc32c(length)))
        out.append(record)
        out.append(struct.pack("<I", _masked_crc32c(record)))
    return b"".join(out)


def write_file(path: str, data: bytes) -> None:
    with FileSystems.create(path, mime_type="application/octet-stream") as handle:
        handle.write(data)


def concatenate(parts: list[str], destination: str) -> str:
    """Write the parts one after another into `destination` (TFRecords concatenate)."""
    with FileSystems.create(destination, mime_type="application/octet-stream") as out:
        for part in parts:
            with FileSystems.open(part) as handle:
                while block := handle.read(_COPY_BYTES):
                    out.write(block)
    if parts:
        FileSystems.delete(parts)
    return destination
