"""Per-class IoU of an exported model on a synthetic set it never trained on.

    TF_USE_LEGACY_KERAS=1 python packages/pipeline/benchmarks/evaluate_on_new_data.py \
        --model out/pipeline/serving_model/<version> [--seed 1] [--num-images 80] \
        [--pet-scale 0.75] [--fur-period 8,16] [--border-width 2] [--work-dir DIR]

The demo trains on `write_synthetic_pet_dataset(seed=0)` with the generator's default shape and
texture. This draws another set (another seed, and by default smaller pets with coarser fur),
converts it with the data_prep Beam job at the model's size, and scores every record (both
splits: the model saw none of them) through the model's `from_examples` signature with the
model's own metric classes, as the Evaluator does. Prints the per-class IoU and the stack.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile


def stack() -> str:
    import tensorflow as tf
    import tfx
    from google.protobuf.internal import api_implementation

    return (
        f"Python {sys.version.split()[0]}, TF {tf.__version__}, TFX {tfx.__version__}, "
        f"protobuf {api_implementation.Type()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}"
    )


def evaluate(model_dir: str, records_dir: str, batch_size: int = 16) -> dict[str, float]:
    """Mean IoU, each class's IoU and pixel accuracy of the model over every record."""
    import tensorflow as tf
    from segmentation_data_prep import record_format
    from segmentation_data_prep.dataset_spec import SPEC_FILE_NAME, read_spec
    from segmentation_model import metrics, signatures

    model = tf.saved_model.load(model_dir)
    score = model.signatures[signatures.FROM_EXAMPLES_SIGNATURE]
    spec = read_spec(os.path.join(records_dir, SPEC_FILE_NAME))  # data_prep wrote it
    built = metrics.segmentation_metrics(spec.class_names, spec.void_label)
    files = sorted(glob.glob(os.path.join(records_dir, "*", "*.tfrecord")))
    if not files:
        raise FileNotFoundError(f"no TFRecord shards under {records_dir}")
    for batch in tf.data.TFRecordDataset(files).batch(batch_size):
        labels = [record_format.decode_example(bytes(raw)).mask for raw in batch.numpy()]
        outputs = score(**{signatures.EXAMPLES_INPUT_KEY: batch})
        for metric in built:
            metric.update_state(tf.constant(labels), outputs[signatures.PROBABILITIES_OUTPUT_KEY])
    return {metric.name: float(metric.result()) for metric in built}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="exported SavedModel directory")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--num-images", type=int, default=80)
    parser.add_argument("--pet-scale", type=float, default=0.75)
    parser.add_argument("--fur-period", default="8,16", help="min,max fur period in pixels")
    parser.add_argument("--border-width", type=int, default=2)
    parser.add_argument("--image-size", type=int, default=128, help="the model's input size")
    parser.add_argument("--work-dir", default=None)
    args = parser.parse_args(argv)

    from segmentation_data_prep import beam_job, synthetic

    work_dir = args.work_dir or tempfile.mkdtemp(prefix="new-data-")
    fur_period = tuple(float(part) for part in args.fur_period.split(","))
    raw = synthetic.write_synthetic_pet_dataset(
        os.path.join(work_dir, "raw"),
        args.num_images,
        seed=args.seed,
        border_width=args.border_width,
        fur_period=fur_period,
        pet_scale=args.pet_scale,
    )
    records = os.path.join(work_dir, "records")
    beam_job.run_data_prep(
        str(raw), records, image_size=args.image_size, overwrite=True, show_progress=False
    )
    results = evaluate(args.model, records)
    print(
        f"New synthetic set: seed {args.seed}, {args.num_images} images, pet_scale "
        f"{args.pet_scale}, fur_period {fur_period}, border_width {args.border_width}"
    )
    for name, value in results.items():
        print(f"  {name}: {value:.4f}")
    print(f"Stack: {stack()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
