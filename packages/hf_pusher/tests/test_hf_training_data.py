"""The card of a continuously trained version: the spans it saw and the drift that led to it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hf_local_hub import LocalHub
from hf_pusher_helpers import TOKEN, USER, download
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.types import standard_artifacts
from tfx_hf_pusher.executor import Executor

REPO = f"{USER}/retrained"
JSD = anomalies_pb2.DriftSkewInfo.Measurement.JENSEN_SHANNON_DIVERGENCE
L_INFTY = anomalies_pb2.DriftSkewInfo.Measurement.L_INFTY


def _anomalies_dir(path: Path, measurements: dict[str, tuple[int, float, float]]) -> Path:
    """A DistributionValidator output: SplitPair-train_train/SchemaDiff.pb with these
    (measurement type, value, threshold) per feature."""
    anomalies = anomalies_pb2.Anomalies()
    for feature, (kind, value, threshold) in measurements.items():
        info = anomalies.drift_skew_info.add()
        info.path.step.append(feature)
        info.drift_measurements.add(type=kind, value=value, threshold=threshold)
    split_pair = path / "SplitPair-train_train"
    split_pair.mkdir(parents=True)
    (split_pair / "SchemaDiff.pb").write_bytes(anomalies.SerializeToString())
    return path


def _push(
    hub: LocalHub, model_dir: Path, tmp_path: Path, spans: list[int], anomalies: Path | None
) -> str:
    """Run the executor on a model trained on Examples of `spans`; the pushed card's text."""
    model = standard_artifacts.Model()
    model.uri = str(model_dir)
    examples = []
    for index, span in enumerate(spans):
        artifact = standard_artifacts.Examples()
        artifact.uri = str(tmp_path / f"examples-{index}")
        if index % 2:  # ML Metadata may hand the span back as a custom property
            artifact.set_int_custom_property("span", span)
        else:
            artifact.span = span
        examples.append(artifact)
    inputs = {"model": [model], "examples": examples}
    if anomalies is not None:
        drift = standard_artifacts.ExampleAnomalies()
        drift.uri = str(anomalies)
        inputs["drift"] = [drift]
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / "pushed")
    Executor().Do(inputs, {"pushed_model": [pushed]}, {"repo_id": REPO})
    commit = pushed.get_string_custom_property("commit_id")
    return download(hub, REPO, commit, tmp_path / "card")["README.md"].decode()


@pytest.fixture
def card_of(hub: LocalHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    return lambda model_dir, spans, anomalies: _push(hub, model_dir, tmp_path, spans, anomalies)


def _metadata(card: str) -> dict:
    return yaml.safe_load(card.split("---\n")[1])


def test_card_names_the_spans_and_every_measured_drift(
    card_of, model_artifact_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    anomalies = _anomalies_dir(
        tmp_path / "anomalies",
        {"mean_brightness": (JSD, 0.61, 0.25), "sharpness": (JSD, 0.04, 0.25)},
    )
    card = card_of(model_artifact_dirs[0], [2, 1, 2], anomalies)

    assert "- data spans 1, 2" in card
    assert "1 of 2 features drifted (mean_brightness)" in card
    row = "| train_train | {} | jensen_shannon_divergence | {} | 0.25 | {} |"
    assert row.format("mean_brightness", "0.6100", "yes") in card
    assert row.format("sharpness", "0.0400", "no") in card
    meta = _metadata(card)
    assert meta["training_spans"] == [1, 2]
    assert meta["drifted_features"] == ["mean_brightness"]


def test_card_of_the_first_span_says_there_was_nothing_to_compare_with(
    card_of, model_artifact_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    (tmp_path / "anomalies").mkdir()  # what DistributionValidator leaves without a baseline
    card = card_of(model_artifact_dirs[0], [1], tmp_path / "anomalies")

    assert "- data span 1" in card
    assert "No earlier data to compare with" in card
    assert "| split pair |" not in card
    meta = _metadata(card)
    assert meta["training_spans"] == [1]
    assert "drifted_features" not in meta


def test_other_measures_are_tabled_under_their_own_names(
    card_of, model_artifact_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    anomalies = _anomalies_dir(tmp_path / "anomalies", {"image/class": (L_INFTY, 0.02, 0.1)})
    card = card_of(model_artifact_dirs[0], [3], anomalies)

    assert "| train_train | image/class | l_infty | 0.0200 | 0.1 | no |" in card
    assert "none of 1 features drifted" in card


def test_card_without_drift_input_has_no_drift_section(
    card_of, model_artifact_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    card = card_of(model_artifact_dirs[0], [0], None)

    assert "- data span 0" in card
    assert "## Data drift" not in card
