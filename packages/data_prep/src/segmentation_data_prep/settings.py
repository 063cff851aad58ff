"""The job's settings: defaults, limits and their check, without importing Apache Beam.

The command line checks its arguments here before the ~10-40 s Beam import, so a bad value
answers at once; `run_data_prep` checks the same way for Python callers.
"""

from __future__ import annotations

from segmentation_data_prep import record_format

DEFAULT_EVAL_FRACTION = 0.2
# hash: a stable hash of each stem decides; official: the dataset's own lists (official_split.py)
SPLIT_MODES = ("hash", "official")
EXAMPLES_PER_SHARD = 1000  # ~30 MB shards at 128 px: enough files to read in parallel
# Decompression-bomb guard: a 1 MB 16-bit PNG can declare 170 MP (several GB decoded). Inputs
# over either cap are rejected before decoding; 40 MP is a 7300 x 5500 photo.
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024
# Local default: the DirectRunner in one thread, examples processed by a pool of worker
# processes (process_pool.py). Measured on 2 cores at N=2000 (benchmarks/benchmark_data_prep.py,
# ms per example): one thread 3.2, Beam's threads 2.6 (the GIL is held a third of the time),
# Beam's multi_processing 4.4 (each worker imports Beam and gets elements through gRPC), one
# thread + the process pool 1.9.
DIRECT_DEFAULT = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


class DataPrepError(RuntimeError):
    """The job cannot run, or ran and produced nothing usable (see `report`)."""

    def __init__(self, message: str, report: dict | None = None) -> None:
        super().__init__(message)
        self.report = report


def check_settings(
    *,
    image_size: int,
    eval_fraction: float,
    png_compress_level: int,
    num_train_shards: int | None,
    num_eval_shards: int | None,
    max_pixels: int,
    max_file_bytes: int,
    local_processes: int | None = None,
) -> None:
    """Raise DataPrepError naming the first setting out of its range."""
    if not 1 <= image_size <= record_format.MAX_IMAGE_SIZE:
        raise DataPrepError(
            f"image_size must be in 1..{record_format.MAX_IMAGE_SIZE}, got {image_size}"
        )
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
    if max_pixels < 1:
        raise DataPrepError(f"max_pixels must be >= 1, got {max_pixels}")
    if max_file_bytes < 1:
        raise DataPrepError(f"max_file_bytes must be >= 1, got {max_file_bytes}")
    if local_processes is not None and local_processes < 1:
        raise DataPrepError(f"local_processes must be >= 1, got {local_processes}")
