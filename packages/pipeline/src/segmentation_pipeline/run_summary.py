"""What the last run did, read back from ML Metadata: per component state, wall time, results.

Used by the local runner, the demo and the benchmark, so the figures people see are the ones
TFX recorded (execution create/last-update times), not a separate stopwatch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

_RUN_CONTEXT = "pipeline_run"
_NODE_CONTEXT = "node"
# Artifact custom properties that are TFX bookkeeping, not results.
_INTERNAL_PROPERTIES = {"tfx_version", "state", "is_external", "producer_component"}
_STATE_NAMES = {
    metadata_store_pb2.Execution.COMPLETE: "complete",
    metadata_store_pb2.Execution.CACHED: "cached",
    metadata_store_pb2.Execution.FAILED: "FAILED",
    metadata_store_pb2.Execution.RUNNING: "running",
    metadata_store_pb2.Execution.CANCELED: "canceled",
    metadata_store_pb2.Execution.NEW: "new",
}


@dataclass
class ComponentRun:
    node_id: str
    state: str
    seconds: float
    execution_id: int  # its ML Metadata execution, for reading what it consumed
    outputs: dict[str, list[str]] = field(default_factory=dict)  # output key -> artifact URIs
    results: dict[str, str] = field(default_factory=dict)  # name -> value, for people


@dataclass
class RunSummary:
    run_id: str
    components: list[ComponentRun]

    @property
    def total_seconds(self) -> float:
        return sum(component.seconds for component in self.components)

    def component(self, node_id: str) -> ComponentRun:
        for component in self.components:
            if component.node_id == node_id:
                return component
        raise KeyError(f"no execution of {node_id!r} in run {self.run_id}")


def span_of(artifact: metadata_store_pb2.Artifact) -> int:
    """The span of an Examples or statistics artifact (TFX 1.16 records it as a custom
    property; artifact types that declare it hold it as a property)."""
    if "span" in artifact.custom_properties:
        return artifact.custom_properties["span"].int_value
    return artifact.properties["span"].int_value


def input_spans(metadata_path: str, component: ComponentRun) -> list[int]:
    """Spans of the Examples a component's execution read, ascending (e.g. the Transform's: the
    training window)."""
    store = open_store(metadata_path)
    ids = [
        event.artifact_id
        for event in store.get_events_by_execution_ids([component.execution_id])
        if event.type == metadata_store_pb2.Event.INPUT and event.path.steps[0].key == "examples"
    ]
    return sorted(span_of(a) for a in store.get_artifacts_by_id(ids))


def open_store(metadata_path: str) -> metadata_store.MetadataStore:
    if not os.path.exists(metadata_path):
        raise FileNotFoundError(f"No ML Metadata database at {metadata_path}: nothing has run yet")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def read_latest_run(metadata_path: str, pipeline_name: str) -> RunSummary:
    """The most recent pipeline run of `pipeline_name` in the SQLite ML Metadata at the path."""
    store = open_store(metadata_path)
    pipeline_context = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline_context is None:
        raise LookupError(f"pipeline {pipeline_name!r} has no runs in {metadata_path}")
    run_ids = {
        context.id
        for execution in store.get_executions_by_context(pipeline_context.id)
        for context in store.get_contexts_by_execution(execution.id)
        if context.type == _RUN_CONTEXT
    }
    if not run_ids:
        raise LookupError(f"pipeline {pipeline_name!r} has no runs in {metadata_path}")
    run = max(store.get_contexts_by_id(list(run_ids)), key=lambda c: c.create_time_since_epoch)
    return _summarize(store, run, pipeline_name)


def _summarize(
    store: metadata_store.MetadataStore, run: metadata_store_pb2.Context, pipeline_name: str
) -> RunSummary:
    components = []
    executions = sorted(
        store.get_executions_by_context(run.id), key=lambda e: e.create_time_since_epoch
    )
    for execution in executions:
        node_id = next(
            (
                context.name.removeprefix(f"{pipeline_name}.")
                for context in store.get_contexts_by_execution(execution.id)
                if context.type == _NODE_CONTEXT
            ),
            execution.type,
        )
        seconds = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1e3
        component = ComponentRun(
            node_id, _STATE_NAMES.get(execution.last_known_state, "?"), seconds, execution.id
        )
        _collect_outputs(store, execution.id, component)
        components.append(component)
    return RunSummary(run.name, components)


def _collect_outputs(
    store: metadata_store.MetadataStore, execution_id: int, component: ComponentRun
) -> None:
    events = [
        event
        for event in store.get_events_by_execution_ids([execution_id])
        if event.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
    ]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    for event in events:
        key = event.path.steps[0].key if event.path.steps else "output"
        artifact = artifacts[event.artifact_id]
        component.outputs.setdefault(key, []).append(artifact.uri)
        for name, value in artifact.custom_properties.items():
            if name in _INTERNAL_PROPERTIES or name.startswith("__"):
                continue
            shown = _property_text(value)
            if shown:
                component.results[f"{key}.{name}"] = shown


def _property_text(value: metadata_store_pb2.Value) -> str:
    kind = value.WhichOneof("value")
    if kind == "struct_value":
        from google.protobuf import json_format

        return json_format.MessageToJson(value.struct_value, indent=None, sort_keys=True)
    if kind == "proto_value":
        return ""
    return str(getattr(value, kind)) if kind else ""


def evaluation_results(evaluation_uri: str, class_names: Sequence[str] = ()) -> dict[str, str]:
    """Overall-slice metrics of candidate (and baseline, and their difference) + the verdict;
    with the dataset's `class_names`, also every class's IoU on one line per model."""
    import tensorflow_model_analysis as tfma

    results: dict[str, str] = {}
    for metrics in tfma.load_metrics(evaluation_uri):
        if metrics.slice_key.single_slice_keys:
            continue  # only the overall slice
        for entry in metrics.metric_keys_and_values:
            key, value = entry.key, entry.value
            if not value.HasField("double_value"):
                continue
            role = "diff" if key.is_diff else (key.model_name or "candidate")
            results[f"{key.name} [{role}]"] = f"{value.double_value.value:.4f}"
    for role in ("candidate", "baseline"):
        if line := class_iou_line(results, role, class_names):
            results[f"per-class IoU [{role}]"] = line
    validation = tfma.load_validation_result(evaluation_uri)
    results["blessed"] = str(validation.validation_ok)
    failures = [
        f"{failure.metric_key.name}{' (vs baseline)' if failure.metric_key.is_diff else ''}: "
        f"{failure.message}"
        for per_slice in validation.metric_validations_per_slice
        for failure in per_slice.failures
    ]
    if failures:
        results["failed thresholds"] = "; ".join(failures)
    return results


def class_iou_line(results: dict[str, str], role: str, class_names: Sequence[str]) -> str:
    """'pet 0.81 | background 0.95 | border 0.00': the IoU of every class that has one (the
    void class has none) on one line, in label order ('' if none)."""
    from segmentation_model import metrics

    shown = [
        f"{name} {results[key]}"
        for name, metric in zip(class_names, metrics.class_iou_names(class_names))
        if (key := f"{metric} [{role}]") in results
    ]
    return " | ".join(shown)


def format_summary(summary: RunSummary, extra: dict[str, dict[str, str]] | None = None) -> str:
    """Table of components with state and wall time, then each component's results."""
    extra = extra or {}
    width = max(len(component.node_id) for component in summary.components)
    lines = [f"Run {summary.run_id}", f"  {'component':<{width}}  {'state':<9} {'wall s':>8}"]
    for component in summary.components:
        lines.append(
            f"  {component.node_id:<{width}}  {component.state:<9} {component.seconds:8.1f}"
        )
    lines.append(f"  {'total':<{width}}  {'':<9} {summary.total_seconds:8.1f}")
    for component in summary.components:
        results = {**component.results, **extra.get(component.node_id, {})}
        if results:
            lines.append(f"{component.node_id}:")
            lines.extend(f"  {name}: {value}" for name, value in sorted(results.items()))
    return "\n".join(lines)
