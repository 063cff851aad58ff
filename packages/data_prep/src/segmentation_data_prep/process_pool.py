"""Worker processes for the local (DirectRunner) job: examples processed on every core.

Processing an example holds the GIL for about a third of its time (NumPy on small arrays,
Python between Pillow's calls), so Beam's worker threads reach only 1.3x on 2 cores, where
processes reach 1.9x. Beam's own multi_processing mode starts each worker as a new SDK
harness that imports all of Beam (~4 s) and passes every element through gRPC: slower than
one thread at 2,000 images here. So the local job runs Beam in one thread, reads the files
there, and hands batches of examples to a pool of worker processes (measured by
benchmarks/benchmark_data_prep.py). Dataflow runs one harness per core already and never
uses this.

The workers are forked, not spawned: spawned (and forkserver) workers import the caller's
main module again (`python -m segmentation_pipeline.demo` would load TensorFlow in each),
while forked ones start in milliseconds with everything already imported. They run only
Pillow and NumPy code and answer through the executor's pipes.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor

from segmentation_data_prep.inputs import Outcome, Pair
from segmentation_data_prep.processing import (
    ProcessingSettings,
    process_example,
    process_pair,
    read_pair,
)
from segmentation_data_prep.raw_example import RawExample

# Below this many examples the pool is not started (measured on 2 cores: at 60 examples the
# job already takes 0.35 s with it, 0.40 s without).
MIN_EXAMPLES = 50
# Examples per task: per-task overhead (pickling, the executor's queues) is ~0.5 ms, a third
# of an example's work. Batches in flight per process: keeps each busy, and bounds the bytes
# held here (each file may be up to max_file_bytes).
BATCH_SIZE = 5
BATCHES_AHEAD_PER_PROCESS = 2
# Only Linux by default: on macOS a child forked after system frameworks were loaded (NumPy's
# Accelerate, TensorFlow) can crash in Apple's Objective-C runtime.
FORK_BY_DEFAULT = sys.platform.startswith("linux")


def usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def start(processes: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        processes, mp_context=multiprocessing.get_context("fork"), initializer=_own_streams
    )


def _own_streams() -> None:
    """In a new worker: standard streams of its own. A fork copies the parent's with their
    locks as they were, and the progress bar writes to stderr from another thread: a lock
    held at that instant would block the worker's first warning forever."""
    for name, descriptor in (("stdout", 1), ("stderr", 2)):
        try:
            stream = os.fdopen(os.dup(descriptor), "w", buffering=1)
        except OSError:  # the parent has no such stream (a daemon)
            stream = open(os.devnull, "w")  # noqa: SIM115 (the worker's, for its lifetime)
        setattr(sys, name, stream)


def process_pairs(
    pairs: Iterable[Pair],
    settings: ProcessingSettings,
    pool: ProcessPoolExecutor | None = None,
    processes: int = 0,
) -> Iterator[tuple[Outcome, bytes | None]]:
    """process_pair's result for each pair, in order; with a pool (of `processes`), files are
    read here and processed by its workers, a few batches ahead."""
    if pool is None:
        yield from (process_pair(pair, settings) for pair in pairs)
        return
    pending: deque[tuple[list[Pair], Future]] = deque()  # batches submitted, oldest first
    batch: list[Pair] = []
    try:
        remaining = iter(pairs)
        while batch := list(itertools.islice(remaining, BATCH_SIZE)):
            raws = [read_pair(pair, settings.max_file_bytes) for pair in batch]
            pending.append((batch, pool.submit(_process_batch, raws, settings)))
            if len(pending) >= BATCHES_AHEAD_PER_PROCESS * processes:
                yield from _oldest_results(pending)
        while pending:
            yield from _oldest_results(pending)
    except BrokenExecutor as error:
        batches = [submitted for submitted, _ in pending] + [batch]
        in_flight = dict.fromkeys(pair.stem for pairs in batches for pair in pairs)
        raise RuntimeError(
            "a data_prep worker process died (killed for memory, or a crash in an image "
            f"decoder) while processing one of: {', '.join(in_flight)}; rerun with "
            "--local-processes 1 to process them in one process and see the error"
        ) from error


def _oldest_results(pending: deque) -> list[tuple[Outcome, bytes | None]]:
    results = pending[0][1].result()  # still listed as in flight if its worker died
    pending.popleft()
    return results


def _process_batch(
    raws: list[RawExample | Outcome], settings: ProcessingSettings
) -> list[tuple[Outcome, bytes | None]]:
    """In a worker: process the examples that could be read; pass on those that could not."""
    return [
        (raw, None) if isinstance(raw, Outcome) else process_example(raw, settings) for raw in raws
    ]
