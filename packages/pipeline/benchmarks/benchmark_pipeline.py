"""Per-component wall and CPU seconds of the local pipeline, vs a baseline run in this process.

    TF_USE_LEGACY_KERAS=1 python packages/pipeline/benchmarks/benchmark_pipeline.py \
        [--num-images 80] [--train-steps 4] [--repeats 1] [--variants tuned,defaults]

Workload: 80 examples, 4 training steps, from a cold cache (fresh pipeline root and ML
Metadata) for every run. Variants, run in this process on the stack printed first:

- "tuned": the pipeline as shipped (segmentation_pipeline.pipeline.create_pipeline);
- "defaults", the baseline: the same pipeline with TFX/TFMA defaults where this package tuned
  them (Transform statistics on, TFMA model-type detection and Keras default metrics on) and
  the model package's default size (MobileNetV2 alpha 1.0, decoder 256/128/64/32). Both
  evaluate the same metrics with the same thresholds.

With `--repeats N` the variants are interleaved (A B B A A B ...) so that a neighbour's load on a
shared machine hits both alike, and every figure is min / median over the N runs. Wall seconds
per component are each execution's create -> last-update span recorded by TFX in ML Metadata;
CPU seconds are this process's CPU time between the runner's "Component X is running" and
"finished" log lines (all threads; less sensitive to neighbours than wall time). The first run
in the process also pays one-off warm-up (lazy imports, first TF functions).

The Trainer's own profile (phases.json: model build, each epoch, signature tracing, save) and
the cost of loading the tuned SavedModel as TFMA does (`tf.saved_model.load`) are printed too.
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

VARIANTS = ("tuned", "defaults")


def stack() -> str:
    """What the numbers were measured on: they mean little without it."""
    import tensorflow as tf
    import tensorflow_model_analysis as tfma
    import tfx
    from google.protobuf import __version__ as protobuf_version
    from google.protobuf.internal import api_implementation

    return (
        f"Python {sys.version.split()[0]}, protobuf {protobuf_version} "
        f"({api_implementation.Type()}), TF {tf.__version__}, TFX {tfx.__version__}, "
        f"TFMA {tfma.__version__}, {os.cpu_count()} cores"
    )


class ComponentCpu(logging.Handler):
    """Process CPU seconds per component, from LocalDagRunner's start/finish log lines."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if match := re.fullmatch(r"Component (\S+) is running\.", message):
            self.started[match.group(1)] = time.process_time()
        elif match := re.fullmatch(r"Component (\S+) is finished\.", message):
            node = match.group(1)
            if node in self.started:  # else no figure ("-"), never a made-up zero
                self.seconds[node] = time.process_time() - self.started[node]


def defaults_pipeline(config):
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


def run_variant(name: str, config) -> dict:
    """One cold-cache run: per-component wall (MLMD) and CPU seconds, total wall, Trainer phases."""
    from segmentation_pipeline.pipeline import TRAINER, create_pipeline
    from segmentation_pipeline.run_summary import read_latest_run
    from tfx import v1 as tfx

    print(f"--- {name}: running the pipeline from a cold cache ...", flush=True)
    shutil.rmtree(config.local_dir, ignore_errors=True)
    pipeline = defaults_pipeline(config) if name == "defaults" else create_pipeline(config)
    cpu = ComponentCpu()
    absl_logger = logging.getLogger("absl")
    absl_logger.addHandler(cpu)
    absl_logger.setLevel(logging.INFO)
    started = time.monotonic()
    try:
        tfx.orchestration.LocalDagRunner().run(pipeline)
    finally:
        absl_logger.removeHandler(cpu)
    wall = time.monotonic() - started
    summary = read_latest_run(config.metadata_path, config.pipeline_name)
    run_dirs = summary.component(TRAINER).outputs.get("model_run", [])
    phases_files = [path for d in run_dirs for path in glob.glob(os.path.join(d, "phases.json"))]
    phases = {}
    if phases_files:
        with open(phases_files[0]) as f:
            phases = json.load(f)
    model = os.path.join(summary.component(TRAINER).outputs["model"][0], "Format-Serving")
    return {
        "wall": {c.node_id: c.seconds for c in summary.components},
        "cpu": cpu.seconds,
        "total_wall": wall,
        "phases": phases,
        "model": model,
    }


