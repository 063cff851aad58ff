"""Request latency of the Space app, baseline and candidate in one run, as clients call it.

Starts tfx_hf_pusher's local Hub, publishes one SavedModel to it and runs two copies of the app
as the Space does (`python app.py`, loopback ports): the template at `--baseline-ref` (a git
revision) and the working tree's. Requests alternate between the two apps and the model called
in-process on the same bytes, round after round, so load from other processes on the machine
hits all three alike; min, p50 and p95 are printed per image size. An in-process profile of the
app's own steps (decode, overlay, PNG encode, area shares) for both templates says where the
time goes; the rest is Gradio and HTTP (upload, queue, SSE, download). Each app is called both
through gradio_client and as its web page calls it (browser_protocol.py): gradio_client's
50 ms polling is the client's time, not the app's.

Usage (from the repo root, in a session venv):
    python packages/space_app/benchmarks/benchmark_space_app.py \
        [--baseline-ref main] [--model-dir DIR] [--requests 30] [--sizes 375 1024]
Without --model-dir, the project's UNet (default size, untrained) is exported first (minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import platform
import shutil
import ssl
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import ModuleType

os.environ.setdefault("HF_HUB_DISABLE_XET", "1")  # before huggingface_hub is imported
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np
from gradio_client import Client, handle_file
from hf_local_hub import LocalHub
from segmentation_data_prep.synthetic import write_synthetic_pet_dataset
from segmentation_space_app import template_dir
from segmentation_space_app.local import serve_space_app

PACKAGE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PACKAGE_DIR / "tests"))  # the test helpers that export and publish
sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser_protocol import BrowserProtocolClient  # noqa: E402
from model_repos import upload_model_repo  # noqa: E402
from untrained_unet import export_untrained_model  # noqa: E402

REPO_ID = "local-user/pet-segmentation-benchmark"
TOKEN = "hf_benchmark_token"
TEMPLATE_IN_REPO = "packages/space_app/src/segmentation_space_app/template"


def print_stack() -> None:
    import gradio
    import gradio_client
    import PIL
    import tensorflow as tf
    from google.protobuf.internal import api_implementation

    print(
        f"Stack: Python {platform.python_version()}, protobuf {api_implementation.Type()}, "
        f"TensorFlow {tf.__version__}, gradio {gradio.__version__}, gradio_client "
        f"{gradio_client.__version__}, Pillow {PIL.__version__}, numpy {np.__version__}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
    )


def template_at(ref: str, destination: Path) -> Path:
    """The Space template as committed at git revision `ref`."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, TEMPLATE_IN_REPO],
        cwd=PACKAGE_DIR.parents[1],  # the repository root
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")
    return destination / TEMPLATE_IN_REPO


