"""HFPusher: a TFX component pushing a blessed model (and its demo Space) to the Hugging Face Hub.

The access token is deliberately *not* a parameter: parameters are stored in ML Metadata and in
compiled pipeline specs. Only the name of the environment variable or Secret Manager secret that
holds it is configured here; :mod:`tfx_hf_pusher.credentials` reads it at execution time.
"""

from __future__ import annotations

import json
from typing import Any

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from tfx_hf_pusher import executor
from tfx_hf_pusher.credentials import DEFAULT_TOKEN_ENV_VAR
from tfx_hf_pusher.labels import check_labels
from tfx_hf_pusher.spec_keys import (
    CLASS_METRICS_KEY,
    DRIFT_KEY,
    ENDPOINT_KEY,
    EVALUATION_KEY,
    EXAMPLES_KEY,
    LABELS_KEY,
    MODEL_BLESSING_KEY,
    MODEL_CARD_KEY,
    MODEL_INFO_FILE_KEY,
    MODEL_KEY,
    PRIVATE_KEY,
    PUSHED_MODEL_KEY,
    REPO_ID_KEY,
    SPACE_PLACEHOLDERS_KEY,
    SPACE_PRIVATE_KEY,
    SPACE_REPO_ID_KEY,
    SPACE_SDK_KEY,
    SPACE_TEMPLATE_KEY,
    TOKEN_ENV_VAR_KEY,
    TOKEN_SECRET_KEY,
)


class HFPusherSpec(types.ComponentSpec):
    """Inputs, outputs and parameters of :class:`HFPusher`."""

    PARAMETERS = {
        REPO_ID_KEY: ExecutionParameter(type=str),
        PRIVATE_KEY: ExecutionParameter(type=int, optional=True),
        ENDPOINT_KEY: ExecutionParameter(type=str, optional=True),
        TOKEN_ENV_VAR_KEY: ExecutionParameter(type=str, optional=True),
        TOKEN_SECRET_KEY: ExecutionParameter(type=str, optional=True),
        MODEL_CARD_KEY: ExecutionParameter(type=dict[str, Any], optional=True),
        MODEL_INFO_FILE_KEY: ExecutionParameter(type=str, optional=True),
        SPACE_REPO_ID_KEY: ExecutionParameter(type=str, optional=True),
        SPACE_TEMPLATE_KEY: ExecutionParameter(type=str, optional=True),
        SPACE_SDK_KEY: ExecutionParameter(type=str, optional=True),
        SPACE_PRIVATE_KEY: ExecutionParameter(type=int, optional=True),
        SPACE_PLACEHOLDERS_KEY: ExecutionParameter(type=dict[str, str], optional=True),
        # JSON text, not dicts: TFX 1.16 JSON-decodes the values of dict parameters.
        LABELS_KEY: ExecutionParameter(type=str, optional=True),
        CLASS_METRICS_KEY: ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        MODEL_BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing, optional=True),
        EVALUATION_KEY: ChannelParameter(type=standard_artifacts.ModelEvaluation, optional=True),
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples, optional=True),
        DRIFT_KEY: ChannelParameter(type=standard_artifacts.ExampleAnomalies, optional=True),
    }
    OUTPUTS = {
        PUSHED_MODEL_KEY: ChannelParameter(type=standard_artifacts.PushedModel),
    }


