"""Request latency of the Space app through gradio_client, on 128 px and 1024 px photos.

Starts tfx_hf_pusher's local Hub, publishes a SavedModel to it, runs the app template as the
Space does (`python app.py`, loopback port) and times end-to-end requests. Baseline in the same
run: the model's serving_default called in-process on the same bytes, so the difference is
what the app adds (upload, decode, overlay, PNG encode, download).

Usage (from the repo root):
    TF_USE_LEGACY_KERAS=1 .venv/bin/python packages/space_app/benchmarks/benchmark_space_app.py \
        [--model-dir DIR] [--requests 20] [--sizes 128 1024]
Without --model-dir, the project's UNet (default size, untrained) is exported first (minutes).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_XET", "1")  # before huggingface_hub is imported
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np
from gradio_client import Client, handle_file
from hf_local_hub import LocalHub
from segmentation_data_prep.synthetic import write_synthetic_pet_dataset
from segmentation_space_app import template_dir
from segmentation_space_app.local import serve_space_app
from segmentation_space_app.testing import export_untrained_model, publish_model

REPO_ID = "local-user/pet-segmentation-benchmark"
TOKEN = "hf_benchmark_token"


def percentiles(seconds: list[float]) -> tuple[float, float, float]:
    """p50, p95 and mean, in milliseconds."""
    values = np.asarray(seconds) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 95)), float(values.mean())


def time_calls(call, repeats: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return timings


def synthetic_photo(work_dir: Path, size: int) -> Path:
    """A size x size synthetic pet JPEG from the project's generator."""
    root = write_synthetic_pet_dataset(
        work_dir / f"pets_{size}", 1, seed=size, min_size=size, max_size=size
    )
    return next((root / "images").glob("*.jpg"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, help="SavedModel to serve (default: export)")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per size")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests per size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 1024])
    args = parser.parse_args()

    work_dir = Path(tempfile.mkdtemp(prefix="space_app_benchmark-"))
    try:
        model_dir = args.model_dir
        if model_dir is None:
            print("Exporting the untrained UNet (default size) ...", flush=True)
            started = time.perf_counter()
            model_dir = export_untrained_model(work_dir / "model", work_dir / "transform")
            print(f"  exported in {time.perf_counter() - started:.0f} s", flush=True)
        photos = {size: synthetic_photo(work_dir, size) for size in args.sizes}

        import tensorflow as tf

        serve = tf.saved_model.load(str(model_dir)).signatures["serving_default"]
        baseline = {}
        for size, photo in photos.items():
            data = tf.constant([photo.read_bytes()])
            baseline[size] = time_calls(
                lambda data=data: serve(image_bytes=data), args.requests, args.warmup
            )
            print(f"  model in-process, {size} px: done", flush=True)

        with LocalHub(work_dir / "hub", token=TOKEN) as hub:
            revision = publish_model(hub.url, TOKEN, REPO_ID, model_dir)
            space_dir = work_dir / "space"
            shutil.copytree(template_dir(), space_dir)
            env = {
                **hub.client_env(),
                "MODEL_REPO_ID": REPO_ID,
                "MODEL_REVISION": revision,
                "HF_HOME": str(work_dir / "hf_home"),
            }
            print("Starting the app ...", flush=True)
            with serve_space_app(space_dir, env, log_path=work_dir / "app.log") as url:
                client = Client(url, verbose=False)
                app = {}
                for size, photo in photos.items():
                    upload = handle_file(str(photo))
                    app[size] = time_calls(
                        lambda upload=upload: client.predict(upload, api_name="/segment"),
                        args.requests,
                        args.warmup,
                    )
                    print(f"  app through gradio_client, {size} px: done", flush=True)

        print(f"\nLatency over {args.requests} requests each (ms), {os.cpu_count()} CPUs")
        print(f"{'image':>10} {'path':<28} {'p50':>8} {'p95':>8} {'mean':>8}")
        for size in args.sizes:
            for label, timings in (
                ("model in-process (baseline)", baseline[size]),
                ("app via gradio_client", app[size]),
            ):
                p50, p95, mean = percentiles(timings)
                print(f"{size:>7} px {label:<28} {p50:>8.1f} {p95:>8.1f} {mean:>8.1f}")
            overhead = percentiles(app[size])[0] - percentiles(baseline[size])[0]
            print(f"{size:>7} px {'app overhead (p50)':<28} {overhead:>8.1f}")
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
