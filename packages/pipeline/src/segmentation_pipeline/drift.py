"""Drift between spans: which data_prep drift features moved, by how much, against what threshold.

The pipeline's DistributionValidator compares the statistics of the newest span with those of
the span before it, with TFDV's Jensen-Shannon divergence on every drift feature data_prep
stores (`record_format.DRIFT_FEATURE_KEYS`); this module builds that configuration and reads the
result back (TFDV records every compared feature's distance and threshold in `drift_skew_info`,
not only the ones over it). Drift is reported, never a gate: retraining on the new data is the
answer to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from segmentation_data_prep import record_format

# Compared splits (new span, previous span): train, the larger sample of each span.
SPLIT_PAIR = ("train", "train")
_JENSEN_SHANNON = "jensen_shannon_divergence"  # TFDV's measurement type, as training_data names it


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    distance: float  # Jensen-Shannon divergence of the two spans' histograms, in [0, 1]
    threshold: float

    @property
    def drifted(self) -> bool:
        return self.distance > self.threshold


@dataclass(frozen=True)
class DriftResult:
    """Every compared feature of one split pair; `features` is empty without a previous span."""

    split_pair: str
    features: tuple[FeatureDrift, ...]

    @property
    def has_baseline(self) -> bool:
        return bool(self.features)

    @property
    def drifted(self) -> tuple[FeatureDrift, ...]:
        return tuple(feature for feature in self.features if feature.drifted)

    def as_dict(self) -> dict:
        return {
            "split_pair": self.split_pair,
            "has_baseline": self.has_baseline,
            "drifted": [feature.feature for feature in self.drifted],
            "features": {
                f.feature: {"distance": f.distance, "threshold": f.threshold, "drifted": f.drifted}
                for f in self.features
            },
        }


def split_pair_name() -> str:
    return "_".join(SPLIT_PAIR)


def validator_config(threshold: float):
    """DistributionValidatorConfig: Jensen-Shannon divergence above `threshold` on every drift
    feature counts as drift."""
    from tensorflow_metadata.proto.v0 import path_pb2, schema_pb2
    from tfx.proto import distribution_validator_pb2 as dv

    comparator = schema_pb2.FeatureComparator(
        jensen_shannon_divergence=schema_pb2.JensenShannonDivergence(threshold=threshold)
    )
    return dv.DistributionValidatorConfig(
        default_slice_config=dv.DistributionValidatorConfig.DatasetConfig(
            feature=[
                dv.FeatureComparator(
                    path=path_pb2.Path(step=[key]), distribution_comparator=comparator
                )
                for key in record_format.DRIFT_FEATURE_KEYS
            ]
        )
    )


def drift_from_anomalies(anomalies, split_pair: str = "") -> DriftResult:
    """The Jensen-Shannon distances of an Anomalies proto, feature order as in
    `record_format.DRIFT_FEATURE_KEYS`."""
    from tfx_hf_pusher.training_data import drift_measurements

    return _jensen_shannon(drift_measurements(anomalies, split_pair or split_pair_name()))


def read_drift(anomalies_uri: str) -> DriftResult:
    """The DistributionValidator's result at `anomalies_uri` (no features: no previous span)."""
    from tfx_hf_pusher import training_data

    pair = split_pair_name()
    measured = training_data.read_drift(anomalies_uri)
    return _jensen_shannon(m for m in measured if m.split_pair == pair)


def _jensen_shannon(measurements) -> DriftResult:
    measured = {
        m.feature: FeatureDrift(m.feature, m.value, m.threshold)
        for m in measurements
        if m.measure == _JENSEN_SHANNON
    }
    order = {key: index for index, key in enumerate(record_format.DRIFT_FEATURE_KEYS)}
    features = sorted(
        measured.values(), key=lambda f: (order.get(f.feature, len(order)), f.feature)
    )
    return DriftResult(split_pair_name(), tuple(features))


def drift_lines(result: DriftResult) -> dict[str, str]:
    """Results for the run summary: one line per feature (distance vs threshold) and a verdict."""
    if not result.has_baseline:
        return {"drift": "no previous span to compare with (first span)"}
    lines = {
        f"JS divergence {f.feature}": (
            f"{f.distance:.4f} (threshold {f.threshold:g}){'  DRIFT' if f.drifted else ''}"
        )
        for f in result.features
    }
    drifted = [f.feature for f in result.drifted]
    lines["drift"] = (
        f"{len(drifted)} of {len(result.features)} features drifted: {', '.join(drifted)}"
        if drifted
        else f"none of {len(result.features)} features drifted"
    )
    return lines


def drift_of_run(summary) -> DriftResult | None:
    """The DriftValidator's result in a run summary (None: the pipeline has no such step)."""
    from segmentation_pipeline.node_ids import DRIFT_VALIDATOR

    try:
        component = summary.component(DRIFT_VALIDATOR)
    except KeyError:
        return None
    uris = component.outputs.get("anomalies")
    return read_drift(uris[0]) if uris else DriftResult(split_pair_name(), ())


def run_summary_results(summary) -> dict[str, dict[str, str]]:
    """{DriftValidator node id: drift_lines} for `run_summary.format_summary` ({} without it)."""
    from segmentation_pipeline.node_ids import DRIFT_VALIDATOR

    result = drift_of_run(summary)
    return {DRIFT_VALIDATOR: drift_lines(result)} if result is not None else {}
