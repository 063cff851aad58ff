"""Where the Trainer's time goes: wall and CPU seconds per phase and per epoch, as JSON.

Written next to the TensorBoard logs (`<model_run_dir>/phases.json`) and logged, so a slow
training run can be read without a profiler: the first epoch carries the graph tracing of the
train and test steps, export carries the tracing of the signatures and the SavedModel write.
CPU seconds are the whole process's (all threads): on a shared machine wall time also measures
the neighbours, CPU time much less.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator

import tensorflow as tf
import tf_keras as keras

logger = logging.getLogger(__name__)

PHASES_FILE = "phases.json"


def _now() -> tuple[float, float]:
    return time.monotonic(), time.process_time()


class PhaseTimes:
    """Named phases in order, each {"wall_s", "cpu_s"}; epochs under "fit: epoch <n>"."""

    def __init__(self) -> None:
        self.phases: dict[str, dict[str, float]] = {}

    def record(self, name: str, started: tuple[float, float]) -> None:
        wall, cpu = (now - then for now, then in zip(_now(), started))
        self.phases[name] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}
        logger.info("Trainer phase %s: %.1f s wall, %.1f s CPU", name, wall, cpu)

    @contextlib.contextmanager
    def measure(self, name: str) -> Iterator[None]:
        started = _now()
        yield
        self.record(name, started)

    def epoch_callback(self) -> keras.callbacks.Callback:
        phases = self

        class EpochTimes(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
                self.started = _now()

            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                phases.record(f"fit: epoch {epoch + 1}", self.started)

        return EpochTimes()

    def write(self, path: str) -> None:
        with tf.io.gfile.GFile(path, "w") as f:
            json.dump(self.phases, f, indent=2)
