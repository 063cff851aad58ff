"""The Beam job end to end on local files: round trip, report, determinism, schema, CLI."""

from __future__ import annotations

import glob
import json
import multiprocessing
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from data_prep_test_helpers import (
    EXPECTED_REJECTIONS,
    EXPECTED_WARNINGS,
    IN_PROCESS,
    SIZE,
    add_file,
    add_pair,
    photo,
    read_split,
    run_on_mixed_inputs,
    trimap,
)
from PIL import Image
from segmentation_data_prep import cli, record_format
from segmentation_data_prep.beam_job import DataPrepError, pipeline_options, run_data_prep
from segmentation_data_prep.processing import split_for_stem
from segmentation_data_prep.synthetic import write_synthetic_pet_dataset


def rejection_key(rejection: dict) -> str:
    if rejection["reason"] in ("stray_file", "duplicate_stem"):
        return os.path.basename(rejection["paths"][0])
    return rejection["stem"]


def test_report_counts_every_item_and_names_every_rejection(mixed_run):
    report, output_dir = mixed_run
    assert json.loads((output_dir / "report.json").read_text()) == report
    written = 24 + len(EXPECTED_WARNINGS) + 1  # + dup.jpg
    assert report["found"] == written + len(EXPECTED_REJECTIONS)
    assert report["written"]["total"] == written
    assert report["written"]["train"] + report["written"]["eval"] == written
    assert report["rejected"]["total"] == len(EXPECTED_REJECTIONS) and report["counts_add_up"]
    assert {rejection_key(r): r["reason"] for r in report["rejections"]} == EXPECTED_REJECTIONS
    assert all(r["paths"] and r["detail"] for r in report["rejections"])
    assert {w["stem"]: w["reason"] for w in report["warning_items"]} == EXPECTED_WARNINGS
    assert set(report["how_to_fix"]) == set(EXPECTED_REJECTIONS.values()) | set(
        EXPECTED_WARNINGS.values()
    )
    # 24 synthetic pairs, 16 bad or converted pairs, and the unpaired/stray/duplicate files.
    assert report["found_files"] == {"images": 24 + 16 + 4, "trimaps": 24 + 16 + 2}


def test_shard_names_match_the_split_patterns(mixed_run):
    report, output_dir = mixed_run
    for split in record_format.SPLIT_NAMES:
        names = sorted(os.path.basename(p) for p in report["shards"][split])
        assert names == [f"{split}-00000-of-00001.tfrecord"]
        assert (
            glob.glob(str(output_dir / record_format.shard_glob(split))) == report["shards"][split]
        )


