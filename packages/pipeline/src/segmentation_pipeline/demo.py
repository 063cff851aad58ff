"""The main job, offline: sample data -> data_prep -> full TFX pipeline -> push to a local Hub.

    python -m segmentation_pipeline.demo [--dataset NAME] [--num-images N] [config flags]

1. starts a local Hugging Face Hub-compatible server in-process with a freshly generated token
   (put in the environment variable HFPusher reads, never in the pipeline),
2. writes a synthetic dataset (`segmentation_pipeline.demo_datasets`): `pet-synthetic` (the
   default) in the Oxford-IIIT Pet layout, or `sidewalk-synthetic`, 35-class street scenes
   published to the local Hub as a dataset repo and downloaded from it,
3. turns it into TFRecord shards with the data_prep Beam job (which writes the dataset spec
   the pipeline takes the classes from),
4. runs the whole pipeline with LocalDagRunner (SQLite ML Metadata, cache on),
5. prints where the model, the metrics and the pushed revision are, a per-component summary
   (state, wall time, results) read from ML Metadata, and draws predictions to a PNG,
6. serves the published Space from the local Hub on a loopback port until Ctrl-C (the demo
   live; `--no-serve` ends the job after step 5, for scripts and CI).

Everything lives under --local-dir (default out/pipeline; out/pipeline-sidewalk for the
sidewalk run). Steps 2-3 are skipped when their output exists for the same inputs, so a second
run with no change is served from the cache.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from segmentation_data_prep.shifts import SHIFT_NAMES, Shift, ShiftError

from segmentation_pipeline.config import (
    TARGET_LOCAL,
    PipelineConfig,
    add_config_arguments,
    config_from_cli,
)
from segmentation_pipeline.demo_datasets import DEMO_DATASETS, PET_SYNTHETIC, DemoDataset
from segmentation_pipeline.node_ids import EVALUATOR, HF_PUSHER, PUSHER, TRAINER
from segmentation_pipeline.terminal import add_verbose_flag, quiet_libraries

# The scenario's names, importable without its heavy imports (the shifts module is numpy + PIL).
SCENARIOS = ("drift",)
DEFAULT_SHIFT = "dark"  # span 2 of --scenario drift
_STAMP = "demo_inputs.json"
LEGEND_MAX_WIDTH = 480  # a wider picture's legend wraps onto more lines
PANEL_MIN_SIZE = 128  # smaller records are enlarged (whole pixels) in the predictions picture


def prepare_data(
    config: PipelineConfig,
    num_images: int,
    seed: int,
    dataset: DemoDataset = PET_SYNTHETIC,
    hub: Any = None,
) -> str:
    """The demo dataset -> data_prep shards; skipped when done for these inputs.

    `hub`: the running LocalHub, for a dataset read from a Hub dataset repo.
    """
    from segmentation_data_prep import beam_job, record_format
    from segmentation_data_prep.report import IncompleteOutputError, require_complete_output

    from segmentation_pipeline.demo_datasets import write_source

    data_dir = Path(config.data_location(TARGET_LOCAL))
    # The schema's digest stands for the record format: records written before it changed (e.g.
    # without the drift features) would stop the pipeline at the anomalies gate, not be reused.
    schema = hashlib.sha256(Path(record_format.schema_path()).read_bytes()).hexdigest()[:16]
    stamp = {"num_images": num_images, "seed": seed, "image_size": config.image_size}
    stamp.update(dataset=dataset.name, record_schema=schema)
    stamp_path = data_dir / _STAMP
    if stamp_path.exists() and json.loads(stamp_path.read_text()) == stamp:
        try:
            require_complete_output(str(data_dir))
            print(f"Data: reusing {data_dir} ({num_images} images, seed {seed})")
            return str(data_dir)
        except IncompleteOutputError as error:
            print(f"Data: not reusing {data_dir}: {error}")
    # The stamp describes the output in place: gone until a run for these inputs succeeds, so
    # data left by an earlier run is never taken for the output of a failed rerun.
    stamp_path.unlink(missing_ok=True)
    raw_dir = Path(config.local_dir) / "raw_images"
    input_dir, options = write_source(dataset, raw_dir, num_images, seed, hub)
    print(f"Data: data_prep Beam job -> {data_dir}")
    report = beam_job.run_data_prep(
        input_dir, str(data_dir), image_size=config.image_size, overwrite=True, **options
    )
    written, rejected = report["written"], report["rejected"]["total"]
    print(f"Data: {written['train']} train / {written['eval']} eval records, {rejected} rejected")
    stamp_path.write_text(json.dumps(stamp))
    return str(data_dir)


def run_demo(
    config: PipelineConfig,
    num_images: int,
    seed: int = 0,
    verbose: bool = False,
    dataset: DemoDataset = PET_SYNTHETIC,
) -> dict[str, str]:
    """Runs steps 1-5 of the module docstring; returns the printed locations.

    `verbose`: TFX's full log instead of one progress line per component.
    """
    from hf_local_hub import LocalHub

    from segmentation_pipeline.dataset import dataset_spec
    from segmentation_pipeline.local_runner import run_local
    from segmentation_pipeline.pipeline import create_pipeline
    from segmentation_pipeline.progress import component_progress
    from segmentation_pipeline.run_summary import (
        evaluation_results,
        format_summary,
        read_latest_run,
    )

    started = time.monotonic()
    os.makedirs(config.local_dir, exist_ok=True)

    # The local Hub's token is generated per run and only ever lives in this process's env.
    with LocalHub(Path(config.local_dir) / "hub", token=f"hf_{secrets.token_hex(16)}") as hub:
        os.environ.update(hub.client_env())
        os.environ[config.hf_token_env_var] = hub.token
        config = with_demo_repos(config, hub.user, dataset)
        print(f"Hub: local Hugging Face Hub-compatible server at {hub.url} (user {hub.user})")
        prepare_data(config, num_images, seed, dataset, hub)

        total = len(create_pipeline(config, TARGET_LOCAL).components)
        if verbose:
            logging.basicConfig(level=logging.INFO)
        with contextlib.nullcontext() if verbose else component_progress(total):
            run_local(config)

        summary = read_latest_run(config.metadata_path, config.pipeline_name)
        evaluation = summary.component(EVALUATOR).outputs["evaluation"][0]
        spec = dataset_spec(config, TARGET_LOCAL)
        extra = {EVALUATOR: evaluation_results(evaluation, spec.class_names)}
        print()
        print(format_summary(summary, extra))
        locations = {
            "model (SavedModel)": os.path.join(
                summary.component(TRAINER).outputs["model"][0], "Format-Serving"
            ),
            "metrics (TFMA output)": evaluation,
            "blessed": extra[EVALUATOR]["blessed"],
            "pushed model (filesystem)": summary.component(PUSHER).results.get(
                "pushed_model.pushed_destination", "not pushed"
            ),
        }
        if config.hf_model_repo_id:
            hf = summary.component(HF_PUSHER).results
            pushed = hf.get("pushed_model.pushed") == "1"
            locations["Hub model repo"] = f"{hub.url}/{config.hf_model_repo_id}"
            locations["Hub revision"] = (
                hf.get("pushed_model.commit_id", "?") if pushed else "not pushed"
            )
            if config.hf_space_repo_id:
                locations["Hub Space"] = hf.get("pushed_model.space_url", "not pushed")
        picture = draw_predictions(config, locations["model (SavedModel)"])
        caption_picture(picture, evaluation_caption(extra[EVALUATOR]))
        locations["predictions picture"] = picture
    print()
    print("Where things are:")
    for name, value in locations.items():
        print(f"  {name}: {value}")
    print(f"Done in {time.monotonic() - started:.0f} s (pipeline {summary.total_seconds:.0f} s).")
    return locations


def evaluation_caption(results: dict[str, str]) -> str:
    """The Evaluator's mean and per-class IoU of the candidate, for the predictions picture."""
    mean = results.get("mean_iou [candidate]", "?")
    per_class = results.get("per-class IoU [candidate]", "?")
    return f"IoU on the eval split: mean {mean} | {per_class}"


