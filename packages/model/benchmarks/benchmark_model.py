"""CPU benchmark: training images/s and serving latency per image (p50/p95, batch 1 and 16).

Training: our default UNet versus the TensorFlow segmentation tutorial's decoder
(pix2pix upsample blocks of 512/256/128/64 filters) on the same MobileNetV2 encoder, as the
baseline in the same run. Serving: the exported `serving_default` signature (decode + resize +
model + masks at the original size) on JPEGs of the Oxford-IIIT Pet's typical size, against
the bare model on already-preprocessed tensors (the pre/post-processing overhead).

Both sides of every comparison run in this process on the stack printed first (protobuf
implementation, TF/TFX versions), interleaved (A, B, A, B, ...) so that a neighbour's load on
a shared machine hits both alike; training reports min and median over `--repeats` rounds.

    TF_USE_LEGACY_KERAS=1 python packages/model/benchmarks/benchmark_model.py [--alpha 0.35]
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
import tf_keras as keras
from PIL import Image
from segmentation_data_prep import record_format
from segmentation_data_prep.presets import OXFORD_PET as SPEC  # the dataset measured
from segmentation_model import signatures, transform, unet
from segmentation_model.trainer import Hyperparameters, compile_model
from tensorflow_transform.tf_metadata import metadata_io, schema_utils

TUTORIAL_DECODER = (512, 256, 128, 64)


def _jpeg(height: int, width: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def stack() -> str:
    """What the numbers were measured on: they mean little without it."""
    import tfx
    from google.protobuf import __version__ as protobuf_version
    from google.protobuf.internal import api_implementation

    return (
        f"protobuf {protobuf_version} ({api_implementation.Type()}), TF {tf.__version__}, "
        f"tf_keras {keras.__version__}, TFT {tft.__version__}, TFX {tfx.__version__}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )


class TrainingRate:
    """A compiled UNet on a fixed batch: `first` is the compiling step, `measure()` one round."""

    def __init__(self, decoder: tuple[int, ...], args: argparse.Namespace) -> None:
        self.model = unet.build_unet(
            SPEC.num_classes, args.image_size, alpha=args.alpha, decoder_filters=decoder
        )
        compile_model(self.model, Hyperparameters().learning_rate, SPEC)
        rng = np.random.default_rng(0)
        size, batch = args.image_size, args.batch_size
        images = rng.uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)
        labels = rng.integers(0, SPEC.num_classes, (batch, size, size))
        self.dataset = tf.data.Dataset.from_tensors(
            ({transform.IMAGE_KEY: images}, labels)
        ).repeat()
        self.steps, self.batch = args.train_steps, batch
        start = time.perf_counter()
        self.model.fit(self.dataset, steps_per_epoch=1, epochs=1, verbose=0)
        self.first = time.perf_counter() - start

    def measure(self) -> float:
        """Images/s over one round of `steps` training steps."""
        start = time.perf_counter()
        self.model.fit(self.dataset.prefetch(2), steps_per_epoch=self.steps, epochs=1, verbose=0)
        return self.steps * self.batch / (time.perf_counter() - start)


def _transform_output(image_size: int, work_dir: str) -> tft.TFTransformOutput:
    """The Transform graph of preprocessing_fn, analysed on a handful of records."""
    rng = np.random.default_rng(1)
    rows = [
        {
            record_format.IMAGE_KEY: [
                record_format.encode_png(rng.integers(0, 256, (64, 64, 3), np.uint8))
            ],
            record_format.MASK_KEY: [record_format.encode_png(np.zeros((64, 64), np.uint8))],
        }
        for _ in range(2)
    ]
    spec = {
        record_format.IMAGE_KEY: tf.io.FixedLenFeature([1], tf.string),
        record_format.MASK_KEY: tf.io.FixedLenFeature([1], tf.string),
    }
    metadata = tft.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))

    def preprocessing_fn(inputs):
        return transform.preprocessing_fn(
            inputs,
            {
                "image_size": image_size,
                "num_classes": SPEC.num_classes,
                "void_label": SPEC.void_label,
            },
        )

    with tft_beam.Context(temp_dir=os.path.join(work_dir, "tmp"), force_tf_compat_v1=False):
        transform_fn = (rows, metadata) | tft_beam.AnalyzeDataset(preprocessing_fn)
        _ = transform_fn | tft_beam.WriteTransformFn(os.path.join(work_dir, "transform"))
    raw_metadata_dir = os.path.join(work_dir, "transform", tft.TFTransformOutput.RAW_METADATA_DIR)
    metadata_io.write_metadata(metadata, raw_metadata_dir)
    return tft.TFTransformOutput(os.path.join(work_dir, "transform"))


def _percentiles(samples: list[float], batch: int) -> str:
    per_image = np.asarray(samples) * 1000 / batch
    return f"p50 {np.percentile(per_image, 50):7.1f} ms  p95 {np.percentile(per_image, 95):7.1f} ms"


def serving_latency(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as work_dir:
        model = unet.build_unet(SPEC.num_classes, args.image_size, alpha=args.alpha)
        export_dir = os.path.join(work_dir, "serving")
        signatures.export_serving_model(
            model, _transform_output(args.image_size, work_dir), export_dir
        )
        serve = tf.saved_model.load(export_dir).signatures["serving_default"]
        bare_model = keras.models.load_model(export_dir, compile=False)
        bare = tf.function(lambda images: bare_model(images, training=False))  # a graph, too
        for batch in (1, 16):
            payload = tf.constant([_jpeg(375, 500, seed) for seed in range(batch)])
            preprocessed = tf.random.uniform([batch, args.image_size, args.image_size, 3], -1, 1)
            calls = {
                "serving_default (JPEG 500x375)": lambda p=payload: serve(image_bytes=p),
                "bare model (baseline)": lambda x=preprocessed: bare(x),
            }
            samples: dict[str, list[float]] = {name: [] for name in calls}
            for call in calls.values():
                call()  # warm-up
            for _ in range(args.repeats):  # interleaved: load hits both alike
                for name, call in calls.items():
                    start = time.perf_counter()
                    call()
                    samples[name].append(time.perf_counter() - start)
            for name, timings in samples.items():
                figures = _percentiles(timings, batch)
                print(f"serving batch {batch:2d}  {name:32s} per image: {figures}")


def _seconds() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


EXPORT_STEPS = (
    "export (trace + save)",
    "load (tf.saved_model.load)",
    "first call (TFMA's two signatures)",
)


def export_and_load(args: argparse.Namespace) -> None:
    """What the Trainer's export and the Evaluator's model load cost, min/median of repeats.

    export: trace the signatures and write the SavedModel; load: `tf.saved_model.load`, which is
    how TFMA loads a TF_GENERIC model; first call: one batch through `transform_features` and
    `from_examples`, as TFMA's first batch. CPU seconds are the process's (all threads).
    """
    with tempfile.TemporaryDirectory() as work_dir:
        output = _transform_output(args.image_size, work_dir)
        examples = tf.constant(
            [
                record_format.encode_example(
                    f"x{i}",
                    np.random.default_rng(i).integers(0, 256, (96, 80, 3), np.uint8),
                    np.zeros((96, 80), np.uint8),
                )
                for i in range(4)
            ]
        )
        figures: dict[str, list[tuple[float, float]]] = {}
        for repeat in range(args.export_repeats):
            model = unet.build_unet(
                SPEC.num_classes,
                args.image_size,
                alpha=args.alpha,
                decoder_filters=Hyperparameters().decoder_filters,
            )
            compile_model(model, Hyperparameters().learning_rate, SPEC)
            export_dir = os.path.join(work_dir, f"export-{repeat}")
            started = _seconds()
            signatures.export_serving_model(model, output, export_dir)
            after_export = _seconds()
            loaded = tf.saved_model.load(export_dir)
            after_load = _seconds()
            for name in ("transform_features", "from_examples"):
                loaded.signatures[name](examples=examples)
            after_call = _seconds()
            marks = (started, after_export, after_load, after_call)
            for name, (begin, end) in zip(EXPORT_STEPS, itertools.pairwise(marks)):
                figures.setdefault(name, []).append((end[0] - begin[0], end[1] - begin[1]))
            size = os.path.getsize(os.path.join(export_dir, "saved_model.pb"))
        for name, samples in figures.items():
            walls, cpus = np.array(samples).T
            print(
                f"{name:36s} wall min {walls.min():6.2f} median {np.median(walls):6.2f} s | "
                f"CPU min {cpus.min():6.2f} median {np.median(cpus):6.2f} s "
                f"({args.export_repeats} repeats)"
            )
        print(f"saved_model.pb: {size / 1e6:.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image-size", type=int, default=transform.IMAGE_SIZE)
    parser.add_argument("--alpha", type=float, default=Hyperparameters().alpha)
    parser.add_argument("--batch-size", type=int, default=Hyperparameters().batch_size)
    parser.add_argument("--train-steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20, help="serving calls per variant")
    parser.add_argument("--train-repeats", type=int, default=3, help="training rounds per variant")
    parser.add_argument("--skip-training", action="store_true", help="serving latency only")
    parser.add_argument(
        "--export-only",
        action="store_true",
        help="export and load times only (see export_and_load)",
    )
    parser.add_argument("--export-repeats", type=int, default=3)
    args = parser.parse_args()
    tf.get_logger().setLevel("ERROR")
    print(f"stack: {stack()}")
    if args.export_only:
        export_and_load(args)
        return
    print(f"CPU benchmark: image {args.image_size} px, alpha {args.alpha}, batch {args.batch_size}")
    decoders = {
        "ours": Hyperparameters().decoder_filters,
        "tutorial decoder (baseline)": TUTORIAL_DECODER,
    }
    if not args.skip_training:
        rates = {label: TrainingRate(decoder, args) for label, decoder in decoders.items()}
        rounds: dict[str, list[float]] = {label: [] for label in rates}
        for _ in range(args.train_repeats):  # interleaved rounds
            for label, rate in rates.items():
                rounds[label].append(rate.measure())
        for label, rate in rates.items():
            print(
                f"training {label:28s} decoder {decoders[label]}: images/s "
                f"max {max(rounds[label]):6.1f} median {np.median(rounds[label]):6.1f} "
                f"over {args.train_repeats} interleaved rounds "
                f"(first step incl. graph build {rate.first:.0f} s)"
            )
    serving_latency(args)


if __name__ == "__main__":
    main()
