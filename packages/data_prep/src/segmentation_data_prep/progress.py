"""Progress of a local run: workers count into files, the launcher's bar sums them.

DirectRunner workers may be other processes, so they cannot update the launcher's bar
directly; each writes its running count to its own file in a directory the launcher polls.
"""

from __future__ import annotations

import os
import threading
import time
import uuid


class ProgressFile:
    """A worker's running count, in a file the launcher's progress bar sums (local runs)."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, uuid.uuid4().hex)
        self.count = 0
        self.last_write = 0.0

    def add(self, count: int = 1) -> None:
        self.count += count
        if time.monotonic() - self.last_write > 0.5:
            self.flush()

    def flush(self) -> None:
        temporary = f"{self.path}.tmp"
        with open(temporary, "w") as handle:
            handle.write(str(self.count))
        os.replace(temporary, self.path)
        self.last_write = time.monotonic()


class ProgressBar:
    """tqdm over the workers' progress files, refreshed from a thread while the job runs."""

    def __init__(self, total: int, directory: str) -> None:
        from tqdm import tqdm

        self.directory = directory
        self.bar = tqdm(total=total, unit="img", desc="data_prep", mininterval=1.0)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _done(self) -> int:
        done = 0
        for name in os.listdir(self.directory):
            if not name.endswith(".tmp"):
                try:
                    with open(os.path.join(self.directory, name)) as handle:
                        done += int(handle.read() or 0)
                except (OSError, ValueError):
                    continue  # being replaced right now; next poll reads it
        return min(done, self.bar.total)  # retried bundles may count twice

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            self.bar.update(self._done() - self.bar.n)

    def __enter__(self) -> ProgressBar:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        self.thread.join()
        self.bar.update(self._done() - self.bar.n)
        self.bar.close()
