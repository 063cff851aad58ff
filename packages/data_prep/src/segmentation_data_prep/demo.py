"""The offline main job for now: generate a sample Pet-layout dataset and run data_prep on it.

`python -m segmentation_data_prep.demo [--output-dir out/demo] [--num-images 100]`
(`./dev.sh main` runs it). Later the main job grows into the full pipeline.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from segmentation_data_prep import record_format
from segmentation_data_prep.beam_job import DataPrepError, run_data_prep, summary_line
from segmentation_data_prep.cli import configure_logging
from segmentation_data_prep.synthetic import write_synthetic_pet_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate a synthetic dataset in the Oxford-IIIT Pet layout and turn it into "
        "TFRecord shards with the data_prep Beam job (offline).",
        epilog="Other arguments are passed to Apache Beam, e.g. --direct_num_workers 1.",
    )
    parser.add_argument(
        "--output-dir",
        default="out/demo",
        help="demo root: <dir>/dataset (generated input) and <dir>/tfrecords "
        "(shards + report.json); replaced on every run (default: %(default)s)",
    )
    parser.add_argument(
        "--num-images", type=int, default=100, help="images to generate (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default: 0)")
    parser.add_argument(
        "--image-size",
        type=int,
        default=128,
        help="side of the stored square examples (default: %(default)s)",
    )
    args, beam_args = parser.parse_known_args(argv)
    configure_logging()

    root = Path(args.output_dir).resolve()
    dataset_dir, records_dir = root / "dataset", root / "tfrecords"
    shutil.rmtree(dataset_dir, ignore_errors=True)
    print(f"generating {args.num_images} synthetic images in {dataset_dir} ...", flush=True)
    write_synthetic_pet_dataset(dataset_dir, args.num_images, seed=args.seed)
    try:
        report = run_data_prep(
            str(dataset_dir),
            str(records_dir),
            image_size=args.image_size,
            overwrite=True,
            beam_args=beam_args,
        )
    except DataPrepError as error:
        print(f"demo: error: {error}", file=sys.stderr)
        return 1
    print(summary_line(report))
    for split in record_format.SPLIT_NAMES:
        print(f"{split} shards: {records_dir}/{record_format.shard_glob(split)}")
        for path in report["shards"][split]:
            print(f"  {path}")
    print(f"report: {records_dir}/report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
