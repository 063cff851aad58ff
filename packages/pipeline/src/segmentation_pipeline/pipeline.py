"""`create_pipeline(config, target)`: the one TFX pipeline for every target (local, Vertex).

ImportExampleGen -> StatisticsGen -> (ImportSchemaGen) -> ExampleValidator -> AnomaliesGate ->
Transform -> Trainer -> (latest blessed model Resolver) -> Evaluator -> Pusher + HFPusher.
With spans (`train_spans_window`, span_inputs.py), ExampleGen reads the newest span, Transform
and Trainer a window of spans, and a DriftValidator compares the newest span's statistics with
the previous span's (drift.py; reported, not a gate).
Only the places that differ per target branch on it: Trainer/Pusher flavours (Vertex
Training and Vertex Endpoint through `custom_config`) and the Beam arguments (Dataflow).
TFX is imported module by module, not as `tfx.v1`: importing `tfx.v1` loads its Google Cloud
extensions (aiplatform, ~10 s of every local run and test) that only Vertex targets use.
"""

from __future__ import annotations

import os
from typing import Any

import tensorflow_model_analysis as tfma
from google.protobuf.wrappers_pb2 import BoolValue
from segmentation_data_prep import record_format
from segmentation_data_prep.dataset_spec import DatasetSpec
from segmentation_model import evaluation, metrics, model_info, trainer, transform
from tfx.components import (
    DistributionValidator,
    Evaluator,
    ExampleValidator,
    ImportExampleGen,
    Pusher,
    StatisticsGen,
    Trainer,
    Transform,
)
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
    LatestBlessedModelStrategy,
)
from tfx.orchestration import metadata
from tfx.orchestration.pipeline import Pipeline
from tfx.proto.pusher_pb2 import PushDestination
from tfx.proto.trainer_pb2 import EvalArgs, TrainArgs
from tfx.types import Channel, standard_artifacts

from segmentation_pipeline import drift, span_inputs, vertex_assets
from segmentation_pipeline.anomalies_gate import AnomaliesGate
from segmentation_pipeline.config import TARGET_LOCAL, TARGET_VERTEX, ConfigError, PipelineConfig
from segmentation_pipeline.dataset import dataset_spec
from segmentation_pipeline.node_ids import (
    ANOMALIES_GATE,
    DRIFT_VALIDATOR,
    EVALUATOR,
    EXAMPLE_GEN,
    EXAMPLE_VALIDATOR,
    HF_PUSHER,
    PUSHER,
    RESOLVER,
    SCHEMA_GEN,
    STATISTICS_GEN,
    TRAINER,
    TRANSFORM,
)

PREPROCESSING_FN = f"{transform.__name__}.{transform.preprocessing_fn.__name__}"
RUN_FN = f"{trainer.__name__}.{trainer.run_fn.__name__}"


def local_beam_args() -> list[str]:
    """DirectRunner in one process: on a small machine, worker start-up costs more than it saves."""
    return ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def dataflow_beam_args(config: PipelineConfig) -> list[str]:
    """Dataflow for the Beam-heavy components; workers run the pipeline image (our packages)."""
    args = [
        "--runner=DataflowRunner",
        f"--project={config.project}",
        f"--region={config.region}",
        f"--temp_location=gs://{config.bucket}/dataflow/tmp",
        f"--staging_location=gs://{config.bucket}/dataflow/staging",
        f"--machine_type={config.dataflow_machine_type}",
        f"--max_num_workers={config.dataflow_max_workers}",
        f"--disk_size_gb={config.dataflow_disk_size_gb}",
        f"--sdk_container_image={config.image_uri}",
        "--experiments=use_runner_v2",
    ]
    if config.dataflow_service_account:
        args.append(f"--service_account_email={config.dataflow_service_account}")
    if config.dataflow_subnetwork:
        args.append(f"--subnetwork={config.dataflow_subnetwork}")
    if not config.dataflow_use_public_ips:
        args.append("--no_use_public_ips")
    return args


# PipelineConfig fields passed to the Trainer under the same name.
_TRAINING_QUALITY_SETTINGS = (
    "lr_schedule",
    "lr_warmup_steps",
    "early_stopping_patience",
    "loss",
    "class_weighting",
    "class_weight_cap",
    "augment",
    "augment_max_zoom",
    "augment_color_jitter",
)


