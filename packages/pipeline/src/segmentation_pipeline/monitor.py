"""Monitor the deployed model: score it on the newest data, compare with its blessing metrics.

    python -m segmentation_pipeline.monitor [--span N] [--hub-revision REV] [--target T]
                                            [--output FILE] [config flags]

Finds the model in production: the last model the pipeline's Pusher pushed (`deployment.py`,
from ML Metadata), or with `--hub-revision` the model repo `hf_model_repo_id` at that revision
(`latest`: the last version pushed; `hub_deployment.py`, metrics from its model card). Scores
it on the eval split of the newest span of `data_uri` (or `--span N`; the data_uri itself
without spans) through its serving signature (`scoring.py`, per class, void-aware, classes
from the dataset spec beside the shards), and compares mean and per-class IoU with the
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
    TARGET_VERTEX,
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
    model_source: str  # the pipeline run that pushed it, or the Hub revision
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
            "model_source": self.model_source,
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


def newest_data(
    config: PipelineConfig, span: int | None, target: str = TARGET_LOCAL
) -> tuple[str, int | None]:
    """(data_prep output to score, its span): `span`, the newest span, or data_uri itself."""
    from segmentation_data_prep import spans

    location = config.data_location(target)
    if not config.train_spans_window and span is None:
        return location, None
    span = span if span is not None else spans.require_complete_span(location)["span"]
    spans.require_complete_span(location, span)
    return spans.span_dir(location, span), span


def monitor(
    config: PipelineConfig,
    span: int | None = None,
    hub_revision: str | None = None,
    target: str = TARGET_LOCAL,
) -> MonitorResult:
    """Scores the deployed model now and pairs the numbers with those at blessing.

    Raises:
        NoDeploymentError: nothing was pushed yet, or the Hub revision cannot be read.
        IncompleteOutputError: the data to score is missing or incomplete.
    """
    from segmentation_data_prep.dataset_spec import SPEC_FILE_NAME, read_spec
    from segmentation_model import metrics

    from segmentation_pipeline.scoring import score_serving_model

    deployment = deployed_model(config, hub_revision, target)
    data_dir, span = newest_data(config, span, target)
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
        model_source=deployment.source,
        data_dir=data_dir,
        span=span,
        class_names=spec.class_names,
        then=then,
        now=now,
        examples=scores.examples,
        max_drop=config.monitor_max_iou_drop,
    )


def deployed_model(config: PipelineConfig, hub_revision: str | None, target: str):
    """The last model the pipeline pushed (ML Metadata), or the Hub model at `hub_revision`
    (read with the token the pipeline's HFPusher uses there; anonymous when it is not set)."""
    from segmentation_pipeline.deployment import NoDeploymentError, last_deployment
    from segmentation_pipeline.hub_deployment import hub_deployment

    if hub_revision is None:
        return last_deployment(config.metadata_path, config.pipeline_name)
    if not config.hf_model_repo_id:
        raise NoDeploymentError("--hub-revision needs hf_model_repo_id (the model repo to read)")
    if target == TARGET_VERTEX:
        from tfx_hf_pusher.credentials import read_secret

        token = read_secret(f"projects/{config.project}/secrets/{config.hf_token_secret_name}")
    else:
        token = os.environ.get(config.hf_token_env_var, "").strip() or None
    return hub_deployment(
        config.hf_model_repo_id, hub_revision, endpoint=config.hf_endpoint, token=token
    )


def format_result(result: MonitorResult) -> str:
    where = f"span {result.span}" if result.span is not None else result.data_dir
    lines = [
        f"Deployed model {result.model_version} ({result.model_source})",
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


def build_parser() -> argparse.ArgumentParser:
    """The monitor's command line (also what the scheduled Vertex job runs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--span", type=int, default=None, help="score this span (default: the newest)"
    )
    parser.add_argument(
        "--hub-revision",
        default=None,
        metavar="REV",
        help="monitor hf_model_repo_id at this branch or commit on the Hub ('latest': the last "
        "version pushed) instead of the last model the pipeline pushed",
    )
    parser.add_argument(
        "--target",
        choices=(TARGET_LOCAL, TARGET_VERTEX),
        default=TARGET_LOCAL,
        help="where the data and the Hub token are: local (data_uri or <local_dir>/data, token "
        "in hf_token_env_var) or vertex (gs://<bucket>/data, token in Secret Manager)",
    )
    parser.add_argument(
        "--output",
        default=None,
        help="JSON result file, local or gs:// (default: <local_dir>/monitor/"
        "monitor-<span or data>.json)",
    )
    add_verbose_flag(parser)
    add_config_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.span is not None and args.span < 1:
        parser.error(f"--span must be >= 1, got {args.span}")
    if args.target == TARGET_VERTEX and args.hub_revision is None:
        parser.error("--target vertex monitors the Hub model: give --hub-revision (e.g. latest)")
    config = config_from_cli(parser, args, args.target)
    quiet_libraries(args.verbose)
    from segmentation_data_prep.report import IncompleteOutputError
    from tfx_hf_pusher.credentials import TokenNotFoundError

    from segmentation_pipeline.deployment import NoDeploymentError

    try:
        result = monitor(config, args.span, args.hub_revision, args.target)
    except (NoDeploymentError, IncompleteOutputError, TokenNotFoundError) as error:
        print(f"monitor: cannot monitor: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    print(format_result(result))
    name = f"span-{result.span}" if result.span is not None else "data"
    output = args.output or os.path.join(
        os.path.abspath(config.local_dir), "monitor", f"monitor-{name}.json"
    )
    write_result(result, output)
    print(f"result: {output}")
    return EXIT_DROP if result.alert else EXIT_OK


def write_result(result: MonitorResult, path: str) -> None:
    """The result as JSON at `path` (local or gs://), its directory created as needed."""
    import tensorflow as tf

    tf.io.gfile.makedirs(os.path.dirname(path) or ".")
    with tf.io.gfile.GFile(path, "w") as handle:
        handle.write(json.dumps(result.as_dict(), indent=2))


if __name__ == "__main__":
    sys.exit(main())