def caption_picture(path: str, text: str) -> None:
    """Adds text under the picture at `path` (in place), wrapped at ' | ' to the width."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    with Image.open(path) as picture:
        lines = [""]
        for part in text.split(" | "):
            joined = f"{lines[-1]} | {part}" if lines[-1] else part
            if lines[-1] and font.getlength(joined) > picture.width - 8:
                lines.append(part)
            else:
                lines[-1] = joined
        canvas = Image.new("RGB", (picture.width, picture.height + 16 * len(lines)), "white")
        canvas.paste(picture.convert("RGB"), (0, 0))
    draw = ImageDraw.Draw(canvas)
    for index, line in enumerate(lines):
        draw.text((4, picture.height + 2 + 16 * index), line, fill="black", font=font)
    canvas.save(path)


def with_demo_repos(
    config: PipelineConfig, hub_user: str, dataset: DemoDataset = PET_SYNTHETIC
) -> PipelineConfig:
    """Hub repos in the local user's namespace unless set; a Space if its app is installed."""
    changes = {}
    if not config.hf_model_repo_id:
        changes["hf_model_repo_id"] = f"{hub_user}/{dataset.model_repo}"
    if not config.hf_space_repo_id:
        try:
            import segmentation_space_app  # noqa: F401
        except ImportError:
            print("Hub: segmentation_space_app is not installed; publishing no Space")
        else:
            changes["hf_space_repo_id"] = f"{hub_user}/{dataset.space_repo}"
    return config.replace(**changes) if changes else config


