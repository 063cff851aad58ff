"""Shared fixtures: the template's logic module, a model on a local Hub, the running app."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
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
REPO_ID = "local-user/pet-segmentation"
SANDBOX_DIR = Path(__file__).parent / "space_sandbox"


@dataclass(frozen=True)
class PublishedModel:
    repo_id: str
    revision: str  # the commit the app is pinned to
    head: str  # a later commit on main that breaks the model


@pytest.fixture(scope="session")
def palette() -> logic.Palette:
    return logic.load_palette(template_dir() / logic.PALETTE_FILE)


@pytest.fixture(scope="session")
def serving_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from serving_models import export_test_model

    return export_test_model(tmp_path_factory.mktemp("model") / "serving_model")


@pytest.fixture(scope="session")
def local_hub(tmp_path_factory: pytest.TempPathFactory):
    from tfx_hf_pusher.local_hub import LocalHub

    with LocalHub(tmp_path_factory.mktemp("hub"), token=TOKEN) as hub:
        yield hub


@pytest.fixture(scope="session")
def published_model(local_hub, serving_model_dir: Path) -> PublishedModel:
    """The model pushed to the local Hub, then main broken by a later commit."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=local_hub.url, token=local_hub.token)
    api.create_repo(REPO_ID)
    pushed = api.upload_folder(
        repo_id=REPO_ID, folder_path=serving_model_dir, commit_message="Push model"
    )
    broken = api.upload_file(
        path_or_fileobj=b"not a SavedModel",
        path_in_repo="saved_model.pb",
        repo_id=REPO_ID,
        commit_message="Break main",
    )
    return PublishedModel(REPO_ID, pushed.oid, broken.oid)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, local_hub, published_model: PublishedModel) -> Iterator[str]:
    """The template, copied as the Space would hold it, running `python app.py` on loopback."""
    space_dir = tmp_path_factory.mktemp("space") / "app"
    shutil.copytree(template_dir(), space_dir)
    env = {
        **local_hub.client_env(),
        "MODEL_REPO_ID": published_model.repo_id,
        "MODEL_REVISION": published_model.revision,
        "HF_HOME": str(space_dir.parent / "hf_home"),
        "HF_TOKEN": "",  # a public model needs none
        "PYTHONPATH": str(SANDBOX_DIR),
        "TF_USE_LEGACY_KERAS": "0",  # not set on a Space
    }
    with serve_space_app(space_dir, env, log_path=space_dir.parent / "app.log") as url:
        yield url


@pytest.fixture(scope="session")
def expected_result(serving_model_dir: Path, palette) -> Callable[[bytes], tuple]:
    """What the app must return for an upload: the same SavedModel and logic, in this process."""
    import tensorflow as tf

    serve = tf.saved_model.load(str(serving_model_dir)).signatures["serving_default"]

    def expected(data: bytes) -> tuple[np.ndarray, dict[str, float]]:
        prepared = logic.prepare_image(data)
        raw = serve(image_bytes=tf.constant([prepared.model_bytes]))["seg_mask"].numpy()
        mask = logic.check_mask(raw, prepared.size, len(palette.classes))
        return logic.overlay_mask(prepared.pixels, mask, palette), logic.class_shares(
            mask, palette.names
        )

    return expected
