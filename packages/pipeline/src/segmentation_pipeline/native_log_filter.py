"""Drops TensorFlow's C++ INFO/WARNING lines that bypass TF_CPP_MIN_LOG_LEVEL from stderr.

TensorFlow 2.16's Grappler logs through absl (e.g. "W0000 00:00:1796... op_level_cost_estimator
.cc:699] Error in PredictCost() for the op: CropAndResize ..." once per traced augmentation
function, after "WARNING: All log messages before absl::InitializeLog() is called are written to
STDERR"), which the environment variable does not reach. File descriptor 2 is routed through a pipe
whose reader passes every other byte on at once (progress bars drawn with carriage returns
included): only whole lines in absl's INFO/WARNING format are dropped; ERROR and FATAL lines,
Python tracebacks and our own output pass.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

_NATIVE_LINE = re.compile(
    rb"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.\-/]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called)"
)
_ABSL_PREAMBLE = b"WARNING: All log messages before absl::InitializeLog()"
# A partial line is held back only while it can still become a native log line.
_MAYBE_NATIVE = re.compile(rb"^[IW](?:\d{1,4}(?: [\d:.]*(?: +\d*(?: [\w.\-/:]*)?)?)?)?$")


def _could_become_native(partial: bytes) -> bool:
    return (
        bool(_MAYBE_NATIVE.match(partial))
        or _ABSL_PREAMBLE.startswith(partial)
        or partial.startswith(_ABSL_PREAMBLE)
    )


class _Filter:
    """What the reader thread does with the bytes written to fd 2."""

    def __init__(self, out_fd: int) -> None:
        self.out_fd = out_fd
        self.pending = b""  # the start of a line that may still turn out to be native

    def feed(self, data: bytes) -> None:
        data, self.pending = self.pending + data, b""
        while data:
            end = data.find(b"\n")
            if end < 0:
                if _could_become_native(data):
                    self.pending = data
                else:
                    os.write(self.out_fd, data)
                return
            line, data = data[: end + 1], data[end + 1 :]
            if not _NATIVE_LINE.match(line):
                os.write(self.out_fd, line)

    def flush(self) -> None:
        if self.pending:
            os.write(self.out_fd, self.pending)
            self.pending = b""


_installed = False


def install() -> None:
    """Route fd 2 through the filter until the process exits (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    sys.stderr.flush()
    real_stderr = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    line_filter = _Filter(real_stderr)

    def pump() -> None:
        while chunk := os.read(read_end, 65536):
            line_filter.feed(chunk)
        line_filter.flush()

    thread = threading.Thread(target=pump, name="native-log-filter", daemon=True)
    thread.start()

    def restore() -> None:
        sys.stderr.flush()
        os.dup2(real_stderr, 2)  # the pipe's last writer in this process goes away
        thread.join(timeout=2)  # a child that still holds the pipe must not hold up the exit
        line_filter.flush()

    atexit.register(restore)