def test_round_trip_pixels_and_labels_equal_the_resized_inputs(mixed_run, mixed_dataset):
    report, output_dir = mixed_run
    for split in record_format.SPLIT_NAMES:
        examples = read_split(output_dir, split)
        assert len(examples) == report["written"][split]
        for stem, serialized in examples.items():
            assert split_for_stem(stem, 0.3) == split
            if stem in EXPECTED_WARNINGS or stem == "dup":
                continue  # converted inputs: see test_processing.py
            decoded = record_format.decode_example(serialized)
            path = mixed_dataset / "images" / f"{stem}.jpg"
            with Image.open(path) as image:  # decoded at half scale if >= 2x SIZE, then Lanczos
                half = (max(SIZE, (image.width + 1) // 2), max(SIZE, (image.height + 1) // 2))
                _, box = image.draft("RGB", half) or (None, None)
                expected_image = np.asarray(image.resize((SIZE, SIZE), Image.LANCZOS, box=box))
            with Image.open(path) as image:  # the full decode gives nearly the same picture
                full = np.asarray(image.convert("RGB").resize((SIZE, SIZE), Image.LANCZOS))
            assert np.abs(full.astype(int) - decoded.image).mean() < 0.5
            with Image.open(mixed_dataset / "annotations" / "trimaps" / f"{stem}.png") as mask:
                expected_mask = np.asarray(mask.resize((SIZE, SIZE), Image.NEAREST)) - 1
            np.testing.assert_array_equal(decoded.image, expected_image)
            np.testing.assert_array_equal(decoded.mask, expected_mask)
            assert set(np.unique(decoded.mask)) <= {0, 1, 2}
    parsed = tf.io.parse_example(
        list(read_split(output_dir, "train").values()), record_format.tf_feature_spec()
    )
    assert set(parsed["height"].numpy().tolist()) == {SIZE}


def test_schema_validates_the_output_without_anomalies(mixed_run):
    import tensorflow_data_validation as tfdv

    _, output_dir = mixed_run
    schema = tfdv.load_schema_text(record_format.schema_path())
    stats = tfdv.generate_statistics_from_tfrecord(
        data_location=str(output_dir / "*" / "*.tfrecord"),
        pipeline_options=pipeline_options(IN_PROCESS),
    )
    anomalies = tfdv.validate_statistics(stats, schema)
    assert not anomalies.anomaly_info, anomalies


def test_schema_flags_records_that_break_the_format(tmp_path):
    import tensorflow_data_validation as tfdv
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example()
    example.features.feature["image"].bytes_list.value.append(b"not a png")
    example.features.feature["height"].int64_list.value.append(100_000)
    with tf.io.TFRecordWriter(str(tmp_path / "bad.tfrecord")) as writer:
        writer.write(example.SerializeToString())
    stats = tfdv.generate_statistics_from_tfrecord(
        data_location=str(tmp_path / "bad.tfrecord"), pipeline_options=pipeline_options(IN_PROCESS)
    )
    anomalies = tfdv.validate_statistics(stats, tfdv.load_schema_text(record_format.schema_path()))
    assert {"mask", "width", "stem", "height"} <= set(anomalies.anomaly_info)


def test_same_split_and_bytes_on_every_run_and_overwrite_removes_stale_shards(
    mixed_run, mixed_dataset, tmp_path
):
    _, first_dir = mixed_run
    stale = add_file(tmp_path, "train/train-00003-of-00009.tfrecord", b"stale")
    with pytest.raises(DataPrepError, match="--overwrite"):
        run_data_prep(str(mixed_dataset), str(tmp_path), beam_args=IN_PROCESS)
    run_on_mixed_inputs(mixed_dataset, tmp_path, IN_PROCESS, overwrite=True)
    assert not stale.exists()
    for split in record_format.SPLIT_NAMES:
        assert read_split(tmp_path, split) == read_split(first_dir, split)


def test_nothing_usable_is_an_error_with_the_report_written(tmp_path, capsys):
    source = tmp_path / "bad"
    add_pair(source, "mismatch", Image.fromarray(photo(20, 30)), trimap(30, 20))
    add_file(source, "images/lonely.jpg", b"")
    with pytest.raises(DataPrepError, match="no usable example") as error:
        run_data_prep(str(source), str(tmp_path / "out"), show_progress=False)
    report = json.loads((tmp_path / "out" / "failed_report.json").read_text())
    assert error.value.report == report
    assert not (tmp_path / "out" / "report.json").exists()  # not a complete output
    assert report["written"]["total"] == 0 and report["rejected"]["total"] == 2
    assert report["counts_add_up"]
    exit_code = cli.main(
        [
            "--input-dir",
            str(source),
            "--output-dir",
            str(tmp_path / "out"),
            "--overwrite",
            "--no-progress",
            *IN_PROCESS,
        ]
    )
    assert exit_code == 1
    message = capsys.readouterr().err
    assert "size_mismatch: 1" in message and "image_without_mask: 1" in message


def test_cli_run_shows_progress_and_summary(tmp_path, capsys):
    source = write_synthetic_pet_dataset(tmp_path / "pets", 8)
    exit_code = cli.main(
        [
            "--input-dir",
            str(source),
            "--output-dir",
            str(tmp_path / "out"),
            "--image-size",
            "32",
            "--eval-fraction",
            "0.5",
            "--num-train-shards",
            "2",
            *IN_PROCESS,
        ]
    )
    assert exit_code == 0
    captured = capsys.readouterr()
    assert re.search(r"data_prep: 100%.*8/8", captured.err)
    assert "found 8, written 8" in captured.out and "rejected 0" in captured.out
    assert len(glob.glob(str(tmp_path / "out" / "train" / "train-*-of-00002.tfrecord"))) == 2


def test_help_explains_every_flag_and_typos_are_errors(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for action in cli.build_parser()._actions:
        assert action.help, action.option_strings
        assert action.option_strings[-1] in help_text
    for beam_flag in (
        "--direct_num_workers",
        "--runner DataflowRunner",
        "--sdk_container_image",
        "--setup_file",
        "--temp_location",
    ):
        assert beam_flag in help_text
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--input-dir", "x", "--output-dir", "y", "--image_size", "64"])
    assert exit_info.value.code == 2
    assert "--image_size" in capsys.readouterr().err


def test_module_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "segmentation_data_prep", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "--input-dir" in result.stdout


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"eval_fraction": 0.0}, "eval_fraction"),
        ({"eval_fraction": 1.0}, "eval_fraction"),
        ({"image_size": 0}, "image_size"),
        ({"num_eval_shards": 0}, "num_eval_shards"),
        ({"png_compress_level": 10}, "png_compress_level"),
        ({"local_processes": 0}, "local_processes must be >= 1, got 0"),
    ],
)
def test_bad_arguments_are_clear_errors(tmp_path, kwargs, message):
    with pytest.raises(DataPrepError, match=message):
        run_data_prep(str(tmp_path), str(tmp_path / "out"), **kwargs)


