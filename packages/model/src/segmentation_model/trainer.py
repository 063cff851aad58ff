"""TFX Trainer module (generic executor): `run_fn` trains a model and exports the SavedModel.

The model is one of `architectures.ARCHITECTURES` (custom_config `model_architecture`).

Hyperparameters come from the Trainer's `custom_config` (keys and defaults: `Hyperparameters`);
keys starting with `ai_platform_` belong to TFX's Vertex/AI Platform Trainer and are ignored,
any other unknown key is an error (typos should not silently train with defaults).

Steps: `train_args.num_steps` is the total number of training steps, spread over `epochs`
(steps_per_epoch = num_steps // epochs); `eval_args.num_steps` evaluation steps run after
every epoch (unset: one full pass over the eval split). TensorBoard logs (scalars per epoch
and prediction images) go to `fn_args.model_run_dir`. The model size comes from the
Transform output, so it is configured once, in Transform's custom_config. The classes come
from the dataset spec (`dataset_spec`: `DatasetSpec.to_dict()`, required by `run_fn`): output
channels, the void label that loss and metrics skip, metric names and prediction colours.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import Any

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from segmentation_data_prep.dataset_spec import DatasetSpec, DatasetSpecError
from tfx.components.trainer.fn_args_utils import DataAccessor, FnArgs
from tfx_bsl.public import tfxio

from segmentation_model import architectures, class_balance, losses, model_info, signatures
from segmentation_model.augmentation import AugmentOptions, augment_batch
from segmentation_model.metrics import MEAN_IOU, segmentation_metrics
from segmentation_model.phase_times import PHASES_FILE, PhaseTimes
from segmentation_model.transform import IMAGE_KEY, LABEL_FREQUENCY_KEY, LABEL_KEY

logger = logging.getLogger(__name__)

_IGNORED_KEY_PREFIX = "ai_platform_"  # tfx.extensions.google_cloud_ai_platform settings
LR_CONSTANT = "constant"
LR_WARMUP_COSINE = "warmup-cosine"
LR_SCHEDULES = (LR_CONSTANT, LR_WARMUP_COSINE)


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    """Trainer custom_config keys, with their defaults.

    epochs: Keras epochs over train_args.num_steps steps (metrics and TensorBoard per epoch).
    batch_size / eval_batch_size: examples per training / evaluation step.
    learning_rate: Adam learning rate (whole network, or the decoder during warm-up).
    model_architecture: one of `architectures.ARCHITECTURES` (UNet, DeepLabV3+, SegFormer-B0).
    backbone: DeepLabV3+'s encoder, one of `architectures.DEEPLAB_BACKBONES`.
    alpha: MobileNetV2 width multiplier (UNet, DeepLabV3+ on MobileNetV2; 0.35 is ~4x cheaper).
    encoder_weights: None (random init, works offline), the path of a local encoder weights
        file (.h5, see each architecture's builder), or "imagenet" (UNet only, needs network).
    decoder_filters: filters of the UNet's four decoder stages, from 1/16 to 1/2 resolution.
    dropout: dropout before the classifier (0 disables).
    warmup_epochs: with pretrained encoder_weights, train only the decoder for this many
        epochs, then unfreeze the encoder and continue at fine_tune_learning_rate (0: no freeze).
    fine_tune_learning_rate: learning rate after the warm-up.
    augment: augment the training split (`segmentation_model.augmentation`): random flips,
        zoom-and-crop up to augment_max_zoom, colour jitter of strength augment_color_jitter.
    loss: one of `losses.LOSSES` (cross-entropy, focal, dice and their "+dice" sums).
    focal_gamma: focusing exponent of the focal kinds.
    class_weighting: one of `class_balance.METHODS`: per-class weights of the pixel-wise loss
        term from the training split's label frequencies (measured by Transform), capped at
        class_weight_cap.
    lr_schedule: "constant" or "warmup-cosine" (linear warm-up over lr_warmup_steps from 0,
        then cosine decay to 0 at the last step).
    early_stopping_patience: stop after this many epochs without a better validation mean
        IoU and keep the best epoch's weights (0: train all epochs, keep the last).
    shuffle_buffer_size: training examples shuffled together (each ~250 KB at 128 px).
    mixed_precision: float16 compute on a GPU (ignored, with a warning, without one); the
        probabilities and the loss stay float32.
    jit_compile: compile the training step with XLA (slow to compile on CPU: off by default).
    seed: seed of weights init, shuffling and augmentation.
    deterministic: TF op determinism on top of the seeds (identical metrics run to run on one
        machine, at some cost in speed): what the pull-request model check relies on.
    dataset_spec: the dataset's `DatasetSpec.to_dict()` (classes, colours, void label); the
        pipeline reads it from the data directory. `run_fn` needs it.
    """

    epochs: int = 10
    batch_size: int = 16
    eval_batch_size: int = 16
    learning_rate: float = 1e-3
    model_architecture: str = architectures.DEFAULT_ARCHITECTURE
    backbone: str = architectures.DEEPLAB_BACKBONES[0]
    alpha: float = 1.0
    encoder_weights: str | None = None
    decoder_filters: tuple[int, ...] = (256, 128, 64, 32)
    dropout: float = 0.0
    warmup_epochs: int = 0
    fine_tune_learning_rate: float = 1e-4
    augment: bool = True
    augment_max_zoom: float = 1.25
    augment_color_jitter: float = 0.1
    loss: str = losses.CROSS_ENTROPY
    focal_gamma: float = 2.0
    class_weighting: str = class_balance.NONE
    class_weight_cap: float = 10.0
    lr_schedule: str = LR_CONSTANT
    lr_warmup_steps: int = 0
    early_stopping_patience: int = 0
    shuffle_buffer_size: int = 256
    mixed_precision: bool = False
    jit_compile: bool = False
    seed: int = 0
    deterministic: bool = False
    dataset_spec: dict[str, Any] | None = None

    @classmethod
    def from_custom_config(cls, custom_config: dict[str, Any] | None) -> Hyperparameters:
        """Validated hyperparameters from a Trainer custom_config (JSON types)."""
        config = {
            key: value
            for key, value in (custom_config or {}).items()
            if not key.startswith(_IGNORED_KEY_PREFIX)
        }
        fields = {field.name: field for field in dataclasses.fields(cls)}
        unknown = sorted(set(config) - set(fields))
        if unknown:
            raise ValueError(
                f"Unknown Trainer custom_config keys {unknown}; valid keys: {sorted(fields)}"
            )
        if "decoder_filters" in config:
            config["decoder_filters"] = tuple(config["decoder_filters"])
        params = cls(**config)
        architectures.check_architecture(params.model_architecture)
        architectures.check_backbone(params.backbone)
        if params.epochs < 1 or params.batch_size < 1 or params.eval_batch_size < 1:
            raise ValueError(f"epochs and batch sizes must be >= 1, got {params}")
        if params.loss not in losses.LOSSES:
            raise ValueError(f"loss must be one of {losses.LOSSES}, got {params.loss!r}")
        if params.class_weighting not in class_balance.METHODS:
            raise ValueError(
                f"class_weighting must be one of {class_balance.METHODS}, "
                f"got {params.class_weighting!r}"
            )
        if params.class_weight_cap < 1.0:
            raise ValueError(f"class_weight_cap must be >= 1, got {params.class_weight_cap}")
        if params.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule must be one of {LR_SCHEDULES}, got {params.lr_schedule!r}"
            )
        if params.lr_warmup_steps < 0 or params.early_stopping_patience < 0:
            raise ValueError("lr_warmup_steps and early_stopping_patience must be >= 0")
        params.augment_options()  # validates the augmentation settings
        if params.dataset_spec is not None:
            params.spec()  # validates the classes
        if params.warmup_epochs:
            if params.encoder_weights is None:
                raise ValueError(
                    "warmup_epochs freezes a pretrained encoder: set encoder_weights to "
                    "'imagenet' or a weights file, or set warmup_epochs to 0"
                )
            if not 0 < params.warmup_epochs < params.epochs:
                raise ValueError(
                    f"warmup_epochs must be in [1, epochs={params.epochs}), "
                    f"got {params.warmup_epochs}"
                )
        return params

    def spec(self) -> DatasetSpec:
        """The dataset spec; ValueError when it is missing or invalid."""
        if self.dataset_spec is None:
            raise ValueError(
                "Trainer custom_config needs 'dataset_spec' (DatasetSpec.to_dict() of the data's "
                "dataset_spec.json): the class count and void label come from it"
            )
        try:
            return DatasetSpec.from_dict(self.dataset_spec, "custom_config['dataset_spec']")
        except DatasetSpecError as error:
            raise ValueError(str(error)) from None

    def augment_options(self) -> AugmentOptions:
        return AugmentOptions(
            max_zoom=self.augment_max_zoom, color_jitter=self.augment_color_jitter
        )


def _model_inputs(features: dict[str, tf.Tensor], label: tf.Tensor):
    """Drops the dataset-level label frequencies: the model takes the image only."""
    return {IMAGE_KEY: features[IMAGE_KEY]}, label


def make_dataset(
    file_pattern: list[str],
    data_accessor: DataAccessor,
    tf_transform_output: tft.TFTransformOutput,
    batch_size: int,
    *,
    training: bool,
    params: Hyperparameters,
    num_epochs: int | None = None,
) -> tf.data.Dataset:
    """(features {IMAGE_KEY}, label LABEL_KEY) batches of transformed examples, prefetched."""
    dataset = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(
            batch_size=batch_size,
            label_key=LABEL_KEY,
            shuffle=training,
            shuffle_buffer_size=params.shuffle_buffer_size,
            shuffle_seed=params.seed,
            num_epochs=num_epochs,
        ),
        tf_transform_output.transformed_metadata.schema,
    )
    dataset = dataset.map(_model_inputs, num_parallel_calls=tf.data.AUTOTUNE)
    if training and params.augment:
        options = params.augment_options()
        dataset = dataset.map(
            lambda features, label: augment_batch(features, label, options),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


def read_label_frequencies(
    file_pattern: list[str], data_accessor: DataAccessor, tf_transform_output: tft.TFTransformOutput
) -> list[float]:
    """The training split's class shares, as Transform's analyzer recorded them."""
    schema = tf_transform_output.transformed_metadata.schema
    if LABEL_FREQUENCY_KEY not in tf_transform_output.transformed_feature_spec():
        raise ValueError(
            f"class_weighting needs the transform output {LABEL_FREQUENCY_KEY!r}, which this "
            "transform graph lacks (made by an older preprocessing_fn): re-run Transform, or "
            "set class_weighting to 'none'"
        )
    dataset = data_accessor.tf_dataset_factory(
        file_pattern, tfxio.TensorFlowDatasetOptions(batch_size=1, num_epochs=1), schema
    )
    features = next(iter(dataset.take(1)))
    return [float(share) for share in features[LABEL_FREQUENCY_KEY][0].numpy()]


def learning_rate(
    params: Hyperparameters, initial: float, steps: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Constant, or linear warm-up from 0 over lr_warmup_steps then cosine decay to 0."""
    if params.lr_schedule == LR_CONSTANT:
        return initial
    warmup = min(params.lr_warmup_steps, max(steps - 1, 0))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(steps - warmup, 1),
        warmup_target=initial,
        warmup_steps=warmup,
    )


