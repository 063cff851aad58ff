"""CPU benchmark: training images/s and serving latency per image (p50/p95, batch 1 and 16).

Training: our default UNet versus the TensorFlow segmentation tutorial's decoder
(pix2pix upsample blocks of 512/256/128/64 filters) on the same MobileNetV2 encoder, as the
baseline in the same run. Serving: the exported `serving_default` signature (decode + resize +
model + masks at the original size) on JPEGs of the Oxford-IIIT Pet's typical size, against
the bare model on already-preprocessed tensors (the pre/post-processing overhead).

    TF_USE_LEGACY_KERAS=1 python packages/model/benchmarks/benchmark_model.py [--alpha 0.35]
"""

from __future__ import annotations

import argparse
import io
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
from segmentation_model import signatures, transform, unet
from segmentation_model.trainer import Hyperparameters, compile_model
from tensorflow_transform.tf_metadata import metadata_io, schema_utils

TUTORIAL_DECODER = (512, 256, 128, 64)


def _jpeg(height: int, width: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def training_images_per_second(
    decoder: tuple[int, ...], args: argparse.Namespace
) -> tuple[float, float]:
    """(images/s after warm-up, seconds of the first (compiling) step)."""
    model = unet.build_unet(
        record_format.NUM_CLASSES, args.image_size, alpha=args.alpha, decoder_filters=decoder
    )
    compile_model(model, Hyperparameters().learning_rate)
    rng = np.random.default_rng(0)
    size, batch = args.image_size, args.batch_size
    images = rng.uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)
    labels = rng.integers(0, record_format.NUM_CLASSES, (batch, size, size))
    dataset = tf.data.Dataset.from_tensors(({transform.IMAGE_KEY: images}, labels)).repeat()
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0)
    first = time.perf_counter() - start
    start = time.perf_counter()
    model.fit(dataset.prefetch(2), steps_per_epoch=args.train_steps, epochs=1, verbose=0)
    return args.train_steps * batch / (time.perf_counter() - start), first


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
        return transform.preprocessing_fn(inputs, {"image_size": image_size})

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
        model = unet.build_unet(record_format.NUM_CLASSES, args.image_size, alpha=args.alpha)
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
            results = {}
            for name, call in (
                ("serving_default (JPEG 500x375)", lambda p=payload: serve(image_bytes=p)),
                ("bare model (baseline)", lambda x=preprocessed: bare(x)),
            ):
                call()  # warm-up
                samples = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    call()
                    samples.append(time.perf_counter() - start)
                results[name] = _percentiles(samples, batch)
            for name, figures in results.items():
                print(f"serving batch {batch:2d}  {name:32s} per image: {figures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image-size", type=int, default=transform.IMAGE_SIZE)
    parser.add_argument("--alpha", type=float, default=Hyperparameters().alpha)
    parser.add_argument("--batch-size", type=int, default=Hyperparameters().batch_size)
    parser.add_argument("--train-steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--skip-training", action="store_true", help="serving latency only")
    args = parser.parse_args()
    print(
        f"CPU benchmark: {os.cpu_count()} cores, image {args.image_size} px, alpha {args.alpha}, "
        f"batch {args.batch_size}, TF {tf.__version__}"
    )
    decoders = {
        "ours": Hyperparameters().decoder_filters,
        "tutorial decoder (baseline)": TUTORIAL_DECODER,
    }
    for label, decoder in {} if args.skip_training else decoders.items():
        rate, first = training_images_per_second(decoder, args)
        print(
            f"training {label:28s} decoder {decoder}: {rate:6.1f} images/s "
            f"(first step incl. graph build {first:.0f} s)"
        )
    serving_latency(args)


if __name__ == "__main__":
    main()
