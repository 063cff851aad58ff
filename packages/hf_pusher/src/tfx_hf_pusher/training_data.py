"""What a model version was trained on and the drift that led to it: facts for its model card.

A continuously trained model is one of many versions; its card should say which data spans it
saw and what changed in the data before it was trained. The spans come from the Examples
artifacts the Trainer read (ExampleGen's ``span`` property), the drift from a TFX
DistributionValidator's anomalies (TFDV records every compared feature's distance and threshold
in ``drift_skew_info``, one ``SplitPair-<new>_<baseline>/SchemaDiff.pb`` per split pair).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_SPLIT_PAIR_PREFIX = "SplitPair-"
_ANOMALIES_FILE = "SchemaDiff.pb"


@dataclass(frozen=True)
class DriftMeasurement:
    """One feature's distance between the new data and its baseline, against its threshold."""

    split_pair: str  # "<new split>_<baseline split>", e.g. "train_train"
    feature: str  # dotted feature path
    measure: str  # TFDV's measurement type, lower case: jensen_shannon_divergence, l_infty, ...
    value: float
    threshold: float

    @property
    def drifted(self) -> bool:
        return self.value > self.threshold


def drift_measurements(anomalies, split_pair: str) -> tuple[DriftMeasurement, ...]:
    """Every measurement of an Anomalies proto, in the order TFDV wrote them."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    type_name = anomalies_pb2.DriftSkewInfo.Measurement.Type.Name
    return tuple(
        DriftMeasurement(
            split_pair=split_pair,
            feature=".".join(info.path.step),
            measure=type_name(measurement.type).lower(),
            value=measurement.value,
            threshold=measurement.threshold,
        )
        for info in anomalies.drift_skew_info
        for measurement in info.drift_measurements
    )


def read_drift(anomalies_uri: str) -> tuple[DriftMeasurement, ...]:
    """Every measurement a DistributionValidator wrote under ``anomalies_uri`` (local or gs://),
    split pairs sorted; none when it had no baseline to compare with."""
    import tensorflow as tf
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    if not tf.io.gfile.isdir(anomalies_uri):
        return ()
    measurements: list[DriftMeasurement] = []
    for entry in sorted(tf.io.gfile.listdir(anomalies_uri)):
        name = entry.rstrip("/")
        path = f"{anomalies_uri.rstrip('/')}/{name}/{_ANOMALIES_FILE}"
        if not name.startswith(_SPLIT_PAIR_PREFIX) or not tf.io.gfile.exists(path):
            continue
        with tf.io.gfile.GFile(path, "rb") as handle:
            anomalies = anomalies_pb2.Anomalies.FromString(handle.read())
        measurements += drift_measurements(anomalies, name.removeprefix(_SPLIT_PAIR_PREFIX))
    return tuple(measurements)


def training_spans(spans: Iterable[int | None]) -> tuple[int, ...]:
    """The distinct spans of the Examples a model was trained on, ascending (None: unknown)."""
    return tuple(sorted({span for span in spans if span is not None}))


def drift_lines(drift: Sequence[DriftMeasurement] | None) -> list[str]:
    """The card's drift section: a table of every measurement, drifted ones marked."""
    lines = ["## Data drift before training", ""]
    if not drift:
        first = "No earlier data to compare with: this version was trained on the first."
        return [*lines, first, ""]
    drifted = [m.feature for m in drift if m.drifted]
    lines += [
        "The newest data against the data before it, as the pipeline's DistributionValidator "
        "measured it before this version was trained: "
        + (
            f"{len(drifted)} of {len(drift)} features drifted ({', '.join(drifted)})."
            if drifted
            else f"none of {len(drift)} features drifted."
        ),
        "",
        "| split pair | feature | measure | distance | threshold | drifted |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {m.split_pair} | {m.feature} | {m.measure} | {m.value:.4f} | {m.threshold:g} | "
        f"{'yes' if m.drifted else 'no'} |"
        for m in drift
    ]
    return [*lines, ""]
