"""Drift distances of every scenario shift, as the pipeline's DistributionValidator measures them.

    python packages/pipeline/benchmarks/measure_drift.py [--num-images 80] [--strength 1.0]

Writes span 1 (synthetic Pet-like images, seed 0) and, from seed 1, a second span with no shift
and one per named shift, runs data_prep on each, computes TFDV statistics of the train split and
compares each second span with span 1 exactly as DistributionValidator does (schema inferred
from the baseline, Jensen-Shannon comparators from `segmentation_pipeline.drift`). Prints one
row per drift feature, one column per shift, and the stack. The no-shift column is the noise
floor the threshold (`drift_threshold`) must stay above.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path


def statistics(data_dir: str):
    import tensorflow_data_validation as tfdv
    from segmentation_data_prep import record_format

    pattern = str(Path(data_dir) / record_format.shard_glob("train"))
    return tfdv.generate_statistics_from_tfrecord(data_location=pattern).datasets[0]


def distances(current, baseline, threshold: float):
    import tensorflow_data_validation as tfdv
    from segmentation_pipeline.drift import drift_from_anomalies, validator_config
    from tensorflow_metadata.proto.v0 import statistics_pb2
    from tfx.components.distribution_validator.executor import _make_schema_from_config

    baseline_list = statistics_pb2.DatasetFeatureStatisticsList(datasets=[baseline])
    current_list = statistics_pb2.DatasetFeatureStatisticsList(datasets=[current])
    # What DistributionValidator's executor does with its config and the baseline statistics.
    schema = _make_schema_from_config(validator_config(threshold), baseline_list)
    anomalies = tfdv.validate_statistics(current_list, schema, previous_statistics=baseline_list)
    return drift_from_anomalies(anomalies)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-images", type=int, default=80)
    parser.add_argument("--strength", type=float, default=1.0)
    args = parser.parse_args(argv)
    from segmentation_data_prep.beam_job import run_data_prep
    from segmentation_data_prep.shifts import SHIFT_NAMES, Shift
    from segmentation_data_prep.synthetic import write_synthetic_pet_dataset
    from segmentation_pipeline.config import PipelineConfig

    threshold = PipelineConfig().drift_threshold
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="measure_drift_"))
    beam = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]

    def prepared(name: str, seed: int, shift: Shift | None) -> str:
        raw = write_synthetic_pet_dataset(work / "raw" / name, args.num_images, seed, shift=shift)
        out = work / "spans" / name
        run_data_prep(str(raw), str(out), span=1, show_progress=False, beam_args=beam)
        print(f"  {name}: prepared", file=sys.stderr, flush=True)
        return str(out / "span-1")

    baseline = statistics(prepared("span-1", 0, None))
    columns = {"no shift": distances(statistics(prepared("none", 1, None)), baseline, threshold)}
    for name in SHIFT_NAMES:
        shift = Shift(name, args.strength)
        columns[name] = distances(statistics(prepared(name, 1, shift)), baseline, threshold)
    features = [f.feature for f in columns["no shift"].features]
    print(f"Jensen-Shannon divergence, train split, {args.num_images} images per span, "
          f"strength {args.strength}, threshold {threshold} (* = drift)")  # fmt: skip
    print(f"{'feature':<16}" + "".join(f"{name:>17}" for name in columns))
    for feature in features:
        row = ""
        for result in columns.values():
            drift = next(f for f in result.features if f.feature == feature)
            row += f"{drift.distance:>16.4f}{'*' if drift.drifted else ' '}"
        print(f"{feature:<16}{row}")
    print(f"{'drifted':<16}" + "".join(f"{len(r.drifted):>17}" for r in columns.values()))
    _print_stack()
    print(f"wall time {time.monotonic() - started:.0f} s")
    return 0


def _print_stack() -> None:
    import tensorflow as tf
    import tensorflow_data_validation as tfdv
    import tfx
    from google.protobuf.internal import api_implementation

    print(
        f"stack: Python {platform.python_version()}, protobuf {api_implementation.Type()}, "
        f"TF {tf.__version__}, TFX {tfx.__version__}, TFDV {tfdv.__version__}"
    )


if __name__ == "__main__":
    sys.exit(main())
