"""Benchmark (not a test): data_prep vs the public reference approach, in one process and run.

    python packages/data_prep/benchmarks/benchmark_data_prep.py [--num-images 2000] [--repeat 3]
        [--variant NAME=BEAM_ARGS ...] [--profile 200]

The reference, re-implemented faithfully: a sequential script that decodes each JPEG and
trimap with TensorFlow, resizes both bilinearly, stores every pixel as a float in a FloatList
and writes `train-NN-K.tfrec` / `val-NN-K.tfrec` shards (K = records in the shard).
Both sides run in this process on the same stack (printed first: protobuf implementation,
TensorFlow, Beam, Pillow). Figures: images/s (wall clock of the whole job, Beam start-up and
worker start-up included; imports excluded for both) and bytes/example (shard bytes / examples
written). Target: >= 4x the reference's images/s (median vs median), <= 1/4 of its
bytes/example. Runs are interleaved (reference, then each data_prep variant, per repeat) so
that load from other processes hits both sides alike: read the best and the median.
`--profile K` first times each step of our path on K images (ms per image, best of 3) and
derives the Beam overhead from an in-process run.
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import random
import shlex
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import apache_beam
import numpy as np
import PIL
import tensorflow as tf
from google.protobuf.internal import api_implementation
from PIL import Image
from segmentation_data_prep import processing, record_format, shards
from segmentation_data_prep.beam_job import run_data_prep
from segmentation_data_prep.drift_features import drift_features
from segmentation_data_prep.inputs import list_inputs
from segmentation_data_prep.synthetic import write_synthetic_pet_dataset
from timed_runs import shard_bytes, timed_data_prep

IN_PROCESS = {"beam_args": ["--direct_running_mode=in_memory"], "local_processes": 1}


def stack() -> str:
    return (
        f"protobuf {api_implementation.Type()}, tensorflow {tf.__version__}, "
        f"apache-beam {apache_beam.__version__}, pillow {PIL.__version__}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )


def _best_ms(function, items, repeat: int = 3) -> tuple[float, list]:
    best, results = float("inf"), []
    for _ in range(repeat):
        started = time.perf_counter()
        results = [function(item) for item in items]
        best = min(best, time.perf_counter() - started)
    return best / len(items) * 1000, results


def profile(dataset: Path, size: int, count: int, work: Path) -> None:
    """ms per image for each step of processing.process_pair and the shard write, and what
    the Beam job adds on top (in-process run over the same images)."""
    pairs = list_inputs(str(dataset)).pairs[:count]
    settings = processing.ProcessingSettings(size, 0.2)
    spec = settings.spec
    steps = {}
    steps["read files"], raws = _best_ms(lambda p: processing.read_pair(p, 1 << 26), pairs)

    def open_both(raw):
        return (
            processing._open(raw.image, raw.paths[0], "image", settings, []),
            processing._open(raw.mask, raw.paths[1], "mask", settings, []),
        )

    steps["parse headers + size checks"], _ = _best_ms(open_both, raws)
    steps["decode image (JPEG at half scale)"], decoded = _best_ms(
        lambda raw: processing._decode_reduced(open_both(raw)[0], "image", size), raws
    )
    steps["decode image (JPEG at half scale)"] -= steps["parse headers + size checks"]
    steps["convert to RGB"], _ = _best_ms(lambda d: processing.to_rgb(d[0], []), decoded)
    steps["decode mask + map to class ids"], labels = _best_ms(
        lambda raw: processing.class_ids(open_both(raw)[1], spec, []), raws
    )
    steps["decode mask + map to class ids"] -= steps["parse headers + size checks"]
    steps["resize image (Lanczos)"], pixels = _best_ms(
        lambda d: np.asarray(d[0].resize((size, size), processing.IMAGE_RESAMPLE, box=d[1])),
        decoded,
    )
    steps["resize mask (nearest)"], small = _best_ms(
        lambda ids: processing.resize_pair(Image.new("RGB", (1, 1)), ids, size)[1], labels
    )
    resized = list(zip(pixels, small))
    steps["drift features"], _ = _best_ms(
        lambda pl: drift_features(pl[0], pl[1], spec.num_classes, (500, 375)), resized
    )
    steps["PNG encode image + mask"], _ = _best_ms(
        lambda pl: (record_format.encode_png(pl[0]), record_format.encode_png(pl[1])), resized
    )
    steps["Example wire format"], examples = _best_ms(
        lambda pl: record_format.encode_example("Abyssinian_1", *pl), resized
    )
    steps["Example wire format"] -= steps["PNG encode image + mask"] + steps["drift features"]
    steps["split hash"], _ = _best_ms(lambda p: processing.split_for_stem(p.stem, 0.2), pairs)
    record_seconds = []
    for _ in range(3):
        started = time.perf_counter()
        shards.write_file(str(work / "profile.tfrecord"), shards.tfrecord_bytes(examples))
        record_seconds.append(time.perf_counter() - started)
    steps["TFRecord framing + write"] = min(record_seconds) / len(examples) * 1000
    steps["sum of the steps"] = sum(steps.values())
    steps["process_pair end to end"], _ = _best_ms(
        lambda p: processing.process_pair(p, settings), pairs
    )
    subset = work / "profile_subset"
    for pair in pairs:
        for path in (pair.image_path, pair.mask_path):
            target = subset / os.path.relpath(path, dataset)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.symlink_to(path)
    job = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        run_data_prep(str(subset), str(work / "profile_out"), image_size=size, overwrite=True,
                      show_progress=False, **IN_PROCESS)  # fmt: skip
        job = min(job, time.perf_counter() - started)
    per_image = job / len(pairs) * 1000
    steps["whole job in-process (best of 3)"] = per_image
    # Mostly fixed costs (pipeline start-up, listing, staging), spread over `count` images.
    steps["Beam + listing + staging overhead"] = per_image - steps["process_pair end to end"]
    print(f"\nprofile: {len(pairs)} images to {size} px, ms per image (best of 3)")
    for name, ms in steps.items():
        print(f"  {name:36} {ms:7.2f}")


def reference_job(
    input_dir: Path, output_dir: Path, size: int, val_fraction: float = 0.2, per_shard: int = 100
) -> int:
    """The reference approach: sequential, bilinear image and mask, float features."""
    stems = sorted(p.stem for p in (input_dir / "images").glob("*.jpg"))
    random.Random(42).shuffle(stems)
    num_val = int(len(stems) * val_fraction)
    output_dir.mkdir(parents=True, exist_ok=True)
    for split, split_stems in (("val", stems[:num_val]), ("train", stems[num_val:])):
        for shard in range(math.ceil(len(split_stems) / per_shard)):
            chunk = split_stems[shard * per_shard : (shard + 1) * per_shard]
            with tf.io.TFRecordWriter(
                str(output_dir / f"{split}-{shard:02d}-{len(chunk)}.tfrec")
            ) as writer:
                for stem in chunk:
                    image = tf.io.decode_jpeg(
                        tf.io.read_file(str(input_dir / "images" / f"{stem}.jpg")), channels=3
                    )
                    mask = tf.io.decode_png(
                        tf.io.read_file(str(input_dir / "annotations" / "trimaps" / f"{stem}.png")),
                        channels=1,
                    )
                    image = tf.image.resize(image, (size, size), method="bilinear")
                    mask = tf.image.resize(mask, (size, size), method="bilinear")
                    feature = {
                        "image": tf.train.Feature(
                            float_list=tf.train.FloatList(value=image.numpy().reshape(-1))
                        ),
                        "mask": tf.train.Feature(
                            float_list=tf.train.FloatList(value=mask.numpy().reshape(-1))
                        ),
                    }
                    example = tf.train.Example(features=tf.train.Features(feature=feature))
                    writer.write(example.SerializeToString())
    return len(stems)


def non_integer_label_fraction(output_dir: Path) -> float:
    """Share of reference label values that are not integers (bilinear mask resize)."""
    spec = {"mask": tf.io.VarLenFeature(tf.float32)}
    total = fractional = 0
    for record in tf.data.TFRecordDataset(sorted(glob.glob(str(output_dir / "*.tfrec")))).take(100):
        values = tf.io.parse_single_example(record, spec)["mask"].values.numpy()
        total += values.size
        fractional += int((values != values.round()).sum())
    return fractional / max(total, 1)


def variant_settings(flags: list[str]) -> dict:
    """run_data_prep arguments of a --variant: --local-processes, and Beam options."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--local-processes", type=int, default=None)
    known, beam_args = parser.parse_known_args(flags)
    return {"local_processes": known.local_processes, "beam_args": beam_args}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--num-images", type=int, default=2000)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each job (default: 3)")
    parser.add_argument(
        "--profile", type=int, default=0, help="time each step on this many images first"
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="extra data_prep configuration NAME=FLAGS (--local-processes N and Beam options), "
        "e.g. 'threads=--local-processes 1 --direct_running_mode multi_threading "
        "--direct_num_workers 2'",
    )
    parser.add_argument(
        "--png-compress-level", type=int, default=record_format.DEFAULT_PNG_COMPRESS_LEVEL
    )
    parser.add_argument("--work-dir", default=None, help="default: a temporary directory")
    args = parser.parse_args()

    print(f"stack: {stack()}")
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="bench_data_prep_"))
    dataset = work / "dataset"
    if (
        not (dataset / "images").is_dir()
        or len(list((dataset / "images").iterdir())) != args.num_images
    ):
        started = time.perf_counter()
        write_synthetic_pet_dataset(dataset, args.num_images)
        print(f"generated {args.num_images} images in {time.perf_counter() - started:.1f} s")

    if args.profile:
        profile(dataset, args.image_size, args.profile, work)
    variants = {"data_prep (default)": {}}
    for variant in args.variant:
        name, _, flags = variant.partition("=")
        variants[f"data_prep ({name})"] = variant_settings(shlex.split(flags))
    results: dict[str, list[tuple[float, float]]] = {}
    for attempt in range(args.repeat):
        out = work / f"reference-{attempt}"
        started = time.perf_counter()
        count = reference_job(dataset, out, args.image_size)
        seconds = time.perf_counter() - started
        size = shard_bytes(glob.glob(str(out / "*.tfrec"))) / count
        results.setdefault("reference", []).append((count / seconds, size))
        print(f"reference run {attempt + 1}: {count / seconds:.1f} img/s, {size / 1024:.1f} KiB/ex")
        for name, settings in variants.items():
            out = work / f"data_prep-{attempt}-{len(results)}"
            _, rate, size = timed_data_prep(
                dataset,
                out,
                image_size=args.image_size,
                overwrite=True,
                png_compress_level=args.png_compress_level,
                **settings,
            )
            results.setdefault(name, []).append((rate, size))
            print(f"{name} run {attempt + 1}: {rate:.1f} img/s, {size / 1024:.1f} KiB/ex")

    fraction = non_integer_label_fraction(work / "reference-0")
    reference_best = max(speed for speed, _ in results["reference"])
    reference_median = statistics.median(speed for speed, _ in results["reference"])
    reference_size = results["reference"][0][1]
    print(
        f"\nN={args.num_images}, {args.image_size}x{args.image_size}, {args.repeat} interleaved "
        f"repeats; reference labels not integers: {fraction:.2%}\nstack: {stack()}"
    )
    print(f"{'job':34} {'img/s best':>10} {'median':>8} {'KiB/ex':>8} {'speed x':>8} {'size x':>7}")
    for name, runs in results.items():
        best = max(speed for speed, _ in runs)
        median = statistics.median(speed for speed, _ in runs)
        size = runs[0][1]
        print(
            f"{name:34} {best:10.1f} {median:8.1f} {size / 1024:8.1f} "
            f"{median / reference_median:8.2f} {size / reference_size:7.3f}"
        )
    print(
        f"targets: speed x >= 4 (median vs median), size x <= 0.25; "
        f"reference best {reference_best:.1f} img/s"
    )


if __name__ == "__main__":
    main()
