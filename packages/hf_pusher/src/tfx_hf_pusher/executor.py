"""HFPusher executor: checks the blessing, reads the token, calls :func:`publish.publish_model`.

It follows the standard Pusher's conventions (``blessed`` custom property, ``Format-Serving``
model dir, ``pushed``/``pushed_destination``/``pushed_version`` output properties) without
importing ``tfx.components``, which loads every standard component. It only reads its inputs:
nothing is written into input artifact directories.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from tfx_hf_pusher import credentials, publish
from tfx_hf_pusher import spec_keys as keys
from tfx_hf_pusher.model_card import CardInfo, read_tfma_metrics
from tfx_hf_pusher.training_data import read_drift, training_spans

logger = logging.getLogger(__name__)


class Executor(base_executor.BaseExecutor):
    """Pushes the model (and the Space app) to the Hugging Face Hub when it is blessed."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        """Push unless the blessing says no; the token is read here, never from parameters."""
        self._log_startup(input_dict, output_dict, exec_properties)
        pushed_model = artifact_utils.get_single_instance(output_dict[keys.PUSHED_MODEL_KEY])
        blessings = input_dict.get(keys.MODEL_BLESSING_KEY) or []
        if blessings and blessings[0].get_int_custom_property("blessed") != 1:
            logger.info("Model not blessed by %s: not pushing.", blessings[0].uri)
            pushed_model.set_int_custom_property(keys.PUSHED_PROPERTY, 0)
            return

        model_artifact = artifact_utils.get_single_instance(input_dict[keys.MODEL_KEY])
        model_dir = path_utils.serving_model_path(
            model_artifact.uri, path_utils.is_old_model_artifact(model_artifact)
        )
        env_var = exec_properties.get(keys.TOKEN_ENV_VAR_KEY) or credentials.DEFAULT_TOKEN_ENV_VAR
        secret = exec_properties.get(keys.TOKEN_SECRET_KEY) or None
        token = credentials.resolve_token(env_var, secret)
        evaluations = input_dict.get(keys.EVALUATION_KEY) or []
        metrics = read_tfma_metrics(evaluations[0].uri) if evaluations else {}
        spans = training_spans(_span(a) for a in input_dict.get(keys.EXAMPLES_KEY) or [])
        drift_inputs = input_dict.get(keys.DRIFT_KEY)
        drift = read_drift(drift_inputs[0].uri) if drift_inputs else None
        space = None
        if exec_properties.get(keys.SPACE_REPO_ID_KEY):
            space = publish.SpaceConfig(
                repo_id=exec_properties[keys.SPACE_REPO_ID_KEY],
                template=exec_properties[keys.SPACE_TEMPLATE_KEY],
                sdk=exec_properties.get(keys.SPACE_SDK_KEY) or "gradio",
                private=bool(exec_properties.get(keys.SPACE_PRIVATE_KEY, 0)),
                placeholders=_json_dict(exec_properties.get(keys.SPACE_PLACEHOLDERS_KEY))
                or dict(publish.DEFAULT_PLACEHOLDERS),
            )
        labels = _json_dict(exec_properties.get(keys.LABELS_KEY)) or None
        class_metrics = {
            int(class_id): name
            for class_id, name in _json_dict(exec_properties.get(keys.CLASS_METRICS_KEY)).items()
        }
        result = publish.publish_model(
            model_dir,
            repo_id=exec_properties[keys.REPO_ID_KEY],
            token=token,
            endpoint=exec_properties.get(keys.ENDPOINT_KEY) or None,
            # unset -> private, the safe default
            private=exec_properties.get(keys.PRIVATE_KEY) != 0,
            card=CardInfo.from_dict(_json_dict(exec_properties.get(keys.MODEL_CARD_KEY))),
            metrics=metrics,
            pipeline=self._provenance(),
            space=space,
            labels=labels,
            class_metrics=class_metrics,
            model_info_file=exec_properties.get(keys.MODEL_INFO_FILE_KEY) or None,
            training_spans=spans,
            drift=drift,
            token_source=f"the token from Secret Manager ({secret})"
            if secret
            else f"the token in ${env_var}",
        )
        pushed_model.set_int_custom_property(keys.PUSHED_PROPERTY, 1)
        pushed_model.set_string_custom_property(keys.PUSHED_DESTINATION_PROPERTY, result.repo_url)
        pushed_model.set_string_custom_property(keys.PUSHED_VERSION_PROPERTY, result.version)
        for key in keys.RESULT_PROPERTIES:
            pushed_model.set_string_custom_property(key, getattr(result, key))

    def _provenance(self) -> dict[str, str]:
        """Stable facts about where the model came from, fit for a public card: pipeline and
        component names (no run id, so the card stays idempotent; no artifact URI, a private
        local or gs:// location that ML Metadata already records)."""
        facts: dict[str, str] = {}
        if self._context is not None and self._context.pipeline_info is not None:
            facts["pipeline"] = self._context.pipeline_info.id
        if self._context is not None and self._context.pipeline_node is not None:
            facts["component"] = self._context.pipeline_node.node_info.id
        return facts


def _span(examples: types.Artifact) -> int | None:
    """ExampleGen's span of an Examples artifact (ML Metadata may hold it as a custom property)."""
    if examples.has_custom_property("span"):
        return examples.get_int_custom_property("span")
    return examples.span if examples.has_property("span") else None


def _json_dict(value: Any) -> dict[str, Any]:
    """TFX hands dict parameters to executors as JSON strings."""
    if not value:
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise ValueError(f"Expected a dict parameter, got {type(value).__name__}.")
    return value
