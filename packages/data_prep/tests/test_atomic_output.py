"""Item 8 of issue 12: outputs appear whole or not at all; report.json is the marker.

The failure is real, not mocked: the kernel's file-size limit (RLIMIT_FSIZE, with SIGXFSZ
ignored) makes the shard writes fail with EFBIG once the job is writing, as a full disk would.
"""

from __future__ import annotations

import json

import pytest
from data_prep_test_helpers import IN_PROCESS, SIZE, add_file
from segmentation_data_prep import record_format
from segmentation_data_prep.beam_job import run_data_prep
from segmentation_data_prep.report import IncompleteOutputError, require_complete_output
from segmentation_data_prep.synthetic import write_synthetic_pet_dataset
from segmentation_test_support.disk import file_size_limit


def snapshot(directory) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def run(source, output_dir, **kwargs):
    return run_data_prep(
        str(source), str(output_dir), image_size=SIZE, show_progress=False, beam_args=IN_PROCESS,
        **kwargs,
    )  # fmt: skip


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_synthetic_pet_dataset(tmp_path_factory.mktemp("atomic"), 12, seed=9)


def test_failed_rerun_leaves_the_previous_complete_output_intact(dataset, tmp_path):
    run(dataset, tmp_path)
    before = snapshot(tmp_path)
    assert require_complete_output(str(tmp_path))["written"]["total"] == 12
    with pytest.raises(Exception), file_size_limit(8_000):  # shards are ~50 KB: fails midway
        run(dataset, tmp_path, overwrite=True, image_size=SIZE * 2)
    assert snapshot(tmp_path) == before  # same files, same bytes; no staging left behind
    assert require_complete_output(str(tmp_path))["image_size"] == SIZE


def test_failed_first_run_leaves_no_output_presented_as_complete(dataset, tmp_path):
    with pytest.raises(Exception), file_size_limit(8_000):
        run(dataset, tmp_path)
    assert not list(tmp_path.glob(record_format.shard_glob("train")))
    with pytest.raises(IncompleteOutputError, match=r"report\.json.*missing"):
        require_complete_output(str(tmp_path))


def test_require_complete_output_refuses_partial_or_stale_shards(dataset, tmp_path):
    report = run(dataset, tmp_path)
    stale = add_file(tmp_path, "train/train-00007-of-00009.tfrecord", b"stale")
    with pytest.raises(IncompleteOutputError, match=r"not listed.*train-00007"):
        require_complete_output(str(tmp_path))
    stale.unlink()
    (tmp_path / report["shards"]["eval"][0]).unlink()
    with pytest.raises(IncompleteOutputError, match=r"eval shards .* differ"):
        require_complete_output(str(tmp_path))
    (tmp_path / "report.json").write_text("{")
    with pytest.raises(IncompleteOutputError, match="not a data_prep report"):
        require_complete_output(str(tmp_path))


def test_overwrite_replaces_the_output_only_once_the_new_run_succeeded(dataset, tmp_path):
    first = run(dataset, tmp_path)
    second = run(dataset, tmp_path, overwrite=True, num_train_shards=2)
    assert len(second["shards"]["train"]) == 2 and second["shards"] != first["shards"]
    assert json.loads((tmp_path / "report.json").read_text()) == second
    assert require_complete_output(str(tmp_path)) == second
    names = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    shards = [f"train/train-0000{i}-of-00002.tfrecord" for i in (0, 1)]
    expected = ["dataset_spec.json", "report.json", "eval/eval-00000-of-00001.tfrecord", *shards]
    assert names == sorted(expected)