def test_local_default_is_one_beam_thread_unless_chosen():
    def mode(beam_args):
        options = pipeline_options(beam_args).get_all_options()
        return options["direct_running_mode"], options["direct_num_workers"]

    assert mode(None) == ("in_memory", 1)  # examples go to worker processes (process_pool.py)
    assert mode(["--direct_running_mode=multi_processing", "--direct_num_workers=2"]) == (
        "multi_processing",
        2,
    )
    assert mode(["--direct_running_mode=in_memory", "--direct_num_workers=1"]) == ("in_memory", 1)


def test_dataflow_options_are_checked_before_submitting():
    dataflow = ["--runner", "DataflowRunner", "--project", "my-project", "--region", "europe-west1"]
    with pytest.raises(DataPrepError, match="--temp_location"):
        pipeline_options(dataflow)
    dataflow += ["--temp_location", "gs://bucket/tmp"]
    with pytest.raises(DataPrepError, match="--sdk_container_image") as error:
        pipeline_options(dataflow)
    setup_py = re.search(r"--setup_file (\S+)", str(error.value)).group(1)
    assert Path(setup_py).is_file()
    options = pipeline_options(
        [*dataflow, "--sdk_container_image", "europe-docker.pkg.dev/p/r/i:1"]
    )
    everything = options.get_all_options()
    assert everything["runner"] == "DataflowRunner" and everything["project"] == "my-project"
    assert everything["sdk_container_image"] == "europe-docker.pkg.dev/p/r/i:1"
    assert pipeline_options([*dataflow, "--setup_file", setup_py]).get_all_options()["setup_file"]


def test_worker_processes_write_the_same_bytes_and_report_and_leave_none_behind(
    mixed_run, mixed_dataset, tmp_path
):
    report_in_process, first_dir = mixed_run
    report = run_on_mixed_inputs(mixed_dataset, tmp_path, IN_PROCESS, local_processes=2)
    for split in record_format.SPLIT_NAMES:
        assert read_split(tmp_path, split) == read_split(first_dir, split)
    for key in ("found", "written", "rejected", "rejections", "warning_items"):
        assert report[key] == report_in_process[key]
    assert multiprocessing.active_children() == []


def test_worker_processes_are_refused_for_dataflow_before_anything_is_read(tmp_path):
    dataflow = ["--runner", "DataflowRunner", "--project", "p", "--region", "europe-west1"]
    dataflow += ["--temp_location", "gs://b/tmp", "--sdk_container_image", "e-docker.pkg.dev/i:1"]
    with pytest.raises(DataPrepError, match=r"local .*DirectRunner.* --max_num_workers"):
        run_data_prep("gs://b/missing", "gs://b/out", local_processes=2, beam_args=dataflow)


@pytest.mark.slow
def test_multi_process_run_matches_the_in_process_run(mixed_run, mixed_dataset, tmp_path):
    report_in_process, first_dir = mixed_run
    report = run_on_mixed_inputs(
        mixed_dataset,
        tmp_path,
        ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"],
    )
    for split in record_format.SPLIT_NAMES:
        assert read_split(tmp_path, split) == read_split(first_dir, split)
    for key in ("found", "written", "rejected", "rejections", "warning_items"):
        assert report[key] == report_in_process[key]


def test_bad_flags_answer_before_beam_or_numpy_is_imported():
    """Issue 11: a bad flag answers at once, not after the ~10-40 s Beam import."""
    probe = (
        "import sys\n"
        "from segmentation_data_prep import cli\n"
        "for argv in (['--input-dir', 'x', '--output-dir', 'y', '--image_size', '64'],\n"
        "             ['--input-dir', 'x', '--output-dir', 'y', '--eval-fraction', '1.5']):\n"
        "    try:\n"
        "        cli.main(argv)\n"
        "    except SystemExit as exit_info:\n"
        "        assert exit_info.code == 2, exit_info.code\n"
        "heavy = ('apache_beam', 'numpy', 'PIL', 'tensorflow')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert "did you mean --image-size?" in result.stderr
    assert "eval_fraction must be strictly between 0 and 1, got 1.5" in result.stderr


@pytest.mark.slow  # two command-line runs, each importing Beam and TensorFlow (~13 s)
def test_cli_prints_no_library_warnings_unless_verbose(tmp_path):
    """Issue 11: no FutureWarning (google-auth, api_core, ...) on a plain run."""
    source = write_synthetic_pet_dataset(tmp_path / "pets", 3)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    command = [sys.executable, "-m", "segmentation_data_prep", "--input-dir", str(source),
               "--no-progress", *IN_PROCESS]  # fmt: skip
    quiet = subprocess.run(
        [*command, "--output-dir", str(tmp_path / "quiet")],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert quiet.returncode == 0, quiet.stderr
    assert "Warning" not in quiet.stderr, quiet.stderr
    assert "found 3, written 3" in quiet.stdout
    verbose = subprocess.run(
        [*command, "--output-dir", str(tmp_path / "verbose"), "--verbose"],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert verbose.returncode == 0, verbose.stderr
    assert "FutureWarning" in verbose.stderr
