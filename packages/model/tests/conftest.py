"""Shared fixtures: real data_prep records -> real TFX Transform -> exported / trained models.

Everything runs the production code paths: data_prep's Beam job on synthetic Pet-layout data,
TFX's Transform executor with this package's module, TFX's Trainer GenericExecutor calling
`run_fn` (which builds FnArgs and its DataAccessor exactly as in a pipeline).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from model_test_helpers import IMAGE_SIZE, PET, TINY_TRAINER_CONFIG, TRANSFORM_CONFIG


@dataclass(frozen=True)
class TransformRun:
    records_dir: Path
    examples: object  # tfx Examples artifact (raw records)
    schema: object
    transform_graph: object
    transformed_examples: object


@pytest.fixture(scope="session")
def records_dir(tmp_path_factory) -> Path:
    """data_prep output (train/eval shards) for 16 synthetic images at IMAGE_SIZE."""
    from segmentation_data_prep import beam_job, synthetic

    root = tmp_path_factory.mktemp("data")
    source = synthetic.write_synthetic_pet_dataset(
        root / "pets", 16, seed=0, min_size=72, max_size=160
    )
    out = root / "records"
    report = beam_job.run_data_prep(
        str(source),
        str(out),
        image_size=IMAGE_SIZE,
        show_progress=False,
        beam_args=["--direct_running_mode=in_memory", "--direct_num_workers=1"],
    )
    assert report["written"]["train"] > 0 and report["written"]["eval"] > 0, report
    return out


def _artifact(cls, uri: Path):
    artifact = cls()
    artifact.uri = str(uri)
    return artifact


@pytest.fixture(scope="session")
def transform_run(records_dir, tmp_path_factory) -> TransformRun:
    """The real TFX Transform executor on data_prep's shards (ImportExampleGen's layout)."""
    from segmentation_data_prep import record_format
    from tfx.components.transform import executor as transform_executor
    from tfx.types import artifact_utils, standard_artifacts

    root = tmp_path_factory.mktemp("transform")
    examples = _artifact(standard_artifacts.Examples, root / "examples")
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    for split in ("train", "eval"):
        split_dir = root / "examples" / f"Split-{split}"
        split_dir.mkdir(parents=True)
        for shard in records_dir.glob(record_format.shard_glob(split)):
            shutil.copy(shard, split_dir / shard.name)
    schema = _artifact(standard_artifacts.Schema, root / "schema")
    os.makedirs(schema.uri)
    shutil.copy(record_format.schema_path(), os.path.join(schema.uri, "schema.pbtxt"))
    transform_graph = _artifact(standard_artifacts.TransformGraph, root / "transform_graph")
    transformed = _artifact(standard_artifacts.Examples, root / "transformed_examples")
    transform_executor.Executor().Do(
        {"examples": [examples], "schema": [schema]},
        {"transform_graph": [transform_graph], "transformed_examples": [transformed]},
        {
            "module_path": "segmentation_model.transform",
            "custom_config": json.dumps(TRANSFORM_CONFIG),
            "disable_statistics": 1,
            "force_tf_compat_v1": 0,
        },
    )
    return TransformRun(records_dir, examples, schema, transform_graph, transformed)


@pytest.fixture(scope="session")
def exported_model_dir(transform_run, tmp_path_factory) -> Path:
    """An untrained tiny UNet exported with all signatures (fast: no training)."""
    import tensorflow_transform as tft
    from segmentation_model import signatures, unet

    model = unet.build_unet(
        PET.num_classes,
        IMAGE_SIZE,
        alpha=0.35,
        decoder_filters=TINY_TRAINER_CONFIG["decoder_filters"],
    )
    export_dir = tmp_path_factory.mktemp("export") / "serving"
    output = tft.TFTransformOutput(transform_run.transform_graph.uri)
    signatures.export_serving_model(model, output, str(export_dir))
    return export_dir


@pytest.fixture(scope="session")
def exported_model(exported_model_dir):
    import tensorflow as tf

    return tf.saved_model.load(str(exported_model_dir))
