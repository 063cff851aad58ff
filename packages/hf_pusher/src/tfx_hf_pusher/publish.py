"""Publish a SavedModel version (and optionally its demo Space) to the Hugging Face Hub.

Plain Python over ``huggingface_hub.HfApi`` (HTTP API, no git): callable and testable without
TFX. The TFX executor is a thin wrapper around :func:`publish_model`; the Hub calls (retries,
timeouts, idempotent commits) are :mod:`tfx_hf_pusher.hub_client`'s job, reading the files
(local, ``gs://``, the Space template) :mod:`tfx_hf_pusher.sources`'.

Model repo layout: one branch per model version, ``v<version>``, where the version is a digest of
the SavedModel files (so a re-run of the same model lands on the same branch), and one atomic
commit per push holding the SavedModel files and the model card; files of an earlier push to the
branch that are not part of this one are deleted in the same commit. Unchanged content makes no
commit at all: the Hub client drops unchanged files, and an empty commit is skipped.

Space: the app template is read before anything is pushed, its placeholders are replaced in
memory in its text files only (the template itself is never modified), and the result is
committed to the Space's ``main`` branch, pinned to the model commit just pushed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import HfApi
from huggingface_hub.constants import SPACES_SDK_TYPES

from tfx_hf_pusher.endpoints import endpoint_problem
from tfx_hf_pusher.errors import HubAuthError, PublishError
from tfx_hf_pusher.hub_client import HubClient, RetryPolicy
from tfx_hf_pusher.labels import LABELS_FILE, labels_file
from tfx_hf_pusher.model_card import CardInfo, ModelFacts, build_model_card, describe_signatures
from tfx_hf_pusher.sources import load_template, local_copy, render_template, walk_files
from tfx_hf_pusher.training_data import DriftMeasurement

__all__ = [
    "DEFAULT_PLACEHOLDERS",
    "HubAuthError",
    "PublishError",
    "PublishResult",
    "RetryPolicy",
    "SpaceConfig",
    "model_version",
    "publish_model",
]

logger = logging.getLogger(__name__)

BRANCH_PREFIX = "v"
VERSION_LENGTH = 12
# Space placeholders, field -> text replaced in the template's text files.
DEFAULT_PLACEHOLDERS: Mapping[str, str] = {
    "repo_id": "%%MODEL_REPO_ID%%",
    "revision": "%%MODEL_REVISION%%",
    "repo_url": "%%MODEL_REPO_URL%%",
}


@dataclass(frozen=True)
class SpaceConfig:
    """Where and how to publish the demo app.

    Attributes:
        repo_id: the Space, ``namespace/name``.
        template: directory of the app (local path or ``gs://bucket/prefix``).
        sdk: Space SDK used when the Space is created.
        private: visibility when the Space is created (an existing Space keeps its own).
        placeholders: field (``repo_id``, ``revision``, ``repo_url``) -> text to replace.
    """

    repo_id: str
    template: str
    sdk: str = "gradio"
    private: bool = False
    placeholders: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_PLACEHOLDERS))

    def __post_init__(self) -> None:
        unknown = sorted(set(self.placeholders) - set(DEFAULT_PLACEHOLDERS))
        if unknown:
            raise ValueError(
                f"Unknown Space placeholder fields {unknown}; use {sorted(DEFAULT_PLACEHOLDERS)}."
            )
        if any(not text for text in self.placeholders.values()):
            raise ValueError("Space placeholders must be non-empty strings.")
        if self.sdk not in SPACES_SDK_TYPES:
            raise ValueError(f"space_sdk '{self.sdk}' is not one of {SPACES_SDK_TYPES}.")


@dataclass(frozen=True)
class PublishResult:
    """What was published; the TFX executor copies these onto the PushedModel artifact."""

    repo_id: str
    version: str
    branch: str
    commit_id: str
    repo_url: str  # the model repo page at the version branch
    space_url: str = ""
    space_commit_id: str = ""


def model_version(model_dir: str | os.PathLike[str]) -> str:
    """Digest of a SavedModel directory: relative paths and contents of every file.

    Each entry is framed (name length, name, content length, content), so no two different
    file sets share the byte stream that is hashed.
    """
    digest = hashlib.sha256(b"tfx-hf-pusher model version 2\n")
    for relative, path in walk_files(Path(model_dir)):
        name = relative.encode("utf-8")
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(path.stat().st_size.to_bytes(8, "big"))
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:VERSION_LENGTH]


def publish_model(
    model_dir: str | os.PathLike[str],
    *,
    repo_id: str,
    token: str,
    endpoint: str | None = None,
    private: bool = True,
    version: str | None = None,
    card: CardInfo | None = None,
    metrics: Mapping[str, float] | None = None,
    pipeline: Mapping[str, str] | None = None,
    space: SpaceConfig | None = None,
    labels: Mapping[str, object] | None = None,
    class_metrics: Mapping[int, str] | None = None,
    model_info_file: str | None = None,
    training_spans: Sequence[int] = (),
    drift: Sequence[DriftMeasurement] | None = None,
    token_source: str = "the token",  # noqa: S107 (a description, not a secret)
    retry: RetryPolicy | None = None,
) -> PublishResult:
    """Push ``model_dir`` (a SavedModel, local or ``gs://``) to ``repo_id`` and the Space.

    Args:
        model_dir: the SavedModel directory.
        repo_id: model repo ``namespace/name``; created (with ``private``) if missing.
        token: Hub access token with write access; only ever handed to the Hub client.
        endpoint: Hub URL; default ``$HF_ENDPOINT`` at call time, else huggingface.co.
        private: visibility of a newly created model repo.
        version: branch suffix; default :func:`model_version` of the files.
        card: what the model card says beyond the files.
        metrics: evaluation metrics for the card.
        pipeline: provenance facts for the card (local/``gs://`` paths are left out).
        space: also publish the demo app, pinned to the pushed model commit.
        labels: the labels file (``tfx_hf_pusher.labels``), published as ``labels.json`` next
            to ``saved_model.pb`` and shown as the card's class table.
        class_metrics: class id -> name of its IoU metric in ``metrics``, for the class table.
        model_info_file: name of a file in ``model_dir`` holding a flat JSON object of facts
            about the model (architecture, parameter count, ...) for the card's Model section.
        training_spans: the data spans the model was trained on, for the card.
        drift: the drift measured on the newest data before training, for the card (None:
            not measured; empty: measured, with no earlier data to compare with).
        token_source: where the token came from, named in auth errors (never the value).
        retry: retry bound and per-request timeouts.

    Raises:
        HubAuthError: the Hub rejected the token or its permissions.
        PublishError: anything else, with the failed step in the message.
    """
    if not token:
        raise PublishError("An empty Hugging Face token was given.")
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
    if problem := endpoint_problem(endpoint):
        raise PublishError(f"Cannot publish to the Hub at {problem}.")
    hub = HubClient(HfApi(endpoint=endpoint, token=token), retry or RetryPolicy(), token_source)
    # Read the app first: a bad template must fail before anything is pushed.
    template = load_template(space.template) if space is not None else {}
    labels_bytes = labels_file(labels) if labels is not None else None
    with local_copy(str(model_dir)) as local_dir:
        if not (local_dir / "saved_model.pb").is_file():
            raise PublishError(f"{model_dir} is not a SavedModel directory (no saved_model.pb).")
        version = version or model_version(local_dir)
        branch = f"{BRANCH_PREFIX}{version}"
        readme = build_model_card(
            card or CardInfo(),
            ModelFacts(
                repo_id=repo_id,
                branch=branch,
                version=version,
                metrics=dict(metrics or {}),
                signatures=describe_signatures(local_dir),
                pipeline=dict(pipeline or {}),
                labels=labels,
                class_metrics=dict(class_metrics or {}),
                details=read_model_details(local_dir, model_info_file) if model_info_file else {},
                training_spans=tuple(training_spans),
                drift=tuple(drift) if drift is not None else None,
            ),
        )
        files: dict[str, bytes | str] = {rel: str(path) for rel, path in walk_files(local_dir)}
        if "README.md" in files:
            raise PublishError(
                f"{model_dir} contains a README.md; the model card would replace it."
            )
        files["README.md"] = readme.encode()
        if labels_bytes is not None:
            if LABELS_FILE in files:
                raise PublishError(
                    f"{model_dir} contains a {LABELS_FILE}; the labels given would replace it."
                )
            files[LABELS_FILE] = labels_bytes
        logger.info("Publishing %d files of model version %s to %s", len(files), version, repo_id)
        hub.call(
            f"create model repo {repo_id}",
            lambda: hub.api.create_repo(repo_id, private=private, exist_ok=True),
        )
        commit_id = hub.commit(repo_id, "model", branch, files, message=f"Model version {version}")
    repo_url = f"{endpoint}/{repo_id}/tree/{branch}"
    logger.info("Model version %s is at %s (commit %s)", version, repo_url, commit_id)
    result = PublishResult(repo_id, version, branch, commit_id, repo_url)
    if space is None:
        return result
    values = {"repo_id": repo_id, "revision": commit_id, "repo_url": f"{endpoint}/{repo_id}"}
    space_commit = _publish_space(hub, space, template, values)
    space_url = f"{endpoint}/spaces/{space.repo_id}"
    logger.info("Space %s now serves model commit %s", space_url, commit_id)
    return PublishResult(repo_id, version, branch, commit_id, repo_url, space_url, space_commit)


def read_model_details(model_dir: Path, file_name: str) -> dict[str, str | int | float]:
    """The flat JSON object ``file_name`` in ``model_dir``; PublishError when absent or not one."""
    path = model_dir / file_name
    if not path.is_file():
        raise PublishError(
            f"{file_name} is missing from the model directory (model_info_file names it); "
            "re-export the model, or leave model_info_file unset"
        )
    try:
        details = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PublishError(f"{file_name} in the model directory is not JSON: {error}") from None
    if not isinstance(details, dict) or not all(
        isinstance(value, (str, int, float)) and not isinstance(value, bool)
        for value in details.values()
    ):
        raise PublishError(
            f"{file_name} must hold a flat JSON object of strings and numbers, got {details!r}"
        )
    return details


def _publish_space(
    hub: HubClient, space: SpaceConfig, template: Mapping[str, bytes], values: Mapping[str, str]
) -> str:
    """Commit the rendered app to the Space's main branch; return the commit id."""
    replacements = {space.placeholders[name]: values[name] for name in space.placeholders}
    rendered: dict[str, bytes | str] = dict(render_template(template, replacements))
    hub.call(
        f"create Space {space.repo_id}",
        lambda: hub.api.create_repo(
            space.repo_id,
            repo_type="space",
            space_sdk=space.sdk,
            private=space.private,
            exist_ok=True,
        ),
    )
    return hub.commit(
        space.repo_id,
        "space",
        "main",
        rendered,
        message=f"Serve {values['repo_id']}@{values['revision'][:12]}",
    )