def trainer_custom_config(config: PipelineConfig, spec: DatasetSpec) -> dict[str, Any]:
    """Hyperparameters for segmentation_model.trainer.run_fn (with the dataset's classes),
    checked by the trainer's own rules here, before any component runs."""
    from segmentation_model.trainer import Hyperparameters

    custom_config = {
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "eval_batch_size": config.eval_batch_size,
        "learning_rate": config.learning_rate,
        "model_architecture": config.model_architecture,
        "backbone": config.model_backbone,
        "alpha": config.model_alpha,
        "mixed_precision": config.mixed_precision,
        "jit_compile": config.jit_compile,
        "decoder_filters": list(config.decoder_filters),
        "deterministic": config.deterministic,
        **{name: getattr(config, name) for name in _TRAINING_QUALITY_SETTINGS},
        "dataset_spec": spec.to_dict(),
    }
    try:
        Hyperparameters.from_custom_config(custom_config)
    except ValueError as error:
        raise ConfigError(f"Invalid training settings: {error}") from None
    return custom_config


def eval_config(config: PipelineConfig, spec: DatasetSpec) -> tfma.EvalConfig:
    """Mean IoU and pixel accuracy on the eval split, gated absolutely and against the baseline,
    over the spec's classes with its void pixels left out; thresholds from the config.

    Model spec and metrics come from `segmentation_model.evaluation` (the model's own
    confusion-matrix Keras metrics: one [C, C] matrix per batch, not per-pixel Python work).
    No slicing beyond the overall slice: per-slice segmentation metrics need a slicing feature
    the records do not have.

    Speed (profiled): most Evaluator time went to loading models, not to metrics. TFMA detects
    the model type by loading the SavedModel as Keras, then loads it as Keras again to compute
    the compiled metrics; declaring the type (in the model spec) and switching default metrics
    off leaves the one signature load per model that evaluation needs.
    """
    higher_is_better = tfma.MetricDirection.HIGHER_IS_BETTER

    def threshold(lower_bound: float, max_drop: float | None) -> tfma.MetricThreshold:
        gate = tfma.MetricThreshold(
            value_threshold=tfma.GenericValueThreshold(lower_bound={"value": lower_bound})
        )
        if max_drop is not None:
            # candidate - baseline > -max_drop (strictly, so 0 means "not worse").
            gate.change_threshold.CopyFrom(
                tfma.GenericChangeThreshold(
                    direction=higher_is_better, absolute={"value": -max_drop - 1e-9}
                )
            )
        return gate

    thresholds = {
        metrics.MEAN_IOU: threshold(config.min_mean_iou, config.max_mean_iou_drop),
        metrics.PIXEL_ACCURACY: threshold(config.min_pixel_accuracy, None),
    }
    return tfma.EvalConfig(
        model_specs=[evaluation.model_spec()],
        # The metrics above are the evaluation; re-running the model's compiled Keras metrics
        # would load it a second time as Keras and compute the same numbers again.
        options=tfma.Options(include_default_metrics=BoolValue(value=False)),
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    # Every class's IoU too, reported, not gated: a class at zero shows at once.
                    *evaluation.metric_configs(
                        spec.class_names, spec.void_label, thresholds, per_class_iou=True
                    ),
                    tfma.MetricConfig(class_name="ExampleCount"),
                ]
            )
        ],
    )


