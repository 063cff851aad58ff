"""Test helper (also used by the benchmark): put a SavedModel on a (local) Hub as a model repo."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

LABELS_FILE = "labels.json"  # the app reads it next to saved_model.pb (docs/ARCHITECTURE.md)


def upload_model_repo(
    hub_url: str,
    token: str,
    repo_id: str,
    model_dir: str | os.PathLike,
    labels: dict | None = None,
) -> str:
    """Upload a SavedModel with the real client, with `labels` as labels.json beside it when
    given; returns the commit sha."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub_url, token=token)
    api.create_repo(repo_id, exist_ok=True)
    with tempfile.TemporaryDirectory() as staging:
        folder = Path(staging) / "model"
        shutil.copytree(model_dir, folder)
        if labels is not None:
            (folder / LABELS_FILE).write_text(json.dumps(labels), encoding="utf-8")
        commit = api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message="Model")
    return commit.oid
