"""A gs:// run: input and output in Cloud Storage, served by gcp-storage-emulator on loopback.

Beam's gcsio uses the google-cloud-storage client, which honours STORAGE_EMULATOR_HOST, so
the job's real GCS code path (listing, reading, writing shards and the report) is exercised.
"""

from __future__ import annotations

import json
import os

import pytest
from data_prep_test_helpers import EXPECTED_REJECTIONS, IN_PROCESS, read_split, run_on_mixed_inputs
from segmentation_data_prep import record_format
from segmentation_data_prep.beam_job import DataPrepError, run_data_prep


def upload_tree(bucket, local_root, prefix: str) -> None:
    for directory, _, files in os.walk(local_root):
        for name in files:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, local_root).replace(os.sep, "/")
            bucket.blob(f"{prefix}/{relative}").upload_from_filename(path)


def test_gs_input_and_output(
    gcs_emulator, emulator_credentials, mixed_dataset, mixed_run, tmp_path
):
    bucket = gcs_emulator.create_bucket("pets-test")
    upload_tree(bucket, mixed_dataset, "raw/oxford-iiit-pet")
    report = run_on_mixed_inputs(
        "gs://pets-test/raw/oxford-iiit-pet", "gs://pets-test/records/v1/", IN_PROCESS
    )
    assert report["output_dir"] == "gs://pets-test/records/v1"
    assert report["counts_add_up"] and report["rejected"]["total"] == len(EXPECTED_REJECTIONS)
    assert all(
        p.startswith("gs://pets-test/raw/") for r in report["rejections"] for p in r["paths"]
    )
    names = sorted(b.name for b in gcs_emulator.list_blobs("pets-test", prefix="records/"))
    assert names == [
        "records/v1/dataset_spec.json",
        "records/v1/eval/eval-00000-of-00001.tfrecord",
        "records/v1/report.json",
        "records/v1/train/train-00000-of-00001.tfrecord",
    ]  # no temporary files left behind
    stored = json.loads(bucket.blob("records/v1/report.json").download_as_bytes())
    assert stored == report
    for split in record_format.SPLIT_NAMES:
        local = tmp_path / split / f"{split}-00000-of-00001.tfrecord"
        local.parent.mkdir()
        bucket.blob(f"records/v1/{split}/{local.name}").download_to_filename(str(local))
        assert read_split(tmp_path, split) == read_split(mixed_run[1], split)
    with pytest.raises(DataPrepError, match="--overwrite"):
        run_data_prep("gs://pets-test/raw/oxford-iiit-pet", "gs://pets-test/records/v1",
                      beam_args=IN_PROCESS)  # fmt: skip