def create_pipeline(config: PipelineConfig, target: str = TARGET_LOCAL) -> Pipeline:
    """The whole pipeline for `target` ("local" or "vertex"); see the module docstring.

    The dataset spec is read here (`segmentation_pipeline.dataset`): every class-dependent
    parameter of the components is fixed when the pipeline is created.
    """
    config.validate_for(target)
    spec = dataset_spec(config, target)
    on_vertex = target == TARGET_VERTEX
    heavy_beam_args = dataflow_beam_args(config) if on_vertex and config.enable_dataflow else None

    example_gen = ImportExampleGen(
        input_base=config.data_location(target),
        input_config=span_inputs.example_gen_input(config),
        range_config=span_inputs.example_gen_range(config),
    ).with_id(EXAMPLE_GEN)
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"]).with_id(STATISTICS_GEN)
    schema_gen = ImportSchemaGen(schema_file=schema_location(config, target)).with_id(SCHEMA_GEN)
    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    ).with_id(EXAMPLE_VALIDATOR)
    gate = AnomaliesGate(
        anomalies=example_validator.outputs["anomalies"], schema=schema_gen.outputs["schema"]
    ).with_id(ANOMALIES_GATE)
    validated_schema = gate.outputs["validated_schema"]
    drift_validator = (
        DistributionValidator(
            statistics=statistics_gen.outputs["statistics"],
            baseline_statistics=span_inputs.previous_statistics(),
            config=drift.validator_config(config.drift_threshold),
            include_split_pairs=[drift.SPLIT_PAIR],
        ).with_id(DRIFT_VALIDATOR)
        if span_inputs.uses_spans(config)
        else None
    )
    training_examples = span_inputs.training_examples(config, example_gen.outputs["examples"])

    transform = Transform(
        examples=training_examples,
        schema=validated_schema,
        preprocessing_fn=PREPROCESSING_FN,
        custom_config={
            "image_size": config.image_size,
            "num_classes": spec.num_classes,
            "void_label": spec.void_label,
        },
        # Statistics of decoded pixel arrays cost minutes and tell nothing StatisticsGen and
        # the evaluation do not already say.
        disable_statistics=True,
    ).with_id(TRANSFORM)

    trainer_args: dict[str, Any] = {
        "run_fn": RUN_FN,
        "examples": transform.outputs["transformed_examples"],
        "transform_graph": transform.outputs["transform_graph"],
        "schema": validated_schema,
        "train_args": TrainArgs(num_steps=config.train_steps),
        "eval_args": EvalArgs(num_steps=config.eval_steps),
    }
    if on_vertex and config.enable_vertex_training:
        from tfx.extensions.google_cloud_ai_platform.trainer.component import (
            Trainer as VertexTrainer,
        )

        trainer = VertexTrainer(
            **trainer_args,
            custom_config={**trainer_custom_config(config, spec), **vertex_training(config)},
        )
    else:
        trainer = Trainer(**trainer_args, custom_config=trainer_custom_config(config, spec))
    trainer = trainer.with_id(TRAINER)

    resolver = Resolver(
        strategy_class=LatestBlessedModelStrategy,
        model=Channel(type=standard_artifacts.Model),
        model_blessing=Channel(type=standard_artifacts.ModelBlessing),
    ).with_id(RESOLVER)
    evaluator = Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=resolver.outputs["model"],
        example_splits=["eval"],
        eval_config=eval_config(config, spec),
    ).with_id(EVALUATOR)

    blessed = {"model": trainer.outputs["model"], "model_blessing": evaluator.outputs["blessing"]}
    if on_vertex:
        from tfx.extensions.google_cloud_ai_platform.pusher.component import (
            Pusher as VertexPusher,
        )

        pusher = VertexPusher(**blessed, custom_config=vertex_serving(config))
    else:
        pusher = Pusher(
            **blessed,
            push_destination=PushDestination(
                filesystem=PushDestination.Filesystem(base_directory=config.serving_model_dir)
            ),
        )
    pusher = pusher.with_id(PUSHER)

    hf_pusher = (
        hf_pusher_component(
            config,
            target,
            spec,
            evaluator.outputs["evaluation"],
            **blessed,
            # With spans, the card names the spans trained on and the drift that led here.
            examples=training_examples if span_inputs.uses_spans(config) else None,
            drift=drift_validator.outputs["anomalies"] if drift_validator else None,
        )
        if config.hf_model_repo_id
        else None
    )

    components = [
        example_gen,
        statistics_gen,
        schema_gen,
        example_validator,
        gate,
        *([drift_validator] if drift_validator else []),
        transform,
        trainer,
        resolver,
        evaluator,
        pusher,
        *([hf_pusher] if hf_pusher else []),
    ]
    # Per component rather than pipeline-wide, so Dataflow flags never mix with DirectRunner ones.
    for component in (example_gen, statistics_gen, transform, evaluator):
        component.with_beam_pipeline_args(heavy_beam_args or local_beam_args())

    return Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root_location(target),
        components=components,
        enable_cache=config.enable_cache,
        metadata_connection_config=(
            None if on_vertex else metadata.sqlite_metadata_connection_config(config.metadata_path)
        ),
    )