class PredictionImages(keras.callbacks.Callback):
    """After each epoch, logs image | label | prediction panels of a few eval examples to
    TensorBoard (`<model_run_dir>/predictions`): what the numbers mean, at a glance."""

    def __init__(
        self,
        dataset: tf.data.Dataset,
        log_dir: str,
        colors: tuple[tuple[int, int, int], ...],
        max_images: int = 3,
    ) -> None:
        super().__init__()
        self._palette = tf.constant(colors, tf.uint8)  # the dataset spec's colours
        features, labels = next(iter(dataset.take(1)))
        self._images = features[IMAGE_KEY][:max_images]
        self._labels = labels[:max_images]
        self._writer = tf.summary.create_file_writer(os.path.join(log_dir, "predictions"))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        predicted = tf.argmax(self.model(self._images, training=False), axis=-1)
        palette = self._palette
        pixels = tf.cast(tf.round((self._images + 1.0) * 127.5), tf.uint8)
        panels = tf.concat(
            [pixels, tf.gather(palette, self._labels), tf.gather(palette, predicted)], axis=2
        )
        with self._writer.as_default():
            tf.summary.image(
                "eval_predictions",
                panels,
                step=epoch,
                max_outputs=8,
                description="Eval examples, left to right: image, label, prediction.",
            )
        self._writer.flush()


