"""The one configuration object of the pipeline: defaults -> environment -> CLI flags.

Every field has a default that makes the offline local run work; a Vertex run needs the GCP
fields (project, bucket, image URI). Environment variables are `SEGPIPE_<FIELD>` (upper case)
and CLI flags `--<field-with-dashes>`, both generated from the dataclass fields so that a new
setting is added in exactly one place. Nothing secret lives here: the Hugging Face token is
referred to by the *name* of the environment variable (local) or Secret Manager secret (Vertex)
that holds it.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from segmentation_model import architectures  # names only: imports no TensorFlow
from tfx_hf_pusher.endpoints import endpoint_problem

ENV_PREFIX = "SEGPIPE_"

TARGET_LOCAL = "local"
TARGET_VERTEX = "vertex"


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the field, env var and flag."""


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class PipelineConfig:
    # --- Pipeline identity and storage
    pipeline_name: str = _setting(
        "segmentation-pipeline",
        "Pipeline name (Vertex: lower-case letters, digits and '-', at most 128 characters).",
    )
    local_dir: str = _setting(
        "out/pipeline",
        "Local runs: directory holding the data, pipeline root, ML Metadata and pushed models.",
    )
    data_uri: str = _setting(
        "",
        "data_prep output directory (train/ and eval/ shards). Default: <local_dir>/data "
        "locally, gs://<bucket>/data on Vertex.",
    )
    pipeline_root: str = _setting(
        "",
        "Where TFX writes artifacts. Default: <local_dir>/pipeline_root locally, "
        "gs://<bucket>/pipeline_root/<pipeline_name> on Vertex.",
    )
    enable_cache: bool = _setting(True, "Reuse outputs of unchanged components.")
    # --- Continuous training (spans, drift)
    train_spans_window: int = _setting(
        0,
        "0: data_uri is one data_prep output. N >= 1: data_uri holds spans (span-<k>/, "
        "seg-data-prep --span); each run reads the newest span (statistics, drift, evaluation) "
        "and trains on the newest N spans the pipeline has read.",
    )
    drift_threshold: float = _setting(
        0.25,
        "Jensen-Shannon divergence above which a drift feature counts as drifted between the "
        "newest span and the previous one (reported, never blocks training). Measured with 64 "
        "train images per span: same distribution <= 0.12, every named shift >= 0.33 on its "
        "features (benchmarks/measure_drift.py).",
    )
    monitor_max_iou_drop: float = _setting(
        0.05,
        "Monitoring: the deployed model's mean IoU on the newest data may be this much below "
        "its mean IoU at blessing before `segmentation_pipeline.monitor` exits non-zero.",
    )
    # --- Google Cloud
    project: str = _setting("", "GCP project ID (required on Vertex).")
    region: str = _setting("us-central1", "GCP region of Vertex AI and Dataflow.")
    bucket: str = _setting("", "GCS bucket name without gs:// (required on Vertex).")
    image_uri: str = _setting(
        "",
        "Container image with this repository's packages installed, used by every Vertex "
        "step (required on Vertex), e.g. <region>-docker.pkg.dev/<project>/<repo>/pipeline:tag.",
    )
    vertex_service_account: str = _setting(
        "", "Service account the Vertex PipelineJob runs as (default: Compute Engine's)."
    )
    # --- Dataflow
    enable_dataflow: bool = _setting(
        False, "Run ExampleGen, StatisticsGen, Transform and Evaluator on Dataflow (Vertex only)."
    )
    dataflow_machine_type: str = _setting("n1-standard-4", "Dataflow worker machine type.")
    dataflow_max_workers: int = _setting(4, "Dataflow autoscaling limit.")
    dataflow_disk_size_gb: int = _setting(50, "Dataflow worker disk size.")
    dataflow_service_account: str = _setting("", "Dataflow worker service account (email).")
    dataflow_subnetwork: str = _setting(
        "",
        "Dataflow subnetwork, e.g. regions/<region>/subnetworks/<name> (default network if empty).",
    )
    dataflow_use_public_ips: bool = _setting(
        True,
        "Give Dataflow workers public IPs (disable on subnetworks with Private Google Access).",
    )
    # --- Vertex Training
    enable_vertex_training: bool = _setting(
        True, "On Vertex, train in a Vertex Training custom job (else inside the pipeline step)."
    )
    training_machine_type: str = _setting("n1-standard-8", "Vertex Training machine type.")
    training_accelerator_type: str = _setting(
        "", "Vertex Training accelerator, e.g. NVIDIA_TESLA_T4 (empty: CPU only)."
    )
    training_accelerator_count: int = _setting(0, "Number of accelerators per training machine.")
    # --- Vertex Endpoint
    endpoint_name: str = _setting("segmentation-endpoint", "Vertex endpoint display name.")
    serving_image_uri: str = _setting(
        "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-16:latest",
        "Vertex prediction container for the SavedModel.",
    )
    serving_machine_type: str = _setting("n1-standard-4", "Vertex endpoint machine type.")
    serving_min_replicas: int = _setting(1, "Vertex endpoint minimum replicas.")
    serving_max_replicas: int = _setting(1, "Vertex endpoint maximum replicas.")
    # --- Hugging Face Hub
    hf_model_repo_id: str = _setting(
        "",
        "Hub model repo 'namespace/name' that blessed models are pushed to (empty: no Hub push).",
    )
    hf_space_repo_id: str = _setting(
        "", "Hub Space 'namespace/name' for the Gradio demo (empty: no Space)."
    )
    hf_space_template: str = _setting(
        "", "Directory of the Space's Gradio app (empty: the installed segmentation_space_app)."
    )
    hf_endpoint: str = _setting(
        "", "Hub URL (empty: $HF_ENDPOINT where the step runs, else https://huggingface.co)."
    )
    hf_private: bool = _setting(
        True,
        "Create the Hub model repo as private (a Space then needs an HF_TOKEN secret with read "
        "access to load it).",
    )
    hf_space_private: bool = _setting(False, "Create the Hub Space as private.")
    hf_token_env_var: str = _setting(
        "HF_TOKEN", "NAME of the environment variable holding the Hub token (never the token)."
    )
    hf_token_secret_name: str = _setting(
        "hf-token",
        "NAME of the Secret Manager secret (in --project) holding the Hub token on Vertex.",
    )
    # --- Dataset
    dataset_spec: str = _setting(
        "",
        "The dataset's classes: a data_prep preset name (oxford-pet, sidewalk) or a spec JSON "
        "file. Empty: the dataset_spec.json data_prep wrote beside the shards.",
    )
    # --- Training and evaluation
    image_size: int = _setting(128, "Side of the square model input (must match data_prep).")
    train_steps: int = _setting(240, "Training steps.")
    eval_steps: int = _setting(4, "Evaluation steps during training.")
    epochs: int = _setting(4, "Epochs the training steps are spread over.")
    batch_size: int = _setting(8, "Training batch size.")
    eval_batch_size: int = _setting(16, "Evaluation batch size during training.")
    learning_rate: float = _setting(4e-3, "Adam learning rate (the peak, with a schedule).")
    lr_schedule: str = _setting(
        "warmup-cosine", "Learning-rate schedule: constant, or warmup-cosine (linear, then cosine)."
    )
    lr_warmup_steps: int = _setting(20, "Warm-up steps of the warmup-cosine schedule.")
    early_stopping_patience: int = _setting(
        0,
        "Stop after this many epochs without a better validation mean IoU, keeping the best "
        "epoch (0: train every epoch).",
    )
    loss: str = _setting(
        "cross-entropy+dice",
        "Training loss: cross-entropy, focal, dice, cross-entropy+dice or focal+dice.",
    )
    class_weighting: str = _setting(
        "median-frequency",
        "Per-class weights of the pixel-wise loss, from the label frequencies Transform "
        "measures on the training split: none, inverse-frequency or median-frequency.",
    )
    class_weight_cap: float = _setting(10.0, "Largest class weight (keeps rare classes sane).")
    augment: bool = _setting(
        True, "Augment the training split: flips, zoom-and-crop, colour jitter (never eval)."
    )
    augment_max_zoom: float = _setting(1.25, "Largest zoom of zoom-and-crop (1: none).")
    augment_color_jitter: float = _setting(
        0.1, "Brightness/contrast/colour jitter strength (0: none; 0.1 is about 13/255)."
    )
    deterministic: bool = _setting(
        False,
        "Reproducible training: fixed seeds, TF op determinism, fixed data order (same machine, "
        "same commit -> identical metrics; slower). On in CI and the model check.",
    )
    model_architecture: str = _setting(
        architectures.DEFAULT_ARCHITECTURE,
        "Model: " + ", ".join(architectures.ARCHITECTURES) + " (UNet on MobileNetV2, DeepLabV3+, "
        "SegFormer-B0; compare them with packages/model/benchmarks/benchmark_architectures.py).",
    )
    model_backbone: str = _setting(
        architectures.DEEPLAB_BACKBONES[0],
        "DeepLabV3+ encoder: " + ", ".join(architectures.DEEPLAB_BACKBONES) + ".",
    )
    model_alpha: float = _setting(
        0.35,
        "MobileNetV2 encoder width multiplier of the UNet and DeepLabV3+ (0.35 is ~4x cheaper "
        "than 1.0).",
    )
    decoder_filters: tuple[int, ...] = _setting(
        (64, 32, 16, 8), "Filters of the four UNet decoder stages (comma-separated)."
    )
    mixed_precision: bool = _setting(
        False,
        "float16 compute with float32 probabilities and loss (needs a GPU; ignored on CPU).",
    )
    jit_compile: bool = _setting(
        False, "Compile the training step with XLA (long compile on CPU, for accelerators)."
    )
    min_mean_iou: float = _setting(
        0.2, "Blessing: absolute lower bound on mean IoU (the first model must reach it)."
    )
    min_pixel_accuracy: float = _setting(0.5, "Blessing: absolute lower bound on pixel accuracy.")
    max_mean_iou_drop: float = _setting(
        0.0,
        "Blessing: how much lower than the blessed baseline the candidate's mean IoU may be "
        "(0: must not be worse).",
    )

    def __post_init__(self) -> None:
        self.validate_common()

    # -- validation
    def validate_common(self) -> None:
        """Checks that hold for every target."""
        errors: list[str] = []
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,127}", self.pipeline_name):
            errors.append(
                _problem(
                    "pipeline_name",
                    f"{self.pipeline_name!r} must be lower-case letters, digits and '-' "
                    "(Vertex's rule), starting with a letter or digit",
                )
            )
        for name in (
            "eval_steps",
            "dataflow_max_workers",
            "training_accelerator_count",
            "train_spans_window",
        ):
            if getattr(self, name) < 0:
                errors.append(_problem(name, f"must be >= 0, got {getattr(self, name)}"))
        for name in (
            "train_steps",
            "serving_min_replicas",
            "epochs",
            "batch_size",
            "eval_batch_size",
            "image_size",
            "dataflow_disk_size_gb",
        ):
            if getattr(self, name) < 1:
                errors.append(_problem(name, f"must be >= 1, got {getattr(self, name)}"))
        for name, kind in _field_types().items():
            if kind is float and not math.isfinite(getattr(self, name)):
                errors.append(_problem(name, f"must be a finite number, got {getattr(self, name)}"))
        if self.train_steps >= 1 and self.epochs > self.train_steps:
            errors.append(_problem("epochs", f"{self.epochs} epochs need >= as many train_steps"))
        if self.serving_max_replicas < self.serving_min_replicas:
            errors.append(_problem("serving_max_replicas", "must be >= serving_min_replicas"))
        if not 0.0 < self.drift_threshold <= 1.0:
            errors.append(
                _problem(
                    "drift_threshold",
                    f"a Jensen-Shannon divergence is in [0, 1]: must be in (0, 1], got "
                    f"{self.drift_threshold}",
                )
            )
        for name in (
            "min_mean_iou",
            "min_pixel_accuracy",
            "max_mean_iou_drop",
            "monitor_max_iou_drop",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                errors.append(_problem(name, f"must be in [0, 1], got {getattr(self, name)}"))
        if self.learning_rate <= 0:
            errors.append(_problem("learning_rate", "must be > 0"))
        try:
            architectures.check_architecture(self.model_architecture)
        except ValueError as error:
            errors.append(_problem("model_architecture", str(error)))
        try:
            architectures.check_backbone(self.model_backbone)
        except ValueError as error:
            errors.append(_problem("model_backbone", str(error)))
        if self.model_alpha <= 0:
            errors.append(_problem("model_alpha", "must be > 0"))
        if len(self.decoder_filters) != 4 or min(self.decoder_filters, default=0) < 1:
            errors.append(
                _problem("decoder_filters", f"need 4 positive ints, got {self.decoder_filters}")
            )
        if bool(self.training_accelerator_type) != bool(self.training_accelerator_count):
            errors.append(
                _problem(
                    "training_accelerator_count",
                    "set training_accelerator_type and training_accelerator_count together",
                )
            )
        for name in ("hf_model_repo_id", "hf_space_repo_id"):
            value = getattr(self, name)
            if value and not re.fullmatch(r"[\w.-]{1,96}/[\w.-]{1,96}", value):
                errors.append(_problem(name, f"{value!r} is not 'namespace/name'"))
        if self.hf_space_repo_id and not self.hf_model_repo_id:
            errors.append(_problem("hf_space_repo_id", "needs hf_model_repo_id (the app loads it)"))
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.hf_token_env_var):
            errors.append(
                _problem(
                    "hf_token_env_var",
                    "must be the NAME of an environment variable (e.g. HF_TOKEN), not a token",
                )
            )
        if self.hf_token_secret_name.startswith("hf_"):
            errors.append(
                _problem("hf_token_secret_name", "looks like a token; give the secret's NAME")
            )
        elif not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", self.hf_token_secret_name):
            errors.append(
                _problem(
                    "hf_token_secret_name",
                    f"{self.hf_token_secret_name!r} is not a Secret Manager secret NAME (letters, "
                    "digits, '_' and '-'; the project comes from --project, so no '/')",
                )
            )
        if problem := endpoint_problem(self.hf_endpoint):
            errors.append(_problem("hf_endpoint", problem))
        for name in ("data_uri", "pipeline_root"):
            value = getattr(self, name)
            if value.startswith("gs://") and not re.fullmatch(r"gs://[a-z0-9][\w.-]*(/.*)?", value):
                errors.append(
                    _problem(name, f"{value!r} names no bucket; use gs://<bucket>/<path>")
                )
        if errors:
            raise ConfigError("Invalid pipeline configuration:\n  " + "\n  ".join(errors))

    def validate_for(self, target: str) -> None:
        """Checks a target needs on top of validate_common (Vertex needs the GCP fields)."""
        if target == TARGET_LOCAL:
            if self.enable_dataflow:
                raise ConfigError(
                    "Invalid pipeline configuration:\n  "
                    + _problem("enable_dataflow", "Dataflow runs only on Vertex; disable it")
                )
            return
        if target != TARGET_VERTEX:
            raise ConfigError(
                f"unknown target {target!r}; use {TARGET_LOCAL!r} or {TARGET_VERTEX!r}"
            )
        errors = [
            _problem(name, "is required for Vertex runs")
            for name in ("project", "region", "bucket", "image_uri")
            if not getattr(self, name)
        ]
        if self.train_spans_window:
            errors.append(
                _problem(
                    "train_spans_window",
                    "spans run locally only for now: TFX 1.16's Vertex compiler takes neither "
                    "the span window's nor the previous span's input resolution (it compiles "
                    "single channels and the latest-artifact resolvers only); set it to 0 on "
                    "Vertex",
                )
            )
        if self.bucket.startswith("gs://") or "/" in self.bucket:
            errors.append(_problem("bucket", f"give the bucket name only, got {self.bucket!r}"))
        for name in ("data_uri", "pipeline_root"):
            value = getattr(self, name)
            if value and not value.startswith("gs://"):
                errors.append(_problem(name, f"must be a gs:// URI on Vertex, got {value!r}"))
        if errors:
            raise ConfigError(
                "Invalid pipeline configuration for Vertex:\n  " + "\n  ".join(errors)
            )

    # -- derived locations
    def data_location(self, target: str) -> str:
        if self.data_uri:
            return self.data_uri
        if target == TARGET_VERTEX:
            return f"gs://{self.bucket}/data"
        return os.path.abspath(os.path.join(self.local_dir, "data"))

    def pipeline_root_location(self, target: str) -> str:
        if self.pipeline_root:
            return self.pipeline_root
        if target == TARGET_VERTEX:
            return f"gs://{self.bucket}/pipeline_root/{self.pipeline_name}"
        return os.path.abspath(os.path.join(self.local_dir, "pipeline_root"))

    @property
    def metadata_path(self) -> str:
        return os.path.abspath(os.path.join(self.local_dir, "metadata.sqlite"))

    @property
    def serving_model_dir(self) -> str:
        """Local filesystem Pusher destination."""
        return os.path.abspath(os.path.join(self.local_dir, "serving_model"))

    def replace(self, **changes: Any) -> PipelineConfig:
        return dataclasses.replace(self, **changes)