def model_load_seconds(model_dir: str) -> tuple[float, float]:
    """(wall, CPU) seconds of `tf.saved_model.load`: how TFMA loads a TF_GENERIC model."""
    import tensorflow as tf

    wall, cpu = time.monotonic(), time.process_time()
    tf.saved_model.load(model_dir)
    return time.monotonic() - wall, time.process_time() - cpu


def _figure(values: list[float]) -> str:
    if not values:
        return f"{'-':>15}"
    return f"{min(values):7.1f}/{statistics.median(values):<7.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-images", type=int, default=80)
    parser.add_argument("--train-steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each variant")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated")
    parser.add_argument("--work-dir", help="keep everything here (default: a temporary dir)")
    args = parser.parse_args(argv)
    variants = [name for name in args.variants.split(",") if name]
    if not variants or set(variants) - set(VARIANTS):
        parser.error(f"--variants: choose from {', '.join(VARIANTS)}")

    from segmentation_data_prep import beam_job, synthetic
    from segmentation_pipeline.config import PipelineConfig

    print(f"stack: {stack()}", flush=True)
    work = args.work_dir or tempfile.mkdtemp(prefix="segpipe-bench-")
    data_dir = os.path.join(work, "data")
    if not os.path.isdir(os.path.join(data_dir, "train")):
        synthetic.write_synthetic_pet_dataset(os.path.join(work, "raw"), args.num_images, seed=0)
        beam_job.run_data_prep(os.path.join(work, "raw"), data_dir, show_progress=False)

    runs: dict[str, list[dict]] = {name: [] for name in variants}
    loads: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for repeat in range(args.repeats):
        order = variants if repeat % 2 == 0 else variants[::-1]
        for name in order:
            config = PipelineConfig(
                local_dir=os.path.join(work, name),
                data_uri=data_dir,
                train_steps=args.train_steps,
                min_mean_iou=0.0,
                min_pixel_accuracy=0.0,
            )
            if name == "defaults":
                config = config.replace(model_alpha=1.0, decoder_filters=(256, 128, 64, 32))
            runs[name].append(run_variant(name, config))
            loads[name].append(model_load_seconds(runs[name][-1]["model"]))

    nodes = list(runs[variants[0]][0]["wall"])
    print(
        f"\n{args.num_images} examples, {args.train_steps} train steps, {args.repeats} run(s) per "
        f"variant, interleaved; seconds as min/median; load average now "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    header = f"{'component':<30}" + "".join(
        f"{f'{name} wall':>16}{f'{name} CPU':>16}" for name in variants
    )
    print(header)
    for node in nodes:
        row = f"{node:<30}"
        for name in variants:
            row += _figure([run["wall"].get(node, 0.0) for run in runs[name]])
            row += " " + _figure([run["cpu"][node] for run in runs[name] if node in run["cpu"]])
        print(row)
    row = f"{'sum of components':<30}"
    for name in variants:
        row += _figure([sum(run["wall"].values()) for run in runs[name]])
        complete = [run for run in runs[name] if set(run["cpu"]) >= set(run["wall"])]
        row += " " + _figure([sum(run["cpu"].values()) for run in complete])
    print(row)
    print(
        f"{'LocalDagRunner.run wall':<30}"
        + "".join(
            _figure([run["total_wall"] for run in runs[name]]) + " " * 16 for name in variants
        )
    )
    for name in variants:
        walls, cpus = zip(*loads[name])
        print(
            f"{name}: tf.saved_model.load of the exported model (the Evaluator's load): wall "
            f"{_figure(list(walls))} CPU {_figure(list(cpus))}"
        )
        phases = runs[name][-1]["phases"]
        if phases:
            print(f"{name}: Trainer phases of the last run (wall / CPU s):")
            for phase, times in phases.items():
                print(f"    {phase:<28}{times['wall_s']:7.1f} {times['cpu_s']:7.1f}")
    if len(variants) == 2:
        first, second = (
            statistics.median(sum(run["wall"].values()) for run in runs[name]) for name in variants
        )
        print(f"\nmedian sum of components, {variants[1]} / {variants[0]}: {second / first:.2f}x")
    print(f"artifacts: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
