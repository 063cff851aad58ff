"""AnomaliesGate: stops the run before Transform when ExampleValidator found anomalies.

TFX 1.16's ExampleValidator records anomalies (and a per-split `blessed` property) but never
fails the run, and Transform/Trainer do not read its output. The gate consumes the anomalies and
the imported schema and re-emits the schema only when every split is clean; Transform and
Trainer take their schema from the gate, so a bad dataset cannot reach training on any runner
(a data dependency, not an orchestrator-specific ordering hint).
"""

# No `from __future__ import annotations`: TFX reads the component's annotations as types.
import os

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts

_ANOMALIES_FILE = "SchemaDiff.pb"


class DataAnomaliesError(RuntimeError):
    """The dataset violates the schema; the message lists every anomaly per split."""


def describe_anomalies(anomalies_uri: str, split_names: "list[str]") -> "list[str]":
    """One line per anomaly found by ExampleValidator, e.g. 'eval: height: Out-of-range ...'."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    problems = []
    for split in split_names:
        path = os.path.join(anomalies_uri, f"Split-{split}", _ANOMALIES_FILE)
        if not fileio.exists(path):
            raise FileNotFoundError(
                f"ExampleValidator wrote no anomalies file for split {split!r}: {path}"
            )
        with fileio.open(path, "rb") as handle:
            anomalies = anomalies_pb2.Anomalies.FromString(handle.read())
        for feature, info in sorted(anomalies.anomaly_info.items()):
            reasons = "; ".join(f"{r.short_description}: {r.description}" for r in info.reason)
            problems.append(f"{split}: feature {feature!r}: {reasons or info.description}")
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            reasons = "; ".join(f"{r.short_description}: {r.description}" for r in info.reason)
            problems.append(f"{split}: dataset: {reasons or info.description}")
    return problems


def check_anomalies(anomalies_uri: str, split_names: list[str]) -> None:
    """Raises DataAnomaliesError listing every anomaly; returns quietly on clean data."""
    problems = describe_anomalies(anomalies_uri, split_names)
    if problems:
        raise DataAnomaliesError(
            f"ExampleValidator found {len(problems)} anomal{'y' if len(problems) == 1 else 'ies'}; "
            "the run stops before training. Fix the data (re-run data_prep) or, if the change is "
            "intended, update segmentation_data_prep's schema.pbtxt.\n  " + "\n  ".join(problems)
        )


@component
def AnomaliesGate(
    anomalies: InputArtifact[standard_artifacts.ExampleAnomalies],
    schema: InputArtifact[standard_artifacts.Schema],
    validated_schema: OutputArtifact[standard_artifacts.Schema],
) -> None:
    """Fails on anomalies; otherwise passes the schema on to Transform and Trainer."""
    check_anomalies(anomalies.uri, artifact_utils.decode_split_names(anomalies.split_names))
    for name in fileio.listdir(schema.uri):
        fileio.copy(os.path.join(schema.uri, name), os.path.join(validated_schema.uri, name))
