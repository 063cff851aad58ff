"""Shared fixtures: the template's logic module, a model on a local Hub, the running app."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from model_repos import upload_model_repo
from segmentation_space_app import template_dir
from segmentation_space_app.local import serve_space_app

# Before huggingface_hub is imported: the local Hub speaks plain HTTP and LFS, not Xet.
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def _import_template_module(name: str) -> ModuleType:
    """Import template/<name>.py as a top-level module, as app.py does on the Space,
    without writing __pycache__ into template/ (published as it is)."""
    spec = importlib.util.spec_from_file_location(name, template_dir() / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    previous, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = previous
    return module


logic = _import_template_module("segmentation_logic")

TOKEN = "hf_space_app_test_token"
SANDBOX_DIR = Path(__file__).parent / "space_sandbox"


@dataclass
class ServedApp:
    """The Space app running on loopback, serving `model_dir` from the local Hub."""

    url: str
    repo_id: str
    revision: str  # the commit the app is pinned to
    head: str  # a later commit on main that breaks the model
    model_dir: Path
    log_path: Path


@pytest.fixture(scope="session")
def palette() -> logic.Palette:
    return logic.load_palette(template_dir() / logic.PALETTE_FILE)


@pytest.fixture(scope="session")
def local_hub(tmp_path_factory: pytest.TempPathFactory):
    from hf_local_hub import LocalHub

    with LocalHub(tmp_path_factory.mktemp("hub"), token=TOKEN) as hub:
        yield hub


@contextlib.contextmanager
def run_app(tmp_path_factory, space_files: Path, env: dict[str, str]):
    """`python app.py` in a copy of `space_files`, with only the Space's packages importable
    (space_sandbox/sitecustomize.py) and the app's own Hugging Face cache; yields (url, log)."""
    space_dir = tmp_path_factory.mktemp("space") / "app"
    shutil.copytree(space_files, space_dir)
    env = {
        **env,
        "HF_HOME": str(space_dir.parent / "hf_home"),
        "PYTHONPATH": str(SANDBOX_DIR),
        "TF_USE_LEGACY_KERAS": "0",  # not set on a Space
        # A Space sends its HF_TOKEN secret implicitly; the test process disables that for
        # its own clients (test_support), the app must not inherit it.
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "",
    }
    log_path = space_dir.parent / "app.log"
    with serve_space_app(space_dir, env, log_path=log_path) as url:
        yield url, log_path


@contextlib.contextmanager
def serve_with_env_overrides(
    tmp_path_factory, hub, repo_id: str, model_dir: Path, labels: dict, extra_env: dict
):
    """Local use: push `model_dir` and its labels.json with the plain client, break main with a
    later commit, and run the unpublished template pinned to the push by MODEL_REPO_ID /
    MODEL_REVISION."""
    from huggingface_hub import HfApi

    revision = upload_model_repo(hub.url, hub.token, repo_id, model_dir, labels)
    broken = HfApi(endpoint=hub.url, token=hub.token).upload_file(
        path_or_fileobj=b"not a SavedModel",
        path_in_repo="saved_model.pb",
        repo_id=repo_id,
        commit_message="Break main",
    )
    env = {
        **hub.client_env(),
        "MODEL_REPO_ID": repo_id,
        "MODEL_REVISION": revision,
        "HF_TOKEN": "",  # a public model needs none
        **extra_env,
    }
    with run_app(tmp_path_factory, template_dir(), env) as (url, log_path):
        yield ServedApp(url, repo_id, revision, broken.oid, model_dir, log_path)


@contextlib.contextmanager
def serve_published_space(
    tmp_path_factory, hub, repo_id: str, model_dir: Path, labels: dict | None = None
):
    """The Space flow: tfx_hf_pusher publishes the model (private, on a version branch; with
    `labels` as its labels.json when given) and the Space with the placeholders filled in; the
    Space's files are downloaded and run with no model settings, only the Hub address and the
    HF_TOKEN secret."""
    from huggingface_hub import HfApi, snapshot_download
    from tfx_hf_pusher.publish import SpaceConfig
    from tfx_hf_pusher.publish import publish_model as push

    space_repo = f"{repo_id}-demo"
    result = push(
        model_dir,
        repo_id=repo_id,
        token=hub.token,
        endpoint=hub.url,
        space=SpaceConfig(repo_id=space_repo, template=str(template_dir())),
        labels=labels,
    )
    space_files = snapshot_download(
        space_repo,
        repo_type="space",
        revision=result.space_commit_id,
        endpoint=hub.url,
        token=hub.token,
        cache_dir=tmp_path_factory.mktemp("space_download"),
    )
    main = HfApi(endpoint=hub.url, token=hub.token).repo_info(repo_id).sha
    env = {**hub.client_env(), "HF_TOKEN": hub.token}
    with run_app(tmp_path_factory, Path(space_files), env) as (url, log_path):
        yield ServedApp(url, repo_id, result.commit_id, main, model_dir, log_path)


@pytest.fixture
def launch_app(tmp_path_factory):
    """run_app for a test's own app process: launch_app(space_files, env)."""
    return functools.partial(run_app, tmp_path_factory)


@pytest.fixture(scope="session")
def standin_app(tmp_path_factory, local_hub) -> Iterator[ServedApp]:
    """The app serving the thirds stand-in (fast to build, masks known by hand), published with
    STANDIN_LABELS as its labels.json."""
    from segmentation_test_support.standin_model import export_thirds_model
    from serving_models import STANDIN_LABELS, STANDIN_QUEUE_MAX_SIZE

    model_dir = export_thirds_model(tmp_path_factory.mktemp("standin") / "model")
    with serve_with_env_overrides(
        tmp_path_factory,
        local_hub,
        "local-user/thirds",
        model_dir,
        STANDIN_LABELS,
        {"QUEUE_MAX_SIZE": str(STANDIN_QUEUE_MAX_SIZE)},
    ) as app:
        yield app


@pytest.fixture(scope="session")
def unet_app(tmp_path_factory, local_hub) -> Iterator[ServedApp]:
    """The published Space serving the project's real UNet export (untrained; minutes), without
    labels.json: the app falls back to the template's palette.json."""
    from untrained_unet import export_untrained_model

    work_dir = tmp_path_factory.mktemp("unet")
    model_dir = export_untrained_model(
        work_dir / "model", work_dir, image_size=64, alpha=0.35, decoder_filters=(32, 16, 16, 8)
    )
    with serve_published_space(
        tmp_path_factory, local_hub, "local-user/pet-unet", model_dir
    ) as app:
        yield app


@pytest.fixture(scope="session")
def sidewalk_app(tmp_path_factory, local_hub) -> Iterator[ServedApp]:
    """The published Space serving the UNet export for the 35 Sidewalk classes (untrained),
    published by tfx_hf_pusher with the dataset spec's labels.json, as the pipeline does."""
    from segmentation_data_prep.presets import SIDEWALK
    from untrained_unet import export_untrained_model

    work_dir = tmp_path_factory.mktemp("sidewalk")
    model_dir = export_untrained_model(
        work_dir / "model",
        work_dir,
        image_size=64,
        alpha=0.35,
        decoder_filters=(32, 16, 16, 8),
        spec=SIDEWALK,
    )
    with serve_published_space(
        tmp_path_factory,
        local_hub,
        "local-user/sidewalk-unet",
        model_dir,
        labels=SIDEWALK.labels_json(),
    ) as app:
        yield app
