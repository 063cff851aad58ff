"""Monitor the deployed model: score it on the newest data, compare with its blessing metrics.

    python -m segmentation_pipeline.monitor [--span N] [--output FILE] [config flags]

Finds the model in production (the last model the pipeline's Pusher pushed, `deployment.py`),
scores it on the eval split of the newest span of `data_uri` (or `--span N`; the data_uri
itself without spans) through its serving signature (`scoring.py`, per class, void-aware,
classes from the dataset spec beside the shards), and compares mean and per-class IoU with the
Evaluator's numbers when it was blessed. Prints then / now / drop, writes them as JSON, and
exits 1 when the mean IoU dropped by more than `monitor_max_iou_drop` (for schedulers), 0
otherwise, 2 when it cannot run (bad flags, no deployed model, no data).
Arguments are checked before TensorFlow is imported.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from segmentation_pipeline.config import (
    TARGET_LOCAL,
    PipelineConfig,
    add_config_arguments,
    config_from_cli,
)
from segmentation_pipeline.terminal import add_verbose_flag, quiet_libraries

EXIT_OK, EXIT_DROP, EXIT_CANNOT_RUN = 0, 1, 2


@dataclass(frozen=True)
class MonitorResult:
    model_dir: str
    model_version: str
    data_dir: str
    span: int | None
    class_names: tuple[str, ...]
    then: dict[str, float]  # "mean" and class name -> IoU at blessing
    now: dict[str, float]  # the same on the data scored now
    examples: int
    max_drop: float

    @property
    def drop(self) -> dict[str, float]:
        return {name: self.then[name] - self.now[name] for name in self.then}

    @property
    def alert(self) -> bool:
        return self.drop["mean"] > self.max_drop

    def as_dict(self) -> dict:
        return {
            "model_dir": self.model_dir,
            "model_version": self.model_version,
            "data_dir": self.data_dir,
            "span": self.span,
            "examples": self.examples,
            "max_drop": self.max_drop,
            "alert": self.alert,
            "iou": {
                name: {"then": self.then[name], "now": self.now[name], "drop": self.drop[name]}
                for name in self.then
            },
        }


def newest_data(config: PipelineConfig, span: int | None) -> tuple[str, int | None]:
    """(data_prep output to score, its span): `span`, the newest span, or data_uri itself."""
    from segmentation_data_prep import spans

    location = config.data_location(TARGET_LOCAL)
    if not config.train_spans_window and span is None:
        return location, None
    span = span if span is not None else spans.require_complete_span(location)["span"]
    spans.require_complete_span(location, span)
    return spans.span_dir(location, span), span


def monitor(config: PipelineConfig, span: int | None = None) -> MonitorResult:
    """Scores the deployed model now and pairs the numbers with those at blessing.

    Raises:
        NoDeploymentError: nothing was pushed yet.
        IncompleteOutputError: the data to score is missing or incomplete.
    """
    from segmentation_data_prep.dataset_spec import SPEC_FILE_NAME, read_spec
    from segmentation_model import metrics

    from segmentation_pipeline.deployment import last_deployment
    from segmentation_pipeline.scoring import score_serving_model

    deployment = last_deployment(config.metadata_path, config.pipeline_name)
    data_dir, span = newest_data(config, span)
    spec = read_spec(os.path.join(data_dir, SPEC_FILE_NAME))
    scores = score_serving_model(
        deployment.model_dir, data_dir, spec.class_names, void_label=spec.void_label
    )
    recorded = deployment.recorded
    then = {"mean": recorded.get(metrics.MEAN_IOU, math.nan)}
    now = {"mean": scores.mean_iou}
    recorded_names = metrics.class_iou_names(spec.class_names)
    for index, name in enumerate(spec.class_names):
        if index == spec.void_label:
            continue
        then[name] = recorded.get(recorded_names[index], math.nan)
        now[name] = scores.class_iou[name]
    return MonitorResult(
        model_dir=deployment.model_dir,
        model_version=deployment.version,
        data_dir=data_dir,
        span=span,
        class_names=spec.class_names,
        then=then,
        now=now,
        examples=scores.examples,
        max_drop=config.monitor_max_iou_drop,
    )


def format_result(result: MonitorResult) -> str:
    where = f"span {result.span}" if result.span is not None else result.data_dir
    lines = [
        f"Deployed model {result.model_version} ({result.model_dir})",
        f"scored on {result.examples} eval examples of {where}",
        f"  {'IoU':<20} {'at blessing':>11} {'now':>8} {'drop':>8}",
    ]
    for name in result.then:
        then, now, drop = result.then[name], result.now[name], result.drop[name]
        lines.append(f"  {name:<20} {then:>11.4f} {now:>8.4f} {drop:>+8.4f}")
    verdict = (
        f"ALERT: mean IoU dropped by {result.drop['mean']:.4f} > {result.max_drop}"
        if result.alert
        else f"ok: mean IoU drop {result.drop['mean']:+.4f} within {result.max_drop}"
    )
    return "\n".join([*lines, verdict])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--span", type=int, default=None, help="score this span (default: the newest)"
    )
    parser.add_argument(
        "--output",
        default=None,
        help="JSON result file (default: <local_dir>/monitor/monitor-<span or data>.json)",
    )
    add_verbose_flag(parser)
    add_config_arguments(parser)
    args = parser.parse_args(argv)
    config = config_from_cli(parser, args, TARGET_LOCAL)
    if args.span is not None and args.span < 1:
        parser.error(f"--span must be >= 1, got {args.span}")
    quiet_libraries(args.verbose)
    from segmentation_data_prep.report import IncompleteOutputError

    from segmentation_pipeline.deployment import NoDeploymentError

    try:
        result = monitor(config, args.span)
    except (NoDeploymentError, IncompleteOutputError) as error:
        print(f"monitor: cannot monitor: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    print(format_result(result))
    name = f"span-{result.span}" if result.span is not None else "data"
    output = args.output or os.path.join(config.local_dir, "monitor", f"monitor-{name}.json")
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w") as handle:
        json.dump(result.as_dict(), handle, indent=2)
    print(f"result: {os.path.abspath(output)}")
    return EXIT_DROP if result.alert else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
