"""Anomalies stop the run before Transform: the gate on real TFDV output, and the whole pipeline."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from segmentation_data_prep import record_format
from segmentation_data_prep.presets import OXFORD_PET
from segmentation_pipeline.anomalies_gate import DataAnomaliesError, check_anomalies
from segmentation_pipeline.config import PipelineConfig
from segmentation_pipeline.node_ids import ANOMALIES_GATE, EXAMPLE_VALIDATOR, TRANSFORM
from segmentation_pipeline.run_summary import read_latest_run


def write_records(path: str, count: int, *, corrupt: bool) -> None:
    """Valid records, or records whose height breaks the schema's int_domain and lack 'stem'."""
    import tensorflow as tf
    from tensorflow.core.example import example_pb2

    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(0)
    with tf.io.TFRecordWriter(path) as writer:
        for index in range(count):
            image = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
            mask = rng.integers(0, OXFORD_PET.num_classes, (32, 32), dtype=np.uint8)
            serialized = record_format.encode_example(f"pet_{index}", image, mask)
            if corrupt:
                example = example_pb2.Example.FromString(serialized)
                example.features.feature[record_format.HEIGHT_KEY].int64_list.value[0] = 0
                del example.features.feature[record_format.STEM_KEY]
                serialized = example.SerializeToString()
            writer.write(serialized)


def write_anomalies(tmp_path, corrupt: bool) -> str:
    """Runs TFDV like ExampleValidator does and writes its SchemaDiff.pb for split 'eval'."""
    import tensorflow_data_validation as tfdv

    records = str(tmp_path / "records" / "eval.tfrecord")
    write_records(records, 4, corrupt=corrupt)
    statistics = tfdv.generate_statistics_from_tfrecord(records)
    anomalies = tfdv.validate_statistics(
        statistics, tfdv.load_schema_text(record_format.schema_path())
    )
    uri = tmp_path / "anomalies"
    (uri / "Split-eval").mkdir(parents=True)
    (uri / "Split-eval" / "SchemaDiff.pb").write_bytes(anomalies.SerializeToString())
    return str(uri)


def test_clean_data_passes_the_gate(tmp_path):
    check_anomalies(write_anomalies(tmp_path, corrupt=False), ["eval"])


def test_schema_violations_raise_listing_every_anomaly(tmp_path):
    with pytest.raises(DataAnomaliesError) as error:
        check_anomalies(write_anomalies(tmp_path, corrupt=True), ["eval"])
    message = str(error.value)
    assert "eval: feature 'height'" in message
    assert "eval: feature 'stem'" in message
    assert "stops before training" in message and "schema.pbtxt" in message


def test_a_missing_anomalies_file_is_an_error_not_a_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="split 'train'"):
        check_anomalies(str(tmp_path), ["train"])


@pytest.mark.slow
def test_the_pipeline_stops_before_transform_on_bad_data(tmp_path):
    from segmentation_pipeline.local_runner import run_local

    data = tmp_path / "data"
    shards = {}
    for split in record_format.SPLIT_NAMES:
        shards[split] = [str(data / split / f"{split}-00000-of-00001.tfrecord")]
        write_records(shards[split][0], 6, corrupt=True)
    # The runner accepts only a complete data_prep output: the report that marks one.
    report = {"shards": shards, "written": dict.fromkeys(record_format.SPLIT_NAMES, 6)}
    (data / record_format.REPORT_NAME).write_text(json.dumps(report))
    config = PipelineConfig(
        local_dir=str(tmp_path / "run"), data_uri=str(data), dataset_spec=OXFORD_PET.name
    )

    with pytest.raises(Exception, match="anomal") as error:
        run_local(config)
    assert "feature 'height'" in str(error.value)

    summary = read_latest_run(config.metadata_path, config.pipeline_name)
    assert summary.component(EXAMPLE_VALIDATOR).state == "complete"
    assert summary.component(ANOMALIES_GATE).state == "FAILED"
    with pytest.raises(KeyError):
        summary.component(TRANSFORM)  # never started: nothing downstream of the gate ran
