"""CPU benchmark of the model architectures on the same synthetic data and training budget.

Every architecture in `architectures.ARCHITECTURES` (the UNet, the project's default, is the
baseline) trains for the same number of steps, same batches in the same order, same loss,
optimizer and learning rate, in this process on the stack printed first. The table gives
parameters, training images/s (after the first, graph-building step), serving latency p50/p95
at batch 1 on a 500x375 JPEG through the exported `serving_default` signature (decode, resize,
model, mask at the original size), SavedModel size, and validation mean IoU and per-class IoU
(confusion matrix over the eval split at model size, classes present in labels or predictions),
and the mean IoU on shifted data (data_prep's drift scenario, `--shift`, e.g. new-backgrounds:
scenes the models never saw), which is where the issue expects DeepLabV3+ and SegFormer to help.

Data: data_prep's synthetic Oxford-IIIT Pet layout through the real Beam job, so the records
are what the pipeline trains on; loss, learning rate, batch size, MobileNetV2 width and UNet
decoder are the pipeline config's defaults (run it in the pipeline's environment).

    TF_USE_LEGACY_KERAS=1 .nox/pipeline/bin/python \
        packages/model/benchmarks/benchmark_architectures.py [--train-steps 150] \
        [--images 96] [--shift new-backgrounds] [--architectures unet_mobilenetv2,segformer_b0]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import tensorflow as tf
import tf_keras as keras
from benchmark_model import _jpeg, _transform_output, stack
from segmentation_data_prep import beam_job, record_format, shifts, synthetic
from segmentation_data_prep.presets import OXFORD_PET as SPEC  # the synthetic data's classes
from segmentation_model import architectures, losses, signatures, transform
from segmentation_model.trainer import compile_model
from segmentation_pipeline.config import PipelineConfig

PIPELINE = PipelineConfig()  # the training settings a pipeline run uses by default


def load_split(records_dir: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images in [-1, 1] (the Transform output's range) and masks of one data_prep split."""
    files = tf.io.gfile.glob(os.path.join(records_dir, record_format.shard_glob(split)))
    decoded = [
        record_format.decode_example(record.numpy())
        for record in tf.data.TFRecordDataset(sorted(files))
    ]
    images = np.stack([d.image for d in decoded]).astype(np.float32) / 127.5 - 1.0
    return images, np.stack([d.mask for d in decoded]).astype(np.int64)


def synthetic_records(
    work_dir: str, num_images: int, image_size: int, shift: str = "", seed: int = 0
) -> str:
    name = f"shifted-{shift}" if shift else "base"
    raw = synthetic.write_synthetic_pet_dataset(
        os.path.join(work_dir, name, "raw"),
        num_images,
        seed=seed,
        shift=shifts.Shift.parse(shift) if shift else None,
    )
    out = os.path.join(work_dir, name, "records")
    beam_job.run_data_prep(
        str(raw),
        out,
        image_size=image_size,
        show_progress=False,
        beam_args=["--direct_running_mode=in_memory", "--direct_num_workers=1"],
    )
    return out


def confusion(model: keras.Model, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    predicted = np.argmax(model.predict(images, batch_size=8, verbose=0), axis=-1)
    classes = SPEC.num_classes
    return np.bincount(
        masks.ravel() * classes + predicted.ravel(), minlength=classes * classes
    ).reshape(classes, classes)


def iou_per_class(matrix: np.ndarray) -> np.ndarray:
    """IoU of each class; NaN for a class absent from both labels and predictions."""
    intersection = np.diag(matrix).astype(np.float64)
    union = matrix.sum(0) + matrix.sum(1) - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, intersection / union, np.nan)


def directory_size(path: str) -> int:
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
    )