def draw_predictions(config: PipelineConfig, model_dir: str, count: int = 4) -> str:
    """Eval images | true masks | predicted masks, through the serving signature, as one PNG
    in the run's dataset spec colours."""
    from segmentation_pipeline.dataset import dataset_spec
    from segmentation_pipeline.scoring import eval_records, mask_predictor

    records = list(eval_records(config.data_location(TARGET_LOCAL), count))
    predict = mask_predictor(model_dir)
    predicted = [predict(record.image) for record in records]
    path = os.path.join(config.local_dir, "predictions.png")
    spec = dataset_spec(config, TARGET_LOCAL)
    scale = max(1, PANEL_MIN_SIZE // config.image_size)  # 64 px records: shown at 128 px
    predictions_picture(records, predicted, spec.class_names, spec.colors, scale).save(path)
    return os.path.abspath(path)


def predictions_picture(
    records: Sequence,
    predicted: Sequence,
    class_names: Sequence[str],
    colors: Sequence[tuple[int, int, int]],
    scale: int = 1,
) -> Any:
    """One row per record: image | true mask | predicted mask, titled, with the class legend,
    each pixel drawn as a `scale` x `scale` block (small records stay readable).

    Masks are painted in the dataset spec's colours (`colors`, in `class_names` order), the
    colours of every picture of masks; the legend widens the picture up to LEGEND_MAX_WIDTH,
    then wraps onto as many lines as it needs.
    """
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    palette = np.array(colors, dtype=np.uint8)
    rows = [
        np.concatenate(
            [record.image, palette[record.mask], palette[np.clip(mask, 0, len(palette) - 1)]],
            axis=1,
        )
        for record, mask in zip(records, predicted)
    ]
    grid = np.concatenate(rows, axis=0)
    grid = Image.fromarray(grid.repeat(scale, axis=0).repeat(scale, axis=1))
    font = ImageFont.load_default()
    legend = [
        (name, tuple(color), 13 + int(font.getlength(name)) + 12)
        for name, color in zip(class_names, colors)
    ]
    band = 16
    legend_width = 4 + sum(entry_width for *_, entry_width in legend)
    width = max(grid.width, min(legend_width, LEGEND_MAX_WIDTH))
    places, x, line = [], 4, 0
    for name, color, entry_width in legend:
        if x > 4 and x + entry_width > width:
            x, line = 4, line + 1
        places.append((name, color, x, line))
        x += entry_width
    canvas = Image.new("RGB", (width, grid.height + band * (line + 2)), "white")
    canvas.paste(grid, (0, band))
    draw = ImageDraw.Draw(canvas)
    for column, title in enumerate(("image", "true mask", "predicted mask")):
        draw.text((column * (grid.width // 3) + 4, 2), title, fill="black", font=font)
    for name, color, x, line in places:
        y = grid.height + band * (line + 1) + 3
        draw.rectangle((x, y, x + 9, y + 9), fill=color, outline=(128, 128, 128))
        draw.text((x + 13, y - 1), name, fill="black", font=font)
    return canvas


def serve_demo_space(config: PipelineConfig, dataset: DemoDataset = PET_SYNTHETIC) -> None:
    """Step 6: the local Hub again, on the same storage, and the Space the run published;
    returns on Ctrl-C, with the app and the Hub stopped."""
    from hf_local_hub import LocalHub

    from segmentation_pipeline.live_space import serve_published_space

    try:
        with LocalHub(Path(config.local_dir) / "hub", token=f"hf_{secrets.token_hex(16)}") as hub:
            os.environ.update(hub.client_env())
            config = with_demo_repos(config, hub.user, dataset)
            if not config.hf_space_repo_id:
                return
            if not hub.store.repo_exists("space", config.hf_space_repo_id):
                print(f"Space: {config.hf_space_repo_id} was never published; nothing to serve")
                return
            print(f"Hub: the local Hub again, at {hub.url}, for the Space's model")
            serve_published_space(
                hub.url, hub.token, config.hf_space_repo_id, Path(config.local_dir) / "space"
            )
    except KeyboardInterrupt:
        print("Space: stopped.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Offline main job: sample data -> data_prep -> TFX pipeline -> local Hub."
    )
    parser.add_argument(
        "--dataset",
        choices=sorted(DEMO_DATASETS),
        default=PET_SYNTHETIC.name,
        help="synthetic dataset: Oxford-IIIT Pet layout, or 35-class street scenes served as a "
        f"Hub dataset repo by the local Hub [{PET_SYNTHETIC.name}]",
    )
    parser.add_argument(
        "--num-images",
        type=int,
        default=None,
        help="synthetic images ["
        + ", ".join(f"{d.name}: {d.default_num_images}" for d in DEMO_DATASETS.values())
        + "]",
    )
    parser.add_argument("--seed", type=int, default=0, help="synthetic data seed [0]")
    parser.add_argument(
        "--no-serve",
        dest="serve",
        action="store_false",
        help="end after the pipeline instead of serving the published Space (scripts, CI)",
    )
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default=None,
        help="drift: the continuous-training story instead (segmentation_pipeline.scenario): "
        "span 1 -> v1, a shifted span 2, drift, monitor, retrain on spans 1-2 -> v2, report",
    )
    parser.add_argument(
        "--shift",
        default=DEFAULT_SHIFT,
        help=f"--scenario drift: span 2's shift, NAME[:STRENGTH in 0..1], NAME one of "
        f"{', '.join(SHIFT_NAMES)} [{DEFAULT_SHIFT}]",
    )
    add_verbose_flag(parser)
    add_config_arguments(parser)
    args = parser.parse_args(argv)
    dataset = DEMO_DATASETS[args.dataset]
    config = config_from_cli(parser, args, TARGET_LOCAL, defaults=dataset.config_defaults)
    num_images = dataset.default_num_images if args.num_images is None else args.num_images
    if num_images < 10:
        parser.error("--num-images must be >= 10 (both splits need examples)")
    if args.scenario:
        if dataset != PET_SYNTHETIC:
            parser.error(f"--scenario drift draws its spans from {PET_SYNTHETIC.name} only")
        try:
            Shift.parse(args.shift)
        except ShiftError as error:
            parser.error(f"--shift: {error}")
        quiet_libraries(args.verbose)
        from segmentation_pipeline.scenario import run_drift_scenario

        run_drift_scenario(config, num_images, args.seed, args.shift, verbose=args.verbose)
        return 0
    quiet_libraries(args.verbose)
    run_demo(config, num_images, args.seed, verbose=args.verbose, dataset=dataset)
    if args.serve:
        serve_demo_space(config, dataset)
    return 0


if __name__ == "__main__":
    sys.exit(main())