class HFPusher(base_component.BaseComponent):
    """Pushes a model version to a Hub model repo and, optionally, the demo app to a Space.

    The output ``pushed_model`` (PushedModel) carries the custom properties ``pushed`` (1/0),
    ``repo_id``, ``branch``, ``commit_id``, ``repo_url``, ``space_url``, plus the standard
    Pusher's ``pushed_destination`` and ``pushed_version``.
    """

    SPEC_CLASS = HFPusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        model: types.BaseChannel,
        repo_id: str,
        *,
        model_blessing: types.BaseChannel | None = None,
        evaluation: types.BaseChannel | None = None,
        examples: types.BaseChannel | None = None,
        drift: types.BaseChannel | None = None,
        private: bool = True,
        endpoint: str | None = None,
        token_env_var: str = DEFAULT_TOKEN_ENV_VAR,
        token_secret: str | None = None,
        model_card: dict[str, Any] | None = None,
        model_info_file: str | None = None,
        space_repo_id: str | None = None,
        space_template: str | None = None,
        space_sdk: str = "gradio",
        space_private: bool = False,
        space_placeholders: dict[str, str] | None = None,
        labels: dict[str, Any] | None = None,
        class_metrics: dict[int, str] | None = None,
    ) -> None:
        """Configure the push.

        Args:
            model: Trainer's ``model`` output (a SavedModel under ``Format-Serving``).
            repo_id: model repo ``namespace/name``; created (with ``private``) if missing.
            model_blessing: Evaluator's ``blessing``; an unblessed model is not pushed.
            evaluation: Evaluator's ``evaluation``; its overall metrics go on the model card.
            examples: the Examples the model was trained on; their spans go on the card.
            drift: a DistributionValidator's ``anomalies`` for the newest data; every measured
                distance goes on the card (the drift that led to this version).
            endpoint: Hub URL; default ``$HF_ENDPOINT`` of the executor, else huggingface.co.
            token_env_var: environment variable holding the token where the executor runs.
            token_secret: GCP Secret Manager secret holding the token (wins over the variable).
            model_card: :class:`tfx_hf_pusher.model_card.CardInfo` fields (license, tags, ...).
            model_info_file: a file of the model directory holding a flat JSON object of facts
                (architecture, parameter count, ...), shown in the card's Model section and
                published with the model (the trainer writes it; the name comes from its owner).
            space_repo_id: the Space ``namespace/name``; no Space is published when unset.
            space_template: app directory (local or ``gs://``), required with ``space_repo_id``.
            space_placeholders: field (``repo_id``/``revision``/``repo_url``) -> placeholder.
            labels: the labels file published as ``labels.json`` next to ``saved_model.pb``
                (``{"classes": [{"id", "name", "color"}], "void_label"}``, e.g. a dataset
                spec's ``labels_json()``); also the model card's class table.
            class_metrics: class id -> name of the Evaluator metric holding its IoU.
        """
        if labels is not None:
            check_labels(labels)
        if bool(space_repo_id) != bool(space_template):
            raise ValueError("space_repo_id and space_template go together: set both or neither.")
        if "/" not in repo_id:
            raise ValueError(f"repo_id must be 'namespace/name', got '{repo_id}'.")
        spec = HFPusherSpec(
            **{
                MODEL_KEY: model,
                MODEL_BLESSING_KEY: model_blessing,
                EVALUATION_KEY: evaluation,
                EXAMPLES_KEY: examples,
                DRIFT_KEY: drift,
                PUSHED_MODEL_KEY: types.Channel(type=standard_artifacts.PushedModel),
                REPO_ID_KEY: repo_id,
                PRIVATE_KEY: int(private),
                ENDPOINT_KEY: endpoint,
                TOKEN_ENV_VAR_KEY: token_env_var,
                TOKEN_SECRET_KEY: token_secret,
                MODEL_CARD_KEY: model_card,
                MODEL_INFO_FILE_KEY: model_info_file,
                SPACE_REPO_ID_KEY: space_repo_id,
                SPACE_TEMPLATE_KEY: space_template,
                SPACE_SDK_KEY: space_sdk,
                SPACE_PRIVATE_KEY: int(space_private),
                SPACE_PLACEHOLDERS_KEY: space_placeholders,
                LABELS_KEY: json.dumps(labels) if labels is not None else None,
                CLASS_METRICS_KEY: json.dumps(class_metrics) if class_metrics else None,
            }
        )
        super().__init__(spec=spec)
