"""The command lines' stderr: TensorFlow's C++ INFO/WARNING lines dropped unless --verbose, all
else passed on as it comes (progress bars too). Lines as TensorFlow 2.16 writes them."""

from __future__ import annotations

import subprocess
import sys

import pytest

ABSL_PREAMBLE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
)
GRAPPLER_WARNING = (
    "W0000 00:00:1796284367.965633   15373 op_level_cost_estimator.cc:699] Error in PredictCost() "
    'for the op: op: "CropAndResize" attr { key: "T" value { type: DT_FLOAT } }'
)
INFO_LINE = "I0000 00:00:1796284367.100000   15373 cpu_feature_guard.cc:210] This TensorFlow binary"
ERROR_LINE = "E0000 00:00:1796284367.200000   15373 some_kernel.cc:12] a real failure"
OURS = ["Data: writing 80 synthetic images", "Traceback (most recent call last):", "Warning: ours"]
PROGRESS = "\rdata_prep:  50%|#####     | 40/80"

# Writes to fd 2 as native code does (os.write, in pieces), then the progress bar's partial
# line, then dies without running exit handlers: whatever was held back would be lost.
CHILD = """
import os, signal, sys, time
from segmentation_pipeline.terminal import quiet_libraries
quiet_libraries(verbose=sys.argv[1] == "verbose")
for line in sys.argv[2:-1]:
    os.write(2, line[:10].encode())
    os.write(2, line[10:].encode() + b"\\n")
os.write(2, sys.argv[-1].encode())
time.sleep(1)
os.kill(os.getpid(), signal.SIGKILL)
"""


def stderr_of(mode: str) -> str:
    lines = [ABSL_PREAMBLE, OURS[0], GRAPPLER_WARNING, INFO_LINE, OURS[1], ERROR_LINE, OURS[2]]
    result = subprocess.run(
        [sys.executable, "-c", CHILD, mode, *lines, PROGRESS],
        capture_output=True,
        timeout=60,
    )
    return result.stderr.decode()  # bytes: text mode would turn the progress bar's \r into \n


def test_native_info_and_warning_lines_are_dropped_and_the_rest_passes_at_once():
    stderr = stderr_of("quiet")
    assert stderr == "\n".join([OURS[0], OURS[1], ERROR_LINE, OURS[2]]) + "\n" + PROGRESS, stderr


@pytest.mark.parametrize("line", [ABSL_PREAMBLE, GRAPPLER_WARNING, INFO_LINE])
def test_verbose_shows_native_lines(line):
    assert line in stderr_of("verbose")
