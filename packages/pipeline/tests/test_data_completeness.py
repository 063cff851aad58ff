"""Issue 12 item 8: the runners refuse a data directory that is not a complete data_prep output,
and the demo does not reuse its data after a failed rerun.

The rerun fails for real: the kernel's file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) makes
data_prep's shard writes fail with EFBIG, as a full disk would.
"""

from __future__ import annotations

import pytest
from segmentation_data_prep import record_format
from segmentation_data_prep.report import IncompleteOutputError
from segmentation_pipeline.config import TARGET_LOCAL, PipelineConfig
from segmentation_test_support.disk import file_size_limit


def test_local_runner_refuses_shards_without_a_report(tmp_path):
    from segmentation_pipeline.local_runner import run_local

    data = tmp_path / "data"
    for split in record_format.SPLIT_NAMES:  # what a failed run used to leave: shards, no report
        (data / split).mkdir(parents=True)
        (data / split / f"{split}-00000-of-00002.tfrecord").write_bytes(b"partial")
    config = PipelineConfig(local_dir=str(tmp_path / "run"), data_uri=str(data))
    with pytest.raises(IncompleteOutputError, match=r"report\.json.*missing"):
        run_local(config)
    assert not (tmp_path / "run").exists()  # refused before anything ran


def test_demo_does_not_reuse_data_after_a_failed_rerun(tmp_path, capsys):
    from segmentation_pipeline.demo import prepare_data

    config = PipelineConfig(local_dir=str(tmp_path))
    prepare_data(config, 6, seed=0)
    prepare_data(config, 6, seed=0)
    assert "reusing" in capsys.readouterr().out
    # A limit the raw images fit under and the shards do not: the rerun fails in data_prep.
    largest_raw = max(p.stat().st_size for p in (tmp_path / "raw_images").rglob("*.*"))
    shard = next((tmp_path / "data" / "train").glob("*.tfrecord")).stat().st_size
    assert largest_raw * 2 < shard
    with pytest.raises(Exception), file_size_limit(largest_raw * 2):
        prepare_data(config, 8, seed=0)
    capsys.readouterr()
    data_dir = prepare_data(config, 6, seed=0)
    assert "reusing" not in capsys.readouterr().out  # ran again rather than trust the stamp
    assert data_dir == config.data_location(TARGET_LOCAL)


def test_demo_does_not_reuse_records_of_an_earlier_record_format(tmp_path, capsys):
    """Records from before a schema change (e.g. without the drift features) would stop the
    pipeline at the anomalies gate: the demo writes them again instead of reusing them."""
    import json
    from pathlib import Path

    from segmentation_pipeline import demo
    from segmentation_pipeline.demo import prepare_data

    config = PipelineConfig(local_dir=str(tmp_path))
    data_dir = prepare_data(config, 6, seed=0)
    stamp_path = Path(data_dir) / demo._STAMP
    stamp = json.loads(stamp_path.read_text())
    stamp["record_schema"] = "0" * 16  # as written under another schema.pbtxt
    stamp_path.write_text(json.dumps(stamp))
    capsys.readouterr()
    assert prepare_data(config, 6, seed=0) == data_dir
    assert "reusing" not in capsys.readouterr().out
    prepare_data(config, 6, seed=0)
    assert "reusing" in capsys.readouterr().out  # and the new stamp is reused as usual