def _problem(name: str, message: str) -> str:
    return f"{name} (env {env_var_name(name)}, flag {flag_name(name)}): {message}"


def env_var_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def _field_types() -> dict[str, Any]:
    return get_type_hints(PipelineConfig)


def _parse_value(name: str, kind: Any, raw: str, source: str) -> Any:
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} ({source}): expected true/false, got {raw!r}")
    try:
        if kind == tuple[int, ...]:
            return tuple(int(part) for part in raw.split(",") if part.strip())
        return kind(raw)
    except ValueError:
        expected = getattr(kind, "__name__", "comma-separated ints")
        raise ConfigError(f"{name} ({source}): expected {expected}, got {raw!r}") from None


def values_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Field values set by SEGPIPE_* variables; unknown SEGPIPE_* names are an error (typos)."""
    types = _field_types()
    known = {env_var_name(name): name for name in types}
    unknown = sorted(key for key in environ if key.startswith(ENV_PREFIX) and key not in known)
    if unknown:
        raise ConfigError(
            f"unknown environment variable(s) {', '.join(unknown)} (typo?); "
            f"known: {', '.join(sorted(known))}"
        )
    return {
        known[key]: _parse_value(known[key], types[known[key]], value, f"env {key}")
        for key, value in environ.items()
        if key in known
    }


def _argparse_type(name: str, kind: Any) -> Any:
    def parse(raw: str) -> Any:
        try:
            return _parse_value(name, kind, raw, "flag")
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per field; unset flags stay None so that env and defaults show through."""
    group = parser.add_argument_group("pipeline configuration (env: SEGPIPE_<FIELD>)")
    types = _field_types()
    for config_field in dataclasses.fields(PipelineConfig):
        kind = types[config_field.name]
        help_text = f"{config_field.metadata['help']} [default: {config_field.default!r}]"
        if kind is bool:
            group.add_argument(
                flag_name(config_field.name),
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        else:
            group.add_argument(
                flag_name(config_field.name),
                type=_argparse_type(config_field.name, kind),
                default=None,
                metavar=getattr(kind, "__name__", "VALUES").upper(),
                help=help_text,
            )


def config_flags(config: PipelineConfig, leave_out: Sequence[str] = ()) -> list[str]:
    """The command-line flags that rebuild `config` from the defaults (fields at their default
    and those in `leave_out` are not passed): for a job that runs a command line elsewhere, e.g.
    the scheduled monitor on Vertex."""
    flags: list[str] = []
    for config_field in dataclasses.fields(PipelineConfig):
        value = getattr(config, config_field.name)
        if value == config_field.default or config_field.name in leave_out:
            continue
        flag = flag_name(config_field.name)
        if isinstance(value, bool):
            flags.append(flag if value else f"--no-{flag[2:]}")
        elif isinstance(value, tuple):
            flags += [flag, ",".join(str(part) for part in value)]
        else:
            flags += [flag, str(value)]
    return flags


def load_config(
    args: argparse.Namespace | None = None,
    environ: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> PipelineConfig:
    """Defaults < `defaults` (e.g. a demo dataset's settings) < SEGPIPE_* environment < CLI
    flags < explicit keyword overrides."""
    values = {**(defaults or {}), **values_from_env(os.environ if environ is None else environ)}
    if args is not None:
        for config_field in dataclasses.fields(PipelineConfig):
            value = getattr(args, config_field.name, None)
            if value is not None:
                values[config_field.name] = value
    values.update(overrides)
    return PipelineConfig(**values)


def parse_config(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> PipelineConfig:
    """Config from CLI arguments (and the environment), for scripts that take only config flags."""
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    return config_from_cli(parser, parser.parse_args(argv), environ=environ)


def config_from_cli(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    target: str | None = None,
    environ: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> PipelineConfig:
    """load_config (validated for `target` when given); problems exit as usage errors."""
    try:
        config = load_config(args, environ, defaults)
        if target is not None:
            config.validate_for(target)
    except ConfigError as error:
        parser.error(str(error))
        raise  # parser.error exits; keeps type checkers happy
    return config
