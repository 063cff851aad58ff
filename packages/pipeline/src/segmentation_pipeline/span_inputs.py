"""Which data each run reads: one data_prep output, or spans (the newest, and a training window).

With `train_spans_window = 0` ImportExampleGen reads `data_uri` as one output, as it always did.
With N >= 1 it reads spans through TFX's `{SPAN}` placeholder (`spans.span_split_pattern`,
RollingRange of one span: the newest) and every later step that judges the new data
(statistics, drift, evaluation) sees that span alone; training sees the newest N spans the
pipeline has read, resolved from ML Metadata, so a run after span k is written trains on spans
k-N+1..k. The window is the N newest ExampleGen outputs by creation time (one per span read; a
rerun on an unchanged span is served from the cache and adds none), not TFX's span-based
`rolling_range`: in TFX 1.16 the Examples type in ML Metadata keeps the span as a custom
property, so StatisticsGen copies span 0 onto every statistics artifact and span-based
resolution sees every span as span 0.
"""

from __future__ import annotations

from segmentation_data_prep import record_format, spans
from tfx.proto.example_gen_pb2 import Input
from tfx.proto.range_config_pb2 import RangeConfig, RollingRange
from tfx.types import Channel, standard_artifacts

from segmentation_pipeline.config import PipelineConfig
from segmentation_pipeline.node_ids import EXAMPLE_GEN, STATISTICS_GEN


def uses_spans(config: PipelineConfig) -> bool:
    return config.train_spans_window >= 1


def require_complete_data(config: PipelineConfig, target: str) -> dict:
    """The data_prep report of what ImportExampleGen will read: `data_uri` itself, or its newest
    span (a directory without the report that a successful run writes last may hold partial
    shards).

    Raises:
        IncompleteOutputError: that output is missing or incomplete.
    """
    from segmentation_data_prep.report import require_complete_output

    location = config.data_location(target)
    if uses_spans(config):
        return spans.require_complete_span(location)
    return require_complete_output(location)


def example_gen_input(config: PipelineConfig) -> Input:
    pattern = spans.span_split_pattern if uses_spans(config) else record_format.shard_glob
    return Input(
        splits=[
            Input.Split(name=split, pattern=pattern(split)) for split in record_format.SPLIT_NAMES
        ]
    )


def example_gen_range(config: PipelineConfig) -> RangeConfig | None:
    """The newest span (ImportExampleGen reads one span per run)."""
    if not uses_spans(config):
        return None
    return RangeConfig(rolling_range=RollingRange(num_spans=1))


def across_runs(artifact_type: type, producer: str, output_key: str) -> Channel:
    """Every artifact `producer` ever wrote under `output_key` in this pipeline: a component's
    output channel only holds the current run's, and a window of spans spans several runs."""
    return Channel(type=artifact_type, producer_component_id=producer, output_key=output_key)


def training_examples(config: PipelineConfig, examples: Channel) -> Channel:
    """The Examples Transform and the Trainer use: the newest `train_spans_window` spans read
    so far (fewer while fewer exist), or `examples` itself without spans or with a window of 1.
    The window is resolved when Transform runs, after this run's ExampleGen (Transform also
    waits for the validated schema), so it ends with the newest span."""
    if config.train_spans_window <= 1:
        return examples
    from tfx.dsl.input_resolution.canned_resolver_functions import latest_created

    every_span = across_runs(standard_artifacts.Examples, EXAMPLE_GEN, "examples")
    return latest_created(every_span, n=config.train_spans_window)


def previous_statistics() -> Channel:
    """StatisticsGen's statistics of the span before the newest (none on the first span): the
    older of the two newest statistics, resolved after this run's StatisticsGen."""
    from tfx.dsl.input_resolution import canned_resolver_functions as resolve

    every_span = across_runs(standard_artifacts.ExampleStatistics, STATISTICS_GEN, "statistics")
    previous = resolve.slice(resolve.latest_created(every_span, n=2), start=-2, stop=-1)
    # Optional: on the first span the consumer still runs, with no artifact (DistributionValidator
    # then records that it had no baseline instead of being skipped).
    return previous.as_optional()
