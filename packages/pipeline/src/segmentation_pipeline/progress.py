"""One progress line per component instead of LocalDagRunner's full INFO log stream."""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import time
from collections.abc import Iterator


class ComponentProgress(logging.Handler):
    """Turns LocalDagRunner's log lines into one progress line per component (errors pass)."""

    def __init__(self, total: int) -> None:
        super().__init__(logging.INFO)
        self.total = total
        self.done = 0
        self.started: dict[str, float] = {}
        self.cached: set[str] = set()
        self.current = ""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            print(f"{record.levelname}: {message}", file=sys.stderr, flush=True)
            return
        if match := re.fullmatch(r"Component (\S+) is running\.", message):
            self.current = match.group(1)
            self.started[self.current] = time.monotonic()
            print(f"[{self.done + 1}/{self.total}] {self.current} ...", flush=True)
        elif message.startswith("A cached execution"):
            self.cached.add(self.current)
        elif match := re.fullmatch(r"Component (\S+) is finished\.", message):
            node = match.group(1)
            self.done += 1
            seconds = time.monotonic() - self.started.get(node, time.monotonic())
            how = "cached" if node in self.cached else "done"
            print(f"[{self.done}/{self.total}] {node} {how} in {seconds:.1f} s", flush=True)


@contextlib.contextmanager
def component_progress(total: int) -> Iterator[ComponentProgress]:
    """Routes TFX's absl logger (INFO) to progress lines only, for the `with` block."""
    progress = ComponentProgress(total)
    absl_logger = logging.getLogger("absl")
    saved = (absl_logger.level, absl_logger.propagate)
    absl_logger.addHandler(progress)
    absl_logger.setLevel(logging.INFO)
    absl_logger.propagate = False
    try:
        yield progress
    finally:
        absl_logger.removeHandler(progress)
        absl_logger.setLevel(saved[0])
        absl_logger.propagate = saved[1]
