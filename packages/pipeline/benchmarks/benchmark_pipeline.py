"""Per-component wall times of the local pipeline, read from ML Metadata, vs a same-run baseline.

    TF_USE_LEGACY_KERAS=1 python packages/pipeline/benchmarks/benchmark_pipeline.py \
        [--num-images 80] [--train-steps 4] [--no-baseline] [--work-dir DIR]

The run the issue measured on the public reference pipeline: 80 examples, 4 training steps,
196 s end to end (Evaluator 125 s, Trainer 52 s). This script runs that workload from a cold
cache (fresh pipeline root and ML Metadata) twice in one process:

- "baseline": the same pipeline with TFX/TFMA defaults where this package tuned them
  (Transform statistics on, TFMA model-type detection and Keras default metrics on) and the
  model package's default size (MobileNetV2 alpha 1.0, decoder 256/128/64/32);
- "tuned": the pipeline as shipped (segmentation_pipeline.pipeline.create_pipeline).

Both evaluate the same metrics with the same thresholds. Times are each execution's
create -> last-update span recorded by TFX in ML Metadata; the table also shows process CPU
seconds and the load average, because on a shared machine wall time also measures neighbours.
The first variant also pays one-off warm-up in this process (lazy imports, first TF
functions), so the tuned pipeline runs first: the comparison does not flatter it.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time

REFERENCE_SECONDS = {"total": 196.0, "Evaluator": 125.0, "Trainer": 52.0}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def baseline_pipeline(config):
    """create_pipeline with this package's Transform/TFMA tuning undone (see module doc)."""
    import tensorflow_model_analysis as tfma
    from segmentation_pipeline.pipeline import EVALUATOR, TRANSFORM, create_pipeline
    from tfx.utils import proto_utils

    pipeline = create_pipeline(config)
    for component in pipeline.components:
        if component.id == TRANSFORM:
            component.exec_properties["disable_statistics"] = 0
        if component.id == EVALUATOR:
            eval_config = proto_utils.json_to_proto(
                component.exec_properties["eval_config"], tfma.EvalConfig()
            )
            for spec in eval_config.model_specs:
                spec.ClearField("model_type")
            eval_config.options.ClearField("include_default_metrics")
            component.exec_properties["eval_config"] = proto_utils.proto_to_json(eval_config)
    return pipeline


def run_variant(name: str, config, data_dir: str) -> tuple:
    from segmentation_pipeline.pipeline import create_pipeline
    from segmentation_pipeline.run_summary import read_latest_run
    from tfx import v1 as tfx

    print(f"--- {name}: running the pipeline from a cold cache ...", flush=True)
    pipeline = baseline_pipeline(config) if name == "baseline" else create_pipeline(config)
    load_before, cpu_before, wall_before = os.getloadavg()[0], cpu_seconds(), time.monotonic()
    tfx.orchestration.LocalDagRunner().run(pipeline)
    wall = time.monotonic() - wall_before
    cpu = cpu_seconds() - cpu_before
    summary = read_latest_run(config.metadata_path, config.pipeline_name)
    load = (load_before + os.getloadavg()[0]) / 2
    return summary, wall, cpu, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-images", type=int, default=80)
    parser.add_argument("--train-steps", type=int, default=4)
    parser.add_argument("--no-baseline", action="store_true", help="time the tuned pipeline only")
    parser.add_argument("--work-dir", help="keep everything here (default: a temporary dir)")
    args = parser.parse_args(argv)

    from segmentation_data_prep import beam_job, synthetic
    from segmentation_pipeline.config import PipelineConfig

    work = args.work_dir or tempfile.mkdtemp(prefix="segpipe-bench-")
    data_dir = os.path.join(work, "data")
    if not os.path.isdir(os.path.join(data_dir, "train")):
        synthetic.write_synthetic_pet_dataset(os.path.join(work, "raw"), args.num_images, seed=0)
        beam_job.run_data_prep(os.path.join(work, "raw"), data_dir, show_progress=False)

    variants = ["tuned"] if args.no_baseline else ["tuned", "baseline"]
    results = {}
    for name in variants:
        local_dir = os.path.join(work, name)
        shutil.rmtree(local_dir, ignore_errors=True)
        config = PipelineConfig(
            local_dir=local_dir,
            data_uri=data_dir,
            train_steps=args.train_steps,
            min_mean_iou=0.0,
            min_pixel_accuracy=0.0,
        )
        if name == "baseline":
            config = config.replace(model_alpha=1.0, decoder_filters=(256, 128, 64, 32))
        results[name] = run_variant(name, config, data_dir)

    nodes = [component.node_id for component in results["tuned"][0].components]
    header = f"{'component':<30}" + "".join(f"{name:>12}" for name in variants)
    print(f"\n{args.num_images} examples, {args.train_steps} train steps; seconds from ML Metadata")
    print(header + f"{'reference':>12}")
    for node in nodes:
        row = f"{node:<30}"
        for name in variants:
            row += f"{results[name][0].component(node).seconds:>12.1f}"
        reference = REFERENCE_SECONDS.get(node)
        print(row + (f"{reference:>12.0f}" if reference else f"{'':>12}"))
    for label, index in (("total (sum of components)", None), ("wall (LocalDagRunner.run)", 1)):
        row = f"{label:<30}"
        for name in variants:
            value = results[name][0].total_seconds if index is None else results[name][index]
            row += f"{value:>12.1f}"
        print(row + (f"{REFERENCE_SECONDS['total']:>12.0f}" if index is None else ""))
    print(f"{'process CPU s':<30}" + "".join(f"{results[n][2]:>12.1f}" for n in variants))
    print(f"{'load average (2 cores)':<30}" + "".join(f"{results[n][3]:>12.2f}" for n in variants))
    tuned = results["tuned"][0].total_seconds
    print(f"\ntuned vs reference 196 s: {REFERENCE_SECONDS['total'] / tuned:.2f}x faster")
    if "baseline" in results:
        print(f"tuned vs same-run baseline: {results['baseline'][0].total_seconds / tuned:.2f}x")
    print(f"artifacts: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