def load_logic(template: Path, name: str) -> ModuleType:
    """A template's segmentation_logic.py under its own module name."""
    spec = importlib.util.spec_from_file_location(name, template / "segmentation_logic.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def synthetic_photo(work_dir: Path, size: int) -> Path:
    """A size x size synthetic pet JPEG from the project's generator."""
    root = write_synthetic_pet_dataset(
        work_dir / f"pets_{size}", 1, seed=size, min_size=size, max_size=size
    )
    return next((root / "images").glob("*.jpg"))


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def summary(values: list[float]) -> str:
    array = np.asarray(values)
    return f"{array.min():>8.1f} {np.percentile(array, 50):>8.1f} {np.percentile(array, 95):>8.1f}"


def profile_steps(logic: ModuleType, template: Path, data: bytes, serve, rounds: int) -> dict:
    """ms per step of the app's request handler, in process (median of `rounds`)."""
    import tensorflow as tf

    palette = logic.load_palette(template / logic.PALETTE_FILE)
    prepared = logic.prepare_image(data)
    mask = serve(image_bytes=tf.constant([prepared.model_bytes]))["seg_mask"].numpy()[0]
    mask = mask.astype(np.uint8)
    overlay = logic.overlay_mask(prepared.pixels, mask, palette)
    steps = {
        "decode + checks": lambda: logic.prepare_image(data),
        "overlay": lambda: logic.overlay_mask(prepared.pixels, mask, palette),
        "PNG encode": lambda: logic.encode_png(overlay),
        "area shares": lambda: logic.class_shares(mask, palette.names),
    }
    return {name: float(np.median([timed(s) for _ in range(rounds)])) for name, s in steps.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="main", help="git revision of the baseline app")
    parser.add_argument("--model-dir", type=Path, help="SavedModel to serve (default: export)")
    parser.add_argument("--requests", type=int, default=30, help="timed rounds per size")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds per size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[375, 1024])
    args = parser.parse_args()

    print_stack()
    work_dir = Path(tempfile.mkdtemp(prefix="space_app_benchmark-"))
    try:
        templates = {
            f"baseline ({args.baseline_ref})": template_at(args.baseline_ref, work_dir / "base"),
            "candidate (working tree)": template_dir(),
        }
        model_dir = args.model_dir
        if model_dir is None:
            print("Exporting the untrained UNet (default size) ...", flush=True)
            model_dir = export_untrained_model(work_dir / "model", work_dir / "transform")
        photos = {size: synthetic_photo(work_dir, size) for size in args.sizes}

        import tensorflow as tf

        serve = tf.saved_model.load(str(model_dir)).signatures["serving_default"]
        print("\nIn-process profile of the app's steps (ms, median):")
        for size, photo in photos.items():
            for index, (label, template) in enumerate(templates.items()):
                logic = load_logic(template, f"segmentation_logic_{index}")
                steps = profile_steps(logic, template, photo.read_bytes(), serve, args.requests)
                listed = ", ".join(f"{name} {ms:.1f}" for name, ms in steps.items())
                print(f"  {size:>5} px {label:<26} {listed}")

        with LocalHub(work_dir / "hub", token=TOKEN) as hub:
            revision = upload_model_repo(hub.url, TOKEN, REPO_ID, model_dir)
            env = {**hub.client_env(), "MODEL_REPO_ID": REPO_ID, "MODEL_REVISION": revision}
            timings = {}
            with serve_apps(templates, env, work_dir) as urls:
                clients = {}
                for label, url in urls.items():
                    clients[f"{label}, gradio_client"] = Client(url, verbose=False)
                    # httpx builds a TLS context (~20 ms) per request unless given one
                    clients[f"{label}, gradio_client, one TLS context"] = Client(
                        url, verbose=False, ssl_verify=ssl.create_default_context()
                    )
                pages = {
                    f"{label}, page protocol": BrowserProtocolClient(url, "segment")
                    for label, url in urls.items()
                }
                for size, photo in photos.items():
                    upload = handle_file(str(photo))
                    data = tf.constant([photo.read_bytes()])
                    calls = {
                        name: lambda c=client, u=upload: c.predict(u, api_name="/segment")
                        for name, client in clients.items()
                    }
                    calls.update(
                        {name: lambda p=page, f=photo: p.predict(f) for name, page in pages.items()}
                    )
                    calls["model in-process"] = lambda data=data: serve(image_bytes=data)
                    timings.update({(size, label): [] for label in calls})
                    order = list(calls)
                    for round_index in range(args.warmup + args.requests):
                        # Alternate the order so neither app always follows the other.
                        for label in order if round_index % 2 else order[::-1]:
                            elapsed = timed(calls[label])
                            if round_index >= args.warmup:
                                timings[size, label].append(elapsed)
                    print(f"  {size} px: {args.requests} interleaved rounds done", flush=True)

        print(
            f"\nRequest latency, {args.requests} interleaved rounds (ms); "
            f"load average {os.getloadavg()[0]:.1f} at the end"
        )
        print(f"{'image':>8}  {'path':<56} {'min':>8} {'p50':>8} {'p95':>8}")
        for size, label in sorted(timings, key=lambda key: key[0]):
            print(f"{size:>5} px  {label:<56} {summary(timings[size, label])}")
        print(
            "gradio_client creates an httpx client, and with it a TLS context (~20 ms), for each "
            "of its upload, queue join and download requests unless given one (ssl_verify=), and "
            "polls for queue messages with 50 ms sleeps; 'page protocol' makes the requests of "
            "the app's web page (browser_protocol.py) over one connection, without either."
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


@contextlib.contextmanager
def serve_apps(templates: dict[str, Path], env: dict[str, str], work_dir: Path):
    """Both apps running at once, each in its own copy of its template; yields their URLs."""
    with contextlib.ExitStack() as stack:
        urls = {}
        for index, (label, template) in enumerate(templates.items()):
            app_dir = work_dir / f"app_{index}"
            shutil.copytree(template, app_dir)
            app_env = {**env, "HF_HOME": str(work_dir / f"hf_home_{index}")}
            print(f"Starting the {label} app ...", flush=True)
            log_path = work_dir / f"app_{index}.log"
            urls[label] = stack.enter_context(serve_space_app(app_dir, app_env, log_path=log_path))
        yield urls


if __name__ == "__main__":
    main()
