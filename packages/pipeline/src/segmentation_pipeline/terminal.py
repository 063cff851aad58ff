"""What the person at the terminal sees from the pipeline's command lines: our lines, not noise.

TensorFlow, TFX, Beam and the Google client libraries print CUDA plugin registration errors,
CPU-feature notes, deprecation and FutureWarnings on import and use; none of it is actionable
for a user of this pipeline. The command lines call `quiet_libraries` before importing them
(the C++ log level is read once, at import) unless `--verbose` asks for everything.
"""

from __future__ import annotations

import argparse
import logging
import os
import warnings

from segmentation_pipeline import native_log_filter


def add_verbose_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show library logs and warnings (TensorFlow, TFX, Beam) instead of progress lines",
    )


def quiet_libraries(verbose: bool) -> None:
    """Silences library noise unless `verbose`; call before TensorFlow is imported."""
    if verbose:
        os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
        warnings.simplefilter("default", FutureWarning)
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # also the E-level cuFFT/cuDNN/cuBLAS lines
    native_log_filter.install()  # what TF's C++ code logs through absl, past that variable
    for category in (FutureWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    for name in ("tensorflow", "apache_beam", "tensorflow_model_analysis", "tfx_bsl"):
        logging.getLogger(name).setLevel(logging.ERROR)
