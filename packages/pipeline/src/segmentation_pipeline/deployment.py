"""The model in production and what it scored when it was blessed, read from ML Metadata.

The deployed model is the newest PushedModel artifact of the pipeline's Pusher that was really
pushed (`pushed` = 1); its SavedModel is where the Pusher copied it (`pushed_destination`).
The metrics recorded at blessing are the Evaluator's candidate metrics (TFMA, overall slice)
of the pipeline run that pushed it. Monitoring compares them with the model's scores on new data.
"""

from __future__ import annotations

from dataclasses import dataclass

from segmentation_pipeline.node_ids import EVALUATOR, PUSHER

_RUN_CONTEXT = "pipeline_run"
_NODE_CONTEXT = "node"


class NoDeploymentError(LookupError):
    """Nothing was pushed yet (or the ML Metadata database does not exist)."""


@dataclass(frozen=True)
class Deployment:
    model_dir: str  # the pushed SavedModel
    version: str  # the Pusher's pushed_version
    source: str  # where it was found: the pipeline run that pushed it, or a Hub revision
    recorded: dict[str, float]  # metrics at blessing: TFMA names (mean_iou, iou_<class>, ...)


def last_deployment(metadata_path: str, pipeline_name: str) -> Deployment:
    """The newest model the Pusher of `pipeline_name` pushed, with its metrics at blessing.

    Raises:
        NoDeploymentError: no ML Metadata, no run, or no pushed model yet.
    """
    from ml_metadata.proto import metadata_store_pb2
    from tfx_hf_pusher.model_card import read_tfma_metrics

    from segmentation_pipeline.run_summary import open_store

    try:
        store = open_store(metadata_path)
    except FileNotFoundError as error:
        raise NoDeploymentError(str(error)) from None
    pusher = store.get_context_by_type_and_name(_NODE_CONTEXT, f"{pipeline_name}.{PUSHER}")
    if pusher is None:
        raise NoDeploymentError(f"pipeline {pipeline_name!r} has no Pusher in {metadata_path}")
    pushed = [
        artifact
        for artifact in store.get_artifacts_by_context(pusher.id)
        if artifact.custom_properties["pushed"].int_value == 1
    ]
    if not pushed:
        raise NoDeploymentError(
            f"pipeline {pipeline_name!r} has pushed no model yet (none was blessed); run it "
            "until a model is blessed"
        )
    latest = max(pushed, key=lambda a: (a.create_time_since_epoch, a.id))
    output = metadata_store_pb2.Event.OUTPUT
    events = store.get_events_by_artifact_ids([latest.id])
    execution_id = next(e.execution_id for e in events if e.type == output)
    run = next(c for c in store.get_contexts_by_execution(execution_id) if c.type == _RUN_CONTEXT)
    evaluator = store.get_context_by_type_and_name(_NODE_CONTEXT, f"{pipeline_name}.{EVALUATOR}")
    run_executions = {e.id for e in store.get_executions_by_context(run.id)}
    evaluator_executions = [
        e.id for e in store.get_executions_by_context(evaluator.id) if e.id in run_executions
    ]
    evaluations = [
        artifact
        for event in store.get_events_by_execution_ids(evaluator_executions)
        if event.type == output and event.path.steps[0].key == "evaluation"
        for artifact in store.get_artifacts_by_id([event.artifact_id])
    ]
    if not evaluations:
        raise NoDeploymentError(f"run {run.name} pushed a model but recorded no evaluation")
    evaluation_uri = evaluations[-1].uri
    return Deployment(
        model_dir=latest.custom_properties["pushed_destination"].string_value,
        version=latest.custom_properties["pushed_version"].string_value,
        source=f"pipeline run {run.name}",
        recorded=read_tfma_metrics(evaluation_uri),
    )
