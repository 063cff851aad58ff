"""Real write failures for tests of atomic outputs: a full disk, without mocking the writer."""

from __future__ import annotations

import contextlib
import resource
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def file_size_limit(max_bytes: int) -> Iterator[None]:
    """While active, this process's writes past `max_bytes` of any file fail with EFBIG (the
    kernel's RLIMIT_FSIZE, with SIGXFSZ ignored so the write fails instead of the process)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