def benchmark(name: str, data: dict, args: argparse.Namespace, work_dir: str) -> dict:
    keras.utils.set_random_seed(0)
    model = architectures.build_model(
        name,
        args.image_size,
        SPEC.num_classes,
        alpha=PIPELINE.model_alpha,
        decoder_filters=PIPELINE.decoder_filters,
    )
    loss = losses.SegmentationLoss(PIPELINE.loss, void_label=SPEC.void_label)
    compile_model(model, PIPELINE.learning_rate, SPEC, loss)
    train_images, train_masks = data["train"]
    order = np.random.default_rng(0).integers(0, len(train_images), (args.train_steps, args.batch))
    batches = tf.data.Dataset.from_tensor_slices(order).map(
        lambda index: ({transform.IMAGE_KEY: tf.gather(train_images, index)},
                       tf.gather(train_masks, index))
    )  # fmt: skip
    started = time.perf_counter()
    model.fit(batches.take(1), epochs=1, verbose=0)
    first_step = time.perf_counter() - started
    progress = max(1, (args.train_steps - 1) // 4)
    started = time.perf_counter()
    done = 1
    while done < args.train_steps:
        chunk = min(progress, args.train_steps - done)
        model.fit(batches.skip(done).take(chunk), epochs=1, verbose=0)
        done += chunk
        print(f"  {name}: {done}/{args.train_steps} steps", file=sys.stderr, flush=True)
    images_per_s = (args.train_steps - 1) * args.batch / (time.perf_counter() - started)

    ious = iou_per_class(confusion(model, *data["eval"]))
    shifted = iou_per_class(confusion(model, *data["shifted"])) if "shifted" in data else None
    export_dir = os.path.join(work_dir, f"export-{name}")
    signatures.export_serving_model(model, data["transform_output"], export_dir)
    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    payload = tf.constant([_jpeg(375, 500, seed=7)])
    serve(image_bytes=payload)  # warm-up
    latencies = []
    for _ in range(args.serving_calls):
        start = time.perf_counter()
        serve(image_bytes=payload)
        latencies.append((time.perf_counter() - start) * 1000)
    return {
        "parameters": model.count_params(),
        "first_step_s": first_step,
        "images_per_s": images_per_s,
        "p50_ms": float(np.percentile(latencies, 50)),
        "p95_ms": float(np.percentile(latencies, 95)),
        "saved_model_mb": directory_size(export_dir) / 1e6,
        "mean_iou": float(np.nanmean(ious)),
        "ious": ious,
        "shifted_mean_iou": float(np.nanmean(shifted)) if shifted is not None else float("nan"),
    }


def table(results: dict[str, dict], shift: str) -> str:
    classes = SPEC.class_names
    header = (
        "| architecture | parameters | train img/s | first step s | serve p50 ms | serve p95 ms "
        "| SavedModel MB | val mean IoU | "
        + " | ".join(f"IoU {c}" for c in classes)
        + f" | mean IoU shifted ({shift or 'none'}) |"
    )
    rows = [header, "|" + "---|" * (9 + len(classes))]
    for name, r in results.items():
        label = f"{name} (baseline)" if name == architectures.DEFAULT_ARCHITECTURE else name
        rows.append(
            f"| {label} | {r['parameters']:,} | {r['images_per_s']:.1f} | {r['first_step_s']:.0f} "
            f"| {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['saved_model_mb']:.1f} "
            f"| {r['mean_iou']:.3f} | "
            + " | ".join(f"{v:.3f}" for v in r["ious"])
            + f" | {r['shifted_mean_iou']:.3f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image-size", type=int, default=transform.IMAGE_SIZE)
    parser.add_argument("--images", type=int, default=96, help="synthetic images (train+eval)")
    parser.add_argument("--batch", type=int, default=PIPELINE.batch_size)
    parser.add_argument("--train-steps", type=int, default=150)
    parser.add_argument("--serving-calls", type=int, default=30)
    parser.add_argument(
        "--shift",
        default="new-backgrounds",
        help="data_prep drift scenario for the shifted evaluation, name[:strength] of "
        + ", ".join(shifts.SHIFT_NAMES)
        + " ('' to skip)",
    )
    parser.add_argument(
        "--architectures",
        type=lambda raw: raw.split(","),
        default=list(architectures.ARCHITECTURES),
        help="comma-separated subset of " + ", ".join(architectures.ARCHITECTURES),
    )
    args = parser.parse_args()
    for name in args.architectures:
        architectures.check_architecture(name)
    if args.shift:
        shifts.Shift.parse(args.shift)  # a bad name fails before minutes of work
    tf.get_logger().setLevel("ERROR")
    print(f"stack: Python {sys.version.split()[0]}, {stack()}")
    print(
        f"data: {args.images} synthetic Pet-layout images at {args.image_size} px; "
        f"{args.train_steps} steps of batch {args.batch}, Adam {PIPELINE.learning_rate} "
        f"(constant), {PIPELINE.loss} (no class weights, no augmentation); MobileNetV2 alpha "
        f"{PIPELINE.model_alpha} (UNet, DeepLabV3+)"
    )
    with tempfile.TemporaryDirectory() as work_dir:
        records = synthetic_records(work_dir, args.images, args.image_size)
        data = {
            "train": load_split(records, "train"),
            "eval": load_split(records, "eval"),
            "transform_output": _transform_output(args.image_size, work_dir),
        }
        if args.shift:
            shifted = synthetic_records(
                work_dir, args.images // 2, args.image_size, args.shift, seed=1
            )
            splits = [load_split(shifted, split) for split in ("train", "eval")]
            data["shifted"] = tuple(np.concatenate(parts) for parts in zip(*splits))
        print(
            f"train {len(data['train'][0])} / eval {len(data['eval'][0])} examples"
            + (f" / shifted ({args.shift}) {len(data['shifted'][0])}" if args.shift else "")
        )
        results = {name: benchmark(name, data, args, work_dir) for name in args.architectures}
    print(table(results, args.shift))


if __name__ == "__main__":
    main()
