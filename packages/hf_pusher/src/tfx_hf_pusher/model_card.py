"""The model card (``README.md`` with YAML metadata) pushed next to the SavedModel.

The card is a pure function of its inputs (no timestamps, no run ids), so pushing the same model
version twice produces the same bytes and the Hub client skips the unchanged file.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from tfx_hf_pusher.training_data import DriftMeasurement, drift_lines

logger = logging.getLogger(__name__)

BASE_TAGS = ("tfx", "tensorflow", "saved_model")
# Storage locations that mean something only inside the pipeline's machines and buckets: a public
# card must not publish them (they reveal bucket and user names, and help nobody).
_PRIVATE_LOCATION_RE = re.compile(r"^\s*(?:(?:gs|s3|file|hdfs)://|/|~|[A-Za-z]:[\\/])")


def is_private_location(value: str) -> bool:
    """Whether ``value`` is a local absolute path or a storage URI (gs://, s3://, file://)."""
    return bool(_PRIVATE_LOCATION_RE.match(value))


def _public(what: str, value: str) -> bool:
    if is_private_location(value):
        logger.warning("Leaving %s out of the public model card: it is a private location.", what)
        return False
    return True


@dataclass(frozen=True)
class CardInfo:
    """What the pipeline knows about the model that the files do not say.

    Attributes:
        library_name: Hub library id shown on the model page.
        pipeline_tag: Hub task, e.g. ``image-segmentation``; also the task of the metrics.
        license: SPDX-like license id, e.g. ``apache-2.0``.
        tags: extra tags (``tfx``, ``tensorflow``, ``saved_model`` are always set).
        datasets: Hub dataset ids the model was trained on.
        training_data: where the training data came from (free text or URI).
        eval_dataset: name of the data the metrics were computed on.
        description: a paragraph for the top of the card.
    """

    library_name: str = "tf-keras"
    pipeline_tag: str | None = None
    license: str | None = None
    tags: Sequence[str] = ()
    datasets: Sequence[str] = ()
    training_data: str = ""
    eval_dataset: str = "evaluation split"
    description: str = ""

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> CardInfo:
        """Build from a pipeline parameter dict, rejecting unknown keys by name."""
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"Unknown model_card keys {unknown}; expected some of {sorted(known)}."
            )
        for key in ("tags", "datasets"):
            if isinstance(values.get(key), str):
                raise ValueError(f"model_card['{key}'] must be a list of strings, not a string.")
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


@dataclass(frozen=True)
class ModelFacts:
    """Facts about one pushed version, filled in by the publisher."""

    repo_id: str
    branch: str
    version: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    signatures: Mapping[str, str] = field(default_factory=dict)
    pipeline: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, Any] | None = None  # the labels file (tfx_hf_pusher.labels)
    class_metrics: Mapping[int, str] = field(default_factory=dict)  # class id -> IoU metric
    details: Mapping[str, str | int | float] = field(default_factory=dict)  # what the model is
    training_spans: Sequence[int] = ()  # the data spans it was trained on
    drift: Sequence[DriftMeasurement] | None = None  # None: drift was not measured


def build_model_card(info: CardInfo, facts: ModelFacts) -> str:
    """Render the README: Hub metadata (with ``model-index`` for metrics) plus a short body."""
    metrics = {k: v for k, v in sorted(facts.metrics.items()) if math.isfinite(v)}
    pipeline = {k: v for k, v in facts.pipeline.items() if _public(f"provenance '{k}'", str(v))}
    training_data = info.training_data if _public("training_data", info.training_data) else ""
    details = {k: v for k, v in sorted(facts.details.items()) if _public(f"detail '{k}'", str(v))}
    eval_results = [
        EvalResult(
            task_type=info.pipeline_tag or "other",
            dataset_type=info.datasets[0] if info.datasets else "custom",
            dataset_name=info.eval_dataset,
            metric_type=name,
            metric_name=name,
            metric_value=round(value, 6),
        )
        for name, value in metrics.items()
    ]
    data = ModelCardData(
        library_name=info.library_name,
        pipeline_tag=info.pipeline_tag,
        license=info.license,
        tags=list(dict.fromkeys([*BASE_TAGS, *info.tags])),
        datasets=list(info.datasets) or None,
        model_name=facts.repo_id.split("/")[-1] if eval_results else None,
        eval_results=eval_results or None,
        model_version=facts.version,
        tfx_pipeline=pipeline or None,
        model_details=details or None,
        training_spans=list(facts.training_spans) or None,
        drifted_features=(
            sorted({m.feature for m in facts.drift if m.drifted}) if facts.drift else None
        ),
    )
    body = [f"# {facts.repo_id.split('/')[-1]}", ""]
    if info.description:
        body += [info.description, ""]
    body += [
        "## Version",
        "",
        f"Model version `{facts.version}` (a digest of the SavedModel files), published on the "
        f"branch `{facts.branch}`. Every version has its own branch; each push is one commit.",
        "",
        "## Usage",
        "",
        "```python",
        "import tensorflow as tf",
        "from huggingface_hub import snapshot_download",
        "",
        f'path = snapshot_download("{facts.repo_id}", revision="{facts.branch}")',
        "model = tf.saved_model.load(path)",
        "```",
        "",
    ]
    if details:
        body += ["## Model", "", "| detail | value |", "|---|---|"]
        body += [f"| {name} | {_detail_text(value)} |" for name, value in details.items()]
        body.append("")
    if facts.signatures:
        body += ["## Serving signatures", ""]
        body += [f"- `{name}`: {text}" for name, text in sorted(facts.signatures.items())]
        body.append("")
    if facts.labels:
        body += _class_table(facts.labels, facts.class_metrics, metrics)
    spans = ", ".join(str(span) for span in facts.training_spans)
    spans_item = f"data spans {spans}" if len(facts.training_spans) > 1 else f"data span {spans}"
    if training_data or info.datasets or spans:
        body += ["## Training data", ""]
        body += [f"- {item}" for item in (training_data, *info.datasets) if item]
        body += [f"- {spans_item}"] if spans else []
        body.append("")
    if facts.drift is not None:
        body += drift_lines(facts.drift)
    if metrics:
        body += [f"## Evaluation ({info.eval_dataset})", "", "| metric | value |", "|---|---|"]
        body += [f"| {name} | {value:.4f} |" for name, value in metrics.items()]
        body.append("")
    if pipeline:
        body += ["## Provenance", ""]
        body += [f"- {key}: `{value}`" for key, value in sorted(pipeline.items())]
        body.append("")
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(body)))


