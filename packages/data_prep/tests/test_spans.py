"""Spans (issue 15): each batch of data is `<root>/span-<N>/`, written once, never touched again."""

from __future__ import annotations

import glob
import json
import os

import pytest
from segmentation_data_prep import cli, record_format
from segmentation_data_prep.beam_job import run_data_prep
from segmentation_data_prep.report import IncompleteOutputError
from segmentation_data_prep.settings import DataPrepError
from segmentation_data_prep.spans import (
    list_spans,
    require_complete_span,
    span_dir,
    span_split_pattern,
)
from segmentation_data_prep.synthetic import write_synthetic_pet_dataset

SIZE = 32
IN_PROCESS = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def snapshot(directory) -> dict[str, bytes]:
    return {
        os.path.relpath(path, directory): open(path, "rb").read()
        for path in glob.glob(os.path.join(directory, "**"), recursive=True)
        if os.path.isfile(path)
    }


def write_span(source, root, span, **kwargs):
    return run_data_prep(
        str(source), str(root), image_size=SIZE, eval_fraction=0.3, span=span,
        show_progress=False, beam_args=IN_PROCESS, **kwargs,
    )  # fmt: skip


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    """Two batches of images from different seeds."""
    root = tmp_path_factory.mktemp("batches")
    return (
        write_synthetic_pet_dataset(root / "one", 8, seed=1),
        write_synthetic_pet_dataset(root / "two", 6, seed=2),
    )


def test_each_span_is_a_complete_output_and_older_spans_stay_untouched(batches, tmp_path):
    first = write_span(batches[0], tmp_path, 1)
    before = snapshot(span_dir(str(tmp_path), 1))
    second = write_span(batches[1], tmp_path, 2)
    assert snapshot(span_dir(str(tmp_path), 1)) == before
    assert (first["span"], second["span"]) == (1, 2)
    assert first["written"]["total"] == 8 and second["written"]["total"] == 6
    assert second["output_dir"] == span_dir(str(tmp_path), 2)
    assert second["spans_root"] == str(tmp_path)
    assert list_spans(str(tmp_path)) == [1, 2]
    assert require_complete_span(str(tmp_path)) == second  # the latest span by default
    assert require_complete_span(str(tmp_path), 1) == first
    report_on_disk = json.loads((tmp_path / "span-2" / record_format.REPORT_NAME).read_text())
    assert report_on_disk == second
    for split in record_format.SPLIT_NAMES:  # the pattern ImportExampleGen expands per span
        pattern = span_split_pattern(split).replace("{SPAN}", "*")
        matched = sorted(glob.glob(str(tmp_path / pattern)))
        assert matched == sorted(first["shards"][split] + second["shards"][split])
    assert not list(tmp_path.glob("*.tfrecord")) and not (tmp_path / "train").exists()


def test_an_existing_span_is_refused_and_left_as_it_was(batches, tmp_path):
    write_span(batches[0], tmp_path, 1)
    write_span(batches[0], tmp_path, 2)
    before = snapshot(str(tmp_path))
    with pytest.raises(DataPrepError, match=r"span 1 already exists.*--span 3"):
        write_span(batches[1], tmp_path, 1)
    with pytest.raises(DataPrepError, match="never overwritten"):
        write_span(batches[1], tmp_path, 2, overwrite=True)
    assert snapshot(str(tmp_path)) == before


def test_a_span_without_its_report_is_not_complete(batches, tmp_path):
    write_span(batches[0], tmp_path, 1)
    write_span(batches[1], tmp_path, 2)
    (tmp_path / "span-2" / record_format.REPORT_NAME).unlink()  # as if killed while promoting
    assert list_spans(str(tmp_path)) == [1]
    assert list_spans(str(tmp_path), complete_only=False) == [1, 2]
    with pytest.raises(IncompleteOutputError, match=r"span-2.*report\.json.*missing"):
        require_complete_span(str(tmp_path))  # the span ImportExampleGen would read
    with pytest.raises(IncompleteOutputError, match=r"no complete span under .*--span 1"):
        require_complete_span(str(tmp_path / "empty"))


def test_cli_writes_a_span_and_refuses_bad_span_flags(batches, tmp_path, capsys):
    args = ["--input-dir", str(batches[1]), "--output-dir", str(tmp_path), "--no-progress"]
    assert cli.main([*args, "--span", "3", "--image-size", str(SIZE), *IN_PROCESS]) == 0
    assert f"report: {tmp_path}/span-3/report.json" in capsys.readouterr().out
    assert cli.main([*args, "--span", "3", *IN_PROCESS]) == 1
    assert "span 3 already exists" in capsys.readouterr().err
    bad_flags = (
        (["--span", "0"], "span must be an integer >= 1"),
        (["--span", "4", "--overwrite"], "--overwrite does not apply"),
    )
    for bad, message in bad_flags:
        with pytest.raises(SystemExit) as exit_info:
            cli.main([*args, *bad])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