def _distribution_strategy() -> tf.distribute.Strategy:
    gpus = tf.config.list_physical_devices("GPU")
    logger.info("Training on %s", [gpu.name for gpu in gpus] or "CPU")
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


def build_model(params: Hyperparameters, image_size: int, num_classes: int) -> keras.Model:
    """The configured architecture; mixed precision only where a GPU makes it pay."""
    use_mixed = params.mixed_precision and bool(tf.config.list_physical_devices("GPU"))
    if params.mixed_precision and not use_mixed:
        logger.warning("mixed_precision needs a GPU; training in float32 on CPU")
    return architectures.build_model(
        params.model_architecture,
        image_size,
        num_classes,
        params.encoder_weights,
        mixed_precision=use_mixed,
        alpha=params.alpha,
        decoder_filters=params.decoder_filters,
        dropout=params.dropout,
        backbone=params.backbone,
    )


def early_stopping(patience: int) -> keras.callbacks.EarlyStopping:
    """Stops when validation mean IoU has not improved for `patience` epochs; keeps the best."""
    return keras.callbacks.EarlyStopping(
        monitor=f"val_{MEAN_IOU}",
        mode="max",
        patience=patience,
        restore_best_weights=True,
        verbose=1,
    )


def compile_model(
    model: keras.Model,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule,
    spec: DatasetSpec,
    loss: keras.losses.Loss | None = None,
    jit_compile: bool = False,
) -> None:
    """Adam, the given loss (default: plain cross-entropy without the void pixels) and the
    segmentation metrics of the spec's classes.

    Under a mixed_float16 model policy Keras wraps Adam in a LossScaleOptimizer.

    The first training step is traced once, not twice, and its graph is small (measured by
    benchmarks/benchmark_pipeline.py: first epoch 9.1 -> 4.7 s on CPU; main job steps ~7 % faster):
    - Keras 2's legacy Adam updates each variable with one fused kernel (ResourceApplyAdam)
      where the newer optimizer adds ~10 ops per variable, for the same arithmetic;
    - its slot variables are created here: created in the first step, they make TensorFlow
      trace that step a second time (a tf.function that creates variables is traced again
      without them). `_create_all_weights` is the legacy optimizer's own way to do that.
    """
    model.compile(
        optimizer=keras.optimizers.legacy.Adam(learning_rate),
        loss=loss or losses.SegmentationLoss(losses.CROSS_ENTROPY, void_label=spec.void_label),
        metrics=segmentation_metrics(spec.class_names, spec.void_label),
        jit_compile=jit_compile,
    )
    adam = getattr(model.optimizer, "inner_optimizer", model.optimizer)  # under a loss scale
    adam._create_all_weights(model.trainable_variables)


