"""Spans and drift in the pipeline (issue 15 items 4-5): what each run reads, what drift says."""

from __future__ import annotations

import json

import pytest
from segmentation_data_prep import record_format, spans
from segmentation_pipeline import drift
from segmentation_pipeline.config import TARGET_LOCAL, TARGET_VERTEX, ConfigError, PipelineConfig
from segmentation_pipeline.node_ids import DRIFT_VALIDATOR, EXAMPLE_GEN, TRANSFORM
from tensorflow_metadata.proto.v0 import anomalies_pb2


def compiled(config: PipelineConfig):
    from segmentation_pipeline.pipeline import create_pipeline
    from tfx.dsl.compiler import compiler

    ir = compiler.Compiler().compile(create_pipeline(config, TARGET_LOCAL))
    return {node.pipeline_node.node_info.id: node.pipeline_node for node in ir.nodes}


def example_gen_patterns(node) -> list[str]:
    value = node.parameters.parameters["input_config"].field_value.string_value
    return [split["pattern"] for split in json.loads(value)["splits"]]


def test_without_spans_the_pipeline_reads_one_output_and_has_no_drift_step(tmp_path):
    nodes = compiled(PipelineConfig(local_dir=str(tmp_path), dataset_spec="oxford-pet"))
    assert DRIFT_VALIDATOR not in nodes
    assert example_gen_patterns(nodes[EXAMPLE_GEN]) == [
        record_format.shard_glob(split) for split in record_format.SPLIT_NAMES
    ]
    assert not nodes[TRANSFORM].inputs.input_graphs  # the ExampleGen output as it is


def test_with_spans_the_newest_span_is_read_and_training_takes_a_window(tmp_path):
    nodes = compiled(
        PipelineConfig(local_dir=str(tmp_path), dataset_spec="oxford-pet", train_spans_window=3)
    )
    assert example_gen_patterns(nodes[EXAMPLE_GEN]) == [
        spans.span_split_pattern(split) for split in record_format.SPLIT_NAMES
    ]
    assert "{SPAN}" in spans.span_split_pattern("train")
    range_config = nodes[EXAMPLE_GEN].parameters.parameters["range_config"]
    assert json.loads(range_config.field_value.string_value) == {"rolling_range": {"num_spans": 1}}
    transform_graph = str(nodes[TRANSFORM].inputs.input_graphs)
    assert "LatestCreateTime" in transform_graph and "int_value: 3" in transform_graph
    assert DRIFT_VALIDATOR in nodes
    baseline = str(nodes[DRIFT_VALIDATOR].inputs.input_graphs)
    assert "LatestCreateTime" in baseline and "Slice" in baseline


def test_a_window_of_one_trains_on_the_newest_span_alone(tmp_path):
    nodes = compiled(
        PipelineConfig(local_dir=str(tmp_path), dataset_spec="oxford-pet", train_spans_window=1)
    )
    assert not nodes[TRANSFORM].inputs.input_graphs
    assert DRIFT_VALIDATOR in nodes


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"train_spans_window": -1}, r"train_spans_window .*SEGPIPE_TRAIN_SPANS_WINDOW.*>= 0"),
        ({"drift_threshold": 0.0}, r"drift_threshold .*must be in \(0, 1\]"),
        ({"drift_threshold": 1.5}, r"drift_threshold .*must be in \(0, 1\]"),
    ],
)
def test_bad_span_and_drift_settings_are_named(changes, message):
    with pytest.raises(ConfigError, match=message):
        PipelineConfig(**changes)


def test_spans_are_refused_on_vertex_with_the_reason():
    config = PipelineConfig(
        project="p", bucket="b", image_uri="europe-docker.pkg.dev/p/r/i:1", train_spans_window=2
    )
    with pytest.raises(ConfigError, match=r"train_spans_window .*Vertex compiler"):
        config.validate_for(TARGET_VERTEX)


def _anomalies(measured: dict[str, tuple[float, float]]) -> anomalies_pb2.Anomalies:
    anomalies = anomalies_pb2.Anomalies()
    jsd = anomalies_pb2.DriftSkewInfo.Measurement.JENSEN_SHANNON_DIVERGENCE
    for feature, (value, threshold) in measured.items():
        info = anomalies.drift_skew_info.add()
        info.path.step.append(feature)
        info.drift_measurements.add(type=jsd, value=value, threshold=threshold)
    return anomalies


def test_drift_result_lists_every_feature_with_distance_and_threshold():
    result = drift.drift_from_anomalies(
        _anomalies({"sharpness": (0.05, 0.1), "brightness": (0.42, 0.1), "contrast": (0.1, 0.1)})
    )
    assert [f.feature for f in result.features] == ["brightness", "contrast", "sharpness"]
    assert [f.feature for f in result.drifted] == ["brightness"]  # over, not at, the threshold
    lines = drift.drift_lines(result)
    assert lines["JS divergence brightness"] == "0.4200 (threshold 0.1)  DRIFT"
    assert lines["JS divergence contrast"] == "0.1000 (threshold 0.1)"
    assert lines["drift"] == "1 of 3 features drifted: brightness"
    assert result.as_dict()["features"]["sharpness"] == pytest.approx(
        {"distance": 0.05, "threshold": 0.1, "drifted": False}
    )


def test_no_previous_span_is_said_plainly(tmp_path):
    result = drift.read_drift(str(tmp_path))  # a DistributionValidator that rubber-stamped
    assert not result.has_baseline
    assert drift.drift_lines(result) == {"drift": "no previous span to compare with (first span)"}


def test_validator_config_compares_every_drift_feature_at_the_threshold():
    config = drift.validator_config(0.25)
    features = config.default_slice_config.feature
    assert [tuple(f.path.step) for f in features] == [
        (key,) for key in record_format.DRIFT_FEATURE_KEYS
    ]
    assert {f.distribution_comparator.jensen_shannon_divergence.threshold for f in features} == {
        0.25
    }