def _class_table(
    labels: Mapping[str, Any], class_metrics: Mapping[int, str], metrics: Mapping[str, float]
) -> list[str]:
    """Markdown table of the output classes: id, name, colour, IoU (when evaluated)."""
    from tfx_hf_pusher.labels import LABELS_FILE, hex_color

    void = labels.get("void_label")
    lines = [
        "## Classes",
        "",
        f"The `seg_mask` output holds these class ids (also in `{LABELS_FILE}`, next to "
        "`saved_model.pb`)." + (" The void class is never scored." if void is not None else ""),
        "",
        "| id | class | colour | IoU |",
        "|---|---|---|---|",
    ]
    for entry in labels["classes"]:
        class_id, color = entry["id"], hex_color(entry["color"])
        metric = class_metrics.get(class_id)
        if class_id == void:
            iou = "void (not scored)"
        elif metric in metrics:
            iou = f"{metrics[metric]:.4f}"
        else:
            iou = "-"
        name = str(entry["name"]).replace("|", "\\|")
        lines.append(f"| {class_id} | {name} | `{color}` | {iou} |")
    return [*lines, ""]


def _detail_text(value: str | int | float) -> str:
    """Integers with thousands separators (parameter counts), the rest as they are."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def describe_signatures(model_dir: str | os.PathLike[str]) -> dict[str, str]:
    """One line per serving signature (inputs -> outputs), read from ``saved_model.pb``.

    Parses the proto only; the model is not loaded.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(model_dir, "saved_model.pb"), "rb") as handle:
        proto.ParseFromString(handle.read())
    if not proto.meta_graphs:
        return {}

    def tensors(mapping: Any) -> str:
        parts = []
        for name, info in sorted(mapping.items()):
            dtype = _dtype_name(info.dtype)
            dims = [str(d.size) if d.size >= 0 else "None" for d in info.tensor_shape.dim]
            shape = "?" if info.tensor_shape.unknown_rank else f"[{', '.join(dims)}]"
            parts.append(f"`{name}` {dtype}{shape}")
        return ", ".join(parts) or "none"

    signatures = proto.meta_graphs[0].signature_def
    return {
        name: f"{tensors(sig.inputs)} -> {tensors(sig.outputs)}"
        for name, sig in signatures.items()
        if not name.startswith("__")
    }


def _dtype_name(dtype: int) -> str:
    from tensorflow.core.framework import types_pb2

    return types_pb2.DataType.Name(dtype).removeprefix("DT_").lower()


def read_tfma_metrics(evaluation_uri: str) -> dict[str, float]:
    """Overall-slice metrics of the candidate model from an Evaluator (TFMA) output directory.

    Baseline-model metrics and diffs against the baseline are left out; metrics of other
    outputs or sub-keys are named ``output/sub_key/name``.
    """
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.writers import eval_config_writer

    eval_config = eval_config_writer.load_eval_run(evaluation_uri)[0]
    baselines = {spec.name for spec in eval_config.model_specs if spec.is_baseline}
    metrics: dict[str, float] = {}
    for record in tfma.load_metrics(evaluation_uri):
        if record.slice_key.single_slice_keys or record.HasField("cross_slice_key"):
            continue  # only the overall slice goes on the card
        for item in record.metric_keys_and_values:
            key, value = item.key, item.value
            if key.is_diff or key.model_name in baselines:
                continue
            number = _metric_number(value)
            if number is None:
                continue
            sub_key = str(key.sub_key).strip().replace("\n", " ") if key.HasField("sub_key") else ""
            name = "/".join(part for part in (key.output_name, sub_key, key.name) if part)
            metrics[name] = number
    return metrics


def _metric_number(value: Any) -> float | None:
    if value.HasField("double_value"):
        return value.double_value.value
    if value.HasField("bounded_value"):
        return value.bounded_value.value.value
    return None
