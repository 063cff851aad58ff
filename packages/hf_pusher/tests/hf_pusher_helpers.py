"""Helpers shared by the hf_pusher tests (a uniquely named module, unlike conftest)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from hf_local_hub import LocalHub
from huggingface_hub import snapshot_download
from segmentation_test_support.files import read_tree
from segmentation_test_support.hub import TOKEN, USER

__all__ = [
    "TOKEN",
    "USER",
    "download",
    "read_tree",
    "tree_digest",
    "with_one_more_file",
    "write_tfma_evaluation",
]


def download(hub: LocalHub, repo_id: str, revision: str, dest: Path, repo_type: str = "model"):
    """Download a revision with the real client; returns {relative path: bytes}."""
    folder = snapshot_download(
        repo_id,
        revision=revision,
        repo_type=repo_type,
        endpoint=hub.url,
        token=TOKEN,
        cache_dir=dest,
    )
    return read_tree(Path(folder))


def with_one_more_file(saved_model: Path, dest: Path) -> Path:
    """A copy of `saved_model` with assets/labels.txt added: pushing the original after it
    makes a commit that deletes a file."""
    shutil.copytree(saved_model, dest)
    (dest / "assets").mkdir(exist_ok=True)
    (dest / "assets" / "labels.txt").write_text("pet\nbackground\nborder\n")
    return dest


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(path.relative_to(root).as_posix().encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def write_tfma_evaluation(path: Path, metrics: dict[str, float]) -> None:
    """An Evaluator output dir in TFMA's format: the candidate's metrics, plus a baseline's,
    a diff and a sliced record that readers must leave out."""
    import tensorflow as tf
    from tensorflow_model_analysis.proto import config_pb2, metrics_for_slice_pb2
    from tensorflow_model_analysis.writers import eval_config_writer

    eval_config = config_pb2.EvalConfig(
        model_specs=[
            config_pb2.ModelSpec(name="candidate"),
            config_pb2.ModelSpec(name="baseline", is_baseline=True),
        ]
    )
    path.mkdir(parents=True, exist_ok=True)
    (path / "eval_config.json").write_text(
        eval_config_writer._serialize_eval_run(eval_config, "data", "tfrecord", {})
    )
    entry = metrics_for_slice_pb2.MetricsForSlice.MetricKeyAndValue

    def metric(name: str, value: float, model: str = "candidate", diff: bool = False):
        return entry(
            key=metrics_for_slice_pb2.MetricKey(name=name, model_name=model, is_diff=diff),
            value=metrics_for_slice_pb2.MetricValue(double_value={"value": value}),
        )

    overall = metrics_for_slice_pb2.MetricsForSlice(
        slice_key=metrics_for_slice_pb2.SliceKey(),
        metric_keys_and_values=[metric(name, value) for name, value in metrics.items()]
        + [metric(name, -1.0, model="baseline") for name in metrics]
        + [metric(name, -2.0, diff=True) for name in metrics],
    )
    single = metrics_for_slice_pb2.SingleSliceKey(column="c", bytes_value=b"x")
    sliced = metrics_for_slice_pb2.MetricsForSlice(
        slice_key=metrics_for_slice_pb2.SliceKey(single_slice_keys=[single]),
        metric_keys_and_values=[metric(name, -3.0) for name in metrics],
    )
    with tf.io.TFRecordWriter(str(path / "metrics-00000-of-00001.tfrecord")) as writer:
        for record in (overall, sliced):
            writer.write(record.SerializeToString())