def hf_pusher_component(
    config: PipelineConfig,
    target: str,
    spec: DatasetSpec,
    evaluation: Channel,
    model: Channel,
    model_blessing: Channel,
    examples: Channel | None = None,
    drift: Channel | None = None,
) -> Any:
    """HFPusher: blessed model -> Hub model repo (+ the Gradio Space). Token by name only.

    The dataset spec's labels file goes next to saved_model.pb (the Space's legend and palette
    read it) and each scored class's IoU metric name to the model card's class table.
    """
    from tfx_hf_pusher.component import HFPusher

    on_vertex = target == TARGET_VERTEX
    space: dict[str, Any] = {}
    if config.hf_space_repo_id:
        space = {
            "space_repo_id": config.hf_space_repo_id,
            "space_template": space_template_location(config, target),
            "space_private": config.hf_space_private,
        }
    return HFPusher(
        model=model,
        model_blessing=model_blessing,
        evaluation=evaluation,
        examples=examples,
        drift=drift,
        repo_id=config.hf_model_repo_id,
        private=config.hf_private,
        endpoint=config.hf_endpoint or None,
        token_env_var=config.hf_token_env_var,
        token_secret=(
            f"projects/{config.project}/secrets/{config.hf_token_secret_name}"
            if on_vertex
            else None
        ),
        model_info_file=model_info.MODEL_INFO_FILE,  # the trainer writes it beside the model
        # No model_card: TFX 1.16 JSON-decodes every value of a dict parameter, so its text
        # fields fail to parse under LocalDagRunner; HFPusher's default card is used.
        labels=spec.labels_json(),
        class_metrics={
            index: name
            for index, name in enumerate(metrics.class_iou_names(spec.class_names))
            if index != spec.void_label
        },
        **space,
    ).with_id(HF_PUSHER)


def space_template_location(config: PipelineConfig, target: str) -> str:
    """The Gradio app directory: `hf_space_template` or the installed package's locally; on
    Vertex its content-addressed copy (uploaded by `segmentation_pipeline.vertex submit`)."""
    if target == TARGET_VERTEX:
        return vertex_assets.asset_uri(
            config.pipeline_root_location(target),
            "space_template",
            space_template_location(config, TARGET_LOCAL),
        )
    if config.hf_space_template:
        return os.path.abspath(config.hf_space_template)
    try:
        from segmentation_space_app import template_dir
    except ImportError as error:
        raise ConfigError(
            "hf_space_repo_id is set but segmentation_space_app (the Space template) is not "
            "installed: `pip install -e packages/space_app`, set hf_space_template, or unset "
            "hf_space_repo_id."
        ) from error
    return str(template_dir())


def schema_location(config: PipelineConfig, target: str) -> str:
    """The data_prep schema: shipped in the package locally; its content-addressed copy on Vertex.

    On Vertex the steps run in the image, where the package path of the compiling machine does
    not exist; `segmentation_pipeline.vertex submit` uploads the schema to this URI first.
    """
    if target == TARGET_VERTEX:
        return vertex_assets.asset_uri(
            config.pipeline_root_location(target), "schema", record_format.schema_path()
        )
    return record_format.schema_path()


def vertex_training(config: PipelineConfig) -> dict[str, Any]:
    """custom_config keys that make the Trainer run as a Vertex Training custom job."""
    from tfx.extensions.google_cloud_ai_platform import constants
    from tfx.extensions.google_cloud_ai_platform.trainer.executor import TRAINING_ARGS_KEY

    machine_spec: dict[str, Any] = {"machine_type": config.training_machine_type}
    if config.training_accelerator_type:
        machine_spec["accelerator_type"] = config.training_accelerator_type
        machine_spec["accelerator_count"] = config.training_accelerator_count
    return {
        constants.ENABLE_VERTEX_KEY: True,
        constants.VERTEX_REGION_KEY: config.region,
        TRAINING_ARGS_KEY: {
            "project": config.project,
            "worker_pool_specs": [
                {
                    "machine_spec": machine_spec,
                    "replica_count": 1,
                    "container_spec": {"image_uri": config.image_uri},
                }
            ],
        },
    }


def vertex_serving(config: PipelineConfig) -> dict[str, Any]:
    """custom_config of the Vertex Pusher: upload the SavedModel and deploy it to an endpoint."""
    from tfx.extensions.google_cloud_ai_platform import constants

    return {
        constants.ENABLE_VERTEX_KEY: True,
        constants.VERTEX_REGION_KEY: config.region,
        constants.VERTEX_CONTAINER_IMAGE_URI_KEY: config.serving_image_uri,
        constants.SERVING_ARGS_KEY: {
            "project_id": config.project,
            "endpoint_name": config.endpoint_name,
            "machine_type": config.serving_machine_type,
            "min_replica_count": config.serving_min_replicas,
            "max_replica_count": config.serving_max_replicas,
        },
    }
