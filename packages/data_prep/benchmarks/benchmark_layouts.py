"""Benchmark (not a test): data_prep on Hub parquet input vs image-directory input, same N.

    python packages/data_prep/benchmarks/benchmark_layouts.py [--num-images 500] [--repeat 3]

Both inputs hold the same synthetic Sidewalk-like examples (synthetic_street: JPEG images,
PNG class-id masks, 35 classes), written once; the two jobs then run interleaved
(parquet, directory, parquet, ...) in this process on the same Beam runner settings, so load
from other processes hits both alike. Figures: images/s (wall clock of run_data_prep, Beam
start-up included) and bytes/example (shard bytes / examples written), min and median.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
from pathlib import Path

from segmentation_data_prep.presets import SIDEWALK
from segmentation_data_prep.synthetic_street import write_street_directory, write_street_parquet
from timed_runs import timed_data_prep


def stack() -> str:
    """Versions that bear on the figures; TF and TFX read from package metadata, not imported
    (data_prep never imports TensorFlow, and the benchmark must not pay for it either)."""
    from importlib.metadata import version

    import apache_beam
    import PIL
    import pyarrow
    from google.protobuf.internal import api_implementation

    return (
        f"Python {platform.python_version()}, Beam {apache_beam.__version__}, pyarrow "
        f"{pyarrow.__version__}, Pillow {PIL.__version__}, protobuf {version('protobuf')} "
        f"({api_implementation.Type()}), TF {version('tensorflow')}, TFX {version('tfx')} "
        f"(installed, not used by data_prep), {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-images", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument(
        "--beam-args", default="--direct_running_mode=in_memory --direct_num_workers=1"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_layouts_"))
    write_street_parquet(work / "hub", args.num_images, seed=0)
    write_street_directory(work / "dir", args.num_images, seed=0)
    inputs = {"hf-parquet": work / "hub", "directory": work / "dir"}
    input_bytes = {
        name: sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        for name, root in inputs.items()
    }
    rates: dict[str, list[float]] = {name: [] for name in inputs}
    per_example: dict[str, int] = {}
    for run in range(args.repeat):
        for layout, root in inputs.items():
            output_dir = work / f"out-{layout}-{run}"
            report, rate, size = timed_data_prep(
                root,
                output_dir,
                spec=SIDEWALK,
                layout=layout,
                image_size=args.image_size,
                beam_args=args.beam_args.split(),
            )
            assert report["written"]["total"] == args.num_images, report["rejected"]
            rates[layout].append(rate)
            per_example[layout] = int(size)
    print(f"stack: {stack()}")
    print(f"N = {args.num_images} images, {args.image_size} px, beam args: {args.beam_args}")
    for layout in inputs:
        print(
            f"{layout:>10}: images/s min {min(rates[layout]):.1f} median "
            f"{statistics.median(rates[layout]):.1f} (runs: "
            f"{', '.join(f'{r:.1f}' for r in rates[layout])}); bytes/example written "
            f"{per_example[layout]}; input bytes/example {input_bytes[layout] // args.num_images}"
        )


if __name__ == "__main__":
    main()