def run_fn(fn_args: FnArgs) -> None:
    """TFX Trainer entry point: train on transformed examples, export the serving SavedModel."""
    phases = PhaseTimes()
    params = Hyperparameters.from_custom_config(fn_args.custom_config)
    spec = params.spec()
    if not fn_args.train_steps:
        raise ValueError("Trainer needs train_args.num_steps > 0 (total training steps)")
    keras.utils.set_random_seed(params.seed)
    if params.deterministic:
        tf.config.experimental.enable_op_determinism()
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    image_size = tf_transform_output.transformed_feature_spec()[IMAGE_KEY].shape[0]
    logger.info("Hyperparameters: %s (image size %d from Transform)", params, image_size)

    train_dataset = make_dataset(
        fn_args.train_files,
        fn_args.data_accessor,
        tf_transform_output,
        params.batch_size,
        training=True,
        params=params,
    )
    eval_dataset = make_dataset(
        fn_args.eval_files,
        fn_args.data_accessor,
        tf_transform_output,
        params.eval_batch_size,
        training=False,
        params=params,
        num_epochs=None if fn_args.eval_steps else 1,
    )
    weights = None
    if params.class_weighting != class_balance.NONE:
        frequencies = read_label_frequencies(
            fn_args.train_files, fn_args.data_accessor, tf_transform_output
        )
        weights = class_balance.class_weights(
            frequencies, params.class_weighting, params.class_weight_cap
        ).tolist()
        logger.info("Label frequencies %s -> class weights %s", frequencies, weights)
    loss = losses.SegmentationLoss(params.loss, weights, params.focal_gamma, spec.void_label)
    steps_per_epoch = max(1, fn_args.train_steps // params.epochs)
    freeze_first = params.warmup_epochs > 0
    first_stage_epochs = params.warmup_epochs if freeze_first else params.epochs
    strategy = _distribution_strategy()
    with phases.measure("build model"), strategy.scope():
        model = build_model(params, image_size, spec.num_classes)
        architectures.set_encoder_trainable(model, params.model_architecture, not freeze_first)
        compile_model(
            model,
            learning_rate(params, params.learning_rate, steps_per_epoch * first_stage_epochs),
            spec,
            loss,
            params.jit_compile,
        )

    tf.io.gfile.makedirs(fn_args.model_run_dir)
    with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, "hyperparameters.json"), "w") as f:
        json.dump(
            {**dataclasses.asdict(params), "image_size": image_size, "class_weights": weights},
            f,
            indent=2,
        )
    callbacks = [
        keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir),
        PredictionImages(eval_dataset, fn_args.model_run_dir, spec.colors),
    ]
    if params.early_stopping_patience:
        callbacks.append(early_stopping(params.early_stopping_patience))
    fit_args = {
        "x": train_dataset,
        "validation_data": eval_dataset,
        "steps_per_epoch": steps_per_epoch,
        "validation_steps": fn_args.eval_steps or None,
        "callbacks": [*callbacks, phases.epoch_callback()],
        "verbose": 2,
    }
    with phases.measure("fit"):
        if freeze_first:
            model.fit(epochs=params.warmup_epochs, **fit_args)
            with strategy.scope():
                architectures.set_encoder_trainable(model, params.model_architecture, True)
                fine_tune_steps = steps_per_epoch * (params.epochs - params.warmup_epochs)
                compile_model(
                    model,
                    learning_rate(params, params.fine_tune_learning_rate, fine_tune_steps),
                    spec,
                    loss,
                    params.jit_compile,
                )
            model.fit(initial_epoch=params.warmup_epochs, epochs=params.epochs, **fit_args)
        else:
            model.fit(epochs=params.epochs, **fit_args)
    with phases.measure("export: trace signatures"):
        serving_signatures = signatures.build_signatures(model, tf_transform_output)
    with phases.measure("export: save"):
        signatures.save_serving_model(model, serving_signatures, fn_args.serving_model_dir)
        model_info.write_model_info(
            fn_args.serving_model_dir, model_info.describe(model, params.model_architecture)
        )
    phases.write(os.path.join(fn_args.model_run_dir, PHASES_FILE))
