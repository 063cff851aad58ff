"""run_fn through TFX's Trainer GenericExecutor (real FnArgs and DataAccessor)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from model_test_helpers import PET, TINY_TRAINER_CONFIG, encode_image, read_records
from segmentation_data_prep import record_format
from segmentation_model import metrics, trainer
from segmentation_model.trainer import Hyperparameters
from segmentation_model.transform import IMAGE_KEY


def test_defaults_and_overrides():
    assert Hyperparameters.from_custom_config(None) == Hyperparameters()
    params = Hyperparameters.from_custom_config(
        {"epochs": 2, "decoder_filters": [8, 8, 8, 8], "ai_platform_enable_vertex": True}
    )
    assert params.epochs == 2 and params.decoder_filters == (8, 8, 8, 8)


def test_unknown_keys_are_rejected_with_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown Trainer custom_config keys \\['learnig_rate'\\]"):
        Hyperparameters.from_custom_config({"learnig_rate": 0.1})


def test_warmup_needs_pretrained_weights_and_later_epochs():
    with pytest.raises(ValueError, match="pretrained encoder"):
        Hyperparameters.from_custom_config({"warmup_epochs": 1})
    with pytest.raises(ValueError, match="warmup_epochs must be in"):
        Hyperparameters.from_custom_config(
            {"warmup_epochs": 3, "epochs": 3, "encoder_weights": "imagenet"}
        )


def _epoch_losses(log_dir: str) -> list[float]:
    losses = {}
    for path in tf.io.gfile.glob(os.path.join(log_dir, "train", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == "epoch_loss":
                    losses[event.step] = float(tf.make_ndarray(value.tensor))
    return [losses[step] for step in sorted(losses)]


def _run_trainer(transform_run, root, custom_config: dict, num_steps: int) -> tuple[str, str]:
    """TFX's Trainer GenericExecutor with module_path: it builds FnArgs and calls run_fn."""
    from google.protobuf import json_format
    from tfx.components.trainer import executor as trainer_executor
    from tfx.proto import trainer_pb2
    from tfx.types import standard_artifacts
    from tfx.utils import path_utils

    model = standard_artifacts.Model()
    model.uri = str(root / "model")
    model_run = standard_artifacts.ModelRun()
    model_run.uri = str(root / "model_run")
    trainer_executor.GenericExecutor().Do(
        {
            "examples": [transform_run.transformed_examples],
            "transform_graph": [transform_run.transform_graph],
            "schema": [transform_run.schema],
        },
        {"model": [model], "model_run": [model_run]},
        {
            "module_path": "segmentation_model.trainer",
            "train_args": json_format.MessageToJson(trainer_pb2.TrainArgs(num_steps=num_steps)),
            "eval_args": json_format.MessageToJson(trainer_pb2.EvalArgs(num_steps=2)),
            "custom_config": json.dumps(custom_config),
        },
    )
    return path_utils.serving_model_path(model.uri), model_run.uri


@pytest.fixture(scope="module")
def trainer_run(transform_run, tmp_path_factory):
    return _run_trainer(
        transform_run, tmp_path_factory.mktemp("trainer"), TINY_TRAINER_CONFIG, num_steps=24
    )


@pytest.mark.slow
def test_training_reduces_the_loss_and_exports(trainer_run, records_dir):
    serving_dir, run_dir = trainer_run
    losses = _epoch_losses(run_dir)
    assert len(losses) == TINY_TRAINER_CONFIG["epochs"]
    assert losses[-1] < losses[0], losses
    image_steps = [
        event.step
        for path in tf.io.gfile.glob(os.path.join(run_dir, "predictions", "events.out.*"))
        for event in tf.compat.v1.train.summary_iterator(path)
        for value in event.summary.value
        if value.tag == "eval_predictions"
    ]
    assert sorted(image_steps) == list(range(TINY_TRAINER_CONFIG["epochs"]))
    with open(os.path.join(run_dir, "hyperparameters.json")) as f:
        recorded = json.load(f)
    assert recorded["image_size"] == 64
    # Median-frequency weights from Transform's label shares: the rarest class weighs most.
    masks = [record_format.decode_example(r).mask for r in read_records(records_dir, "train")]
    counts = np.bincount(
        np.concatenate([m.ravel() for m in masks]),
        minlength=len(weights := recorded["class_weights"]),
    )
    assert len(weights) == PET.num_classes
    assert np.argmax(weights) == np.argmin(counts) and max(weights) > 1.0
    with open(os.path.join(run_dir, "phases.json")) as f:
        phases = json.load(f)
    epochs = [f"fit: epoch {n}" for n in range(1, TINY_TRAINER_CONFIG["epochs"] + 1)]
    assert list(phases) == [
        "build model",
        *epochs,
        "fit",
        "export: trace signatures",
        "export: save",
    ]
    assert all(times["wall_s"] > 0 and times["cpu_s"] > 0 for times in phases.values())
    assert sum(phases[name]["wall_s"] for name in epochs) <= phases["fit"]["wall_s"]

    loaded = tf.saved_model.load(serving_dir)
    assert {"serving_default", "transform_features", "from_examples"} <= set(loaded.signatures)
    image = np.random.default_rng(3).integers(0, 256, (97, 143, 3), np.uint8)
    outputs = loaded.signatures["serving_default"](
        image_bytes=tf.constant([encode_image(image, "JPEG")])
    )
    assert outputs["seg_mask"].shape == (1, 97, 143)
    # Trained with augmentation on, the serving graph has no random op: the same image always
    # gives the same output.
    again = loaded.signatures["serving_default"](
        image_bytes=tf.constant([encode_image(image, "JPEG")])
    )
    for key in ("seg_mask", "probabilities"):
        np.testing.assert_array_equal(outputs[key].numpy(), again[key].numpy())
    graph = loaded.signatures["serving_default"].graph.as_graph_def()
    op_types = {node.op for node in graph.node} | {
        node.op for function in graph.library.function for node in function.node_def
    }
    assert not {op for op in op_types if "Random" in op}, op_types


@pytest.mark.slow
def test_tfma_evaluates_the_exported_model_with_our_metrics(trainer_run, transform_run, tmp_path):
    """The Evaluator's contract: from_examples + transform_features + metrics by module path."""
    import tensorflow_model_analysis as tfma
    from segmentation_model import evaluation

    serving_dir, _ = trainer_run
    eval_config = tfma.EvalConfig(
        model_specs=[evaluation.model_spec()],
        metrics_specs=[
            tfma.MetricsSpec(metrics=evaluation.metric_configs(PET.class_names, per_class_iou=True))
        ],
        slicing_specs=[tfma.SlicingSpec()],
    )
    result = tfma.run_model_analysis(
        eval_shared_model=tfma.default_eval_shared_model(serving_dir, eval_config=eval_config),
        eval_config=eval_config,
        data_location=f"{transform_run.examples.uri}/Split-eval/*",
        output_path=str(tmp_path / "tfma"),
    )
    ((_, metrics_by_output),) = result.slicing_metrics
    values = {name: value["doubleValue"] for name, value in metrics_by_output[""][""].items()}
    for name in ("mean_iou", "pixel_accuracy", "iou_pet", "iou_background", "iou_border"):
        assert 0.0 <= values[name] <= 1.0, values
    assert values["mean_iou"] > 0.0, values


@pytest.mark.slow
def test_warmup_then_fine_tuning_from_a_local_weights_file(transform_run, tmp_path):
    import tf_keras as keras
    from segmentation_model import unet

    source = keras.applications.MobileNetV2(
        input_shape=(64, 64, 3), include_top=False, weights=None, alpha=0.35
    )
    weights_path = str(tmp_path / "encoder.h5")
    source.save_weights(weights_path)
    config = {**TINY_TRAINER_CONFIG, "epochs": 2, "warmup_epochs": 1}
    config["encoder_weights"] = weights_path
    serving_dir, run_dir = _run_trainer(transform_run, tmp_path, config, num_steps=4)
    assert len(_epoch_losses(run_dir)) == 2
    trained = keras.models.load_model(serving_dir, compile=False).get_layer(unet.ENCODER_NAME)
    changed = [
        not np.array_equal(before, after)
        for before, after in zip(source.get_weights(), trained.get_weights())
    ]
    assert any(changed), "the encoder was not fine-tuned after the warm-up"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"loss": "dice+cross-entropy"}, "loss must be one of"),
        ({"class_weighting": "inverse"}, "class_weighting must be one of"),
        ({"class_weight_cap": 0.5}, "class_weight_cap must be >= 1"),
        ({"lr_schedule": "cosine"}, "lr_schedule must be one of"),
        ({"lr_warmup_steps": -1}, "lr_warmup_steps"),
        ({"augment_max_zoom": 0.5}, "max_zoom must be >= 1"),
    ],
)
def test_quality_settings_are_validated(config, message):
    with pytest.raises(ValueError, match=message):
        Hyperparameters.from_custom_config(config)


def test_warmup_then_cosine_learning_rate():
    params = Hyperparameters.from_custom_config(
        {"lr_schedule": "warmup-cosine", "lr_warmup_steps": 10}
    )
    schedule = trainer.learning_rate(params, 1e-3, steps=110)
    # Linear from 0 to 1e-3 over 10 steps, then half a cosine period over the other 100.
    expected = {0: 0.0, 5: 5e-4, 10: 1e-3, 60: 5e-4, 110: 0.0}
    for step, value in expected.items():
        assert float(schedule(step)) == pytest.approx(value, abs=1e-9), step
    assert trainer.learning_rate(Hyperparameters(), 1e-3, steps=110) == 1e-3


def test_the_first_training_step_is_traced_once_with_the_adam_slots_made_beforehand():
    """A training step that creates variables is traced twice (issue 10: ~3 s on CPU)."""
    images = np.random.default_rng(0).normal(size=(8, 8, 8, 3)).astype(np.float32)
    labels = np.random.default_rng(1).integers(0, PET.num_classes, size=(8, 8, 8))
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3, padding="same"),
            keras.layers.Conv2D(PET.num_classes, 1),
        ]
    )
    trainer.compile_model(model, 1e-3, PET)
    # iterations, then Adam's m and v for each trainable variable, before any step
    assert len(model.optimizer.variables()) == 1 + 2 * len(model.trainable_variables)
    before = [weight.numpy() for weight in model.trainable_variables]
    model.fit(images, labels, batch_size=4, epochs=2, verbose=0)
    assert model.train_function.experimental_get_tracing_count() == 1
    after = [weight.numpy() for weight in model.trainable_variables]
    assert all(not np.array_equal(b, a) for b, a in zip(before, after))


def test_early_stopping_watches_the_validation_mean_iou():
    """With a frozen model the validation mean IoU never improves: it stops after patience."""
    keras.utils.set_random_seed(0)
    images = np.random.default_rng(0).normal(size=(8, 8, 8, 3)).astype(np.float32)
    labels = np.random.default_rng(1).integers(0, PET.num_classes, size=(8, 8, 8))
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(PET.num_classes, 1)])
    model.trainable = False
    trainer.compile_model(model, 1e-3, PET)
    history = model.fit(
        images,
        labels,
        validation_data=(images, labels),
        epochs=6,
        callbacks=[trainer.early_stopping(2)],
        verbose=0,
    )
    assert f"val_{metrics.MEAN_IOU}" in history.history
    assert len(history.history["loss"]) == 3  # epoch 1 sets the best, 2 more without gain


def test_augmentation_never_touches_the_eval_split(transform_run):
    import tensorflow_transform as tft
    from tfx.components.trainer.fn_args_utils import DataAccessor
    from tfx.components.util import tfxio_utils

    factory = tfxio_utils.get_tf_dataset_factory_from_artifact(
        [transform_run.transformed_examples], []
    )
    accessor = DataAccessor(
        tf_dataset_factory=factory, record_batch_factory=None, data_view_decode_fn=None
    )
    output = tft.TFTransformOutput(transform_run.transform_graph.uri)
    files = [os.path.join(transform_run.transformed_examples.uri, "Split-eval", "*")]

    def eval_batches(augment: bool) -> list:
        params = Hyperparameters(augment=augment, augment_max_zoom=2.0, augment_color_jitter=0.5)
        dataset = trainer.make_dataset(
            files, accessor, output, 2, training=False, params=params, num_epochs=1
        )
        return [(f[IMAGE_KEY].numpy(), label.numpy()) for f, label in dataset]

    with_augment, without = eval_batches(True), eval_batches(False)
    assert len(with_augment) == len(without) > 0
    for (image_a, label_a), (image_b, label_b) in zip(with_augment, without):
        np.testing.assert_array_equal(image_a, image_b)
        np.testing.assert_array_equal(label_a, label_b)


def test_prediction_images_paint_masks_in_the_dataset_spec_colours(tmp_path):
    """TensorBoard panels (image | label | prediction) use the dataset spec's colours."""
    import tf_keras as keras
    from segmentation_model.trainer import PredictionImages

    labels = np.array([[[0, 1], [2, 0]]], np.int64)  # one 2x2 example, every class
    images = np.zeros((1, 2, 2, 3), np.float32)
    dataset = tf.data.Dataset.from_tensors(({"image_xf": images}, labels))
    border_everywhere = keras.Sequential(
        [keras.layers.Lambda(lambda x: tf.one_hot(tf.fill(tf.shape(x)[:3], 2), 3))]
    )
    callback = PredictionImages(dataset, str(tmp_path), PET.colors)
    callback.set_model(border_everywhere)
    callback.on_epoch_end(0)

    (event_file,) = tf.io.gfile.glob(str(tmp_path / "predictions" / "events.out.*"))
    (png,) = [
        value.tensor.string_val[2]  # TF2 image summaries: width, height, then the PNG
        for event in tf.compat.v1.train.summary_iterator(event_file)
        for value in event.summary.value
        if value.tag == "eval_predictions"
    ]
    panels = tf.io.decode_png(png).numpy()
    assert panels.shape == (2, 6, 3)
    colors = dict(zip(PET.class_names, PET.colors))
    label_panel, predicted_panel = panels[:, 2:4], panels[:, 4:6]
    assert label_panel[0, 0].tolist() == list(colors["pet"])
    assert label_panel[0, 1].tolist() == list(colors["background"])
    assert label_panel[1, 0].tolist() == list(colors["border"])
    assert (predicted_panel == np.array(colors["border"], np.uint8)).all()


def test_architecture_and_backbone_names_are_validated_with_the_choices():
    from segmentation_model import architectures

    with pytest.raises(ValueError, match="unet_mobilenetv2, deeplabv3plus, segformer_b0"):
        Hyperparameters.from_custom_config({"model_architecture": "deeplabv3"})
    with pytest.raises(ValueError, match="mobilenetv2, resnet50v2"):
        Hyperparameters.from_custom_config({"backbone": "resnet50"})
    params = Hyperparameters.from_custom_config({"model_architecture": "segformer_b0"})
    assert params.model_architecture == architectures.SEGFORMER_B0


def _train_one_step(model: keras.Model, jit_compile: bool) -> float:
    trainer.compile_model(model, 1e-3, PET, jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (2, 64, 64, 3)).astype(np.float32)
    labels = rng.integers(0, PET.num_classes, (2, 64, 64))
    history = model.fit({IMAGE_KEY: images}, labels, batch_size=2, epochs=1, verbose=0)
    return history.history["loss"][0]


@pytest.mark.slow  # ~10 s each: the first float16 training step's tracing, on CPU
@pytest.mark.parametrize("name", ["unet_mobilenetv2", "deeplabv3plus", "segformer_b0"])
def test_mixed_precision_builds_and_trains_a_step_with_float32_outputs(name):
    """float16 compute (forced here, on CPU), float32 variables, probabilities and loss."""
    from segmentation_model import architectures

    model = architectures.build_model(
        name,
        64,
        PET.num_classes,
        alpha=0.35,
        decoder_filters=(16, 16, 16, 16),
        mixed_precision=True,
    )
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after building
    assert model.get_layer("logits").compute_dtype == "float16"
    assert all(weight.dtype == tf.float32 for weight in model.weights)
    assert model.output.dtype == tf.float32
    before = [weight.numpy() for weight in model.get_layer("logits").weights]
    loss = _train_one_step(model, jit_compile=False)
    assert isinstance(model.optimizer, keras.mixed_precision.LossScaleOptimizer)
    assert np.isfinite(loss)
    # A step either updates the weights or, on float16 gradient overflow, skips the update
    # and halves the dynamic loss scale: both are the optimizer handling float16 gradients.
    updated = any(
        not np.array_equal(b, a.numpy()) for b, a in zip(before, model.get_layer("logits").weights)
    )
    scale = float(model.optimizer.loss_scale)
    assert updated or scale < model.optimizer.initial_scale, scale


@pytest.mark.slow
@pytest.mark.parametrize("name", ["unet_mobilenetv2", "deeplabv3plus", "segformer_b0"])
def test_xla_compiled_training_step(name):
    from segmentation_model import architectures

    model = architectures.build_model(
        name, 64, PET.num_classes, alpha=0.35, decoder_filters=(16, 16, 16, 16)
    )
    loss = _train_one_step(model, jit_compile=True)
    assert np.isfinite(loss)
    assert model.jit_compile


@pytest.mark.slow
@pytest.mark.parametrize("name", ["deeplabv3plus", "segformer_b0"])
def test_run_fn_trains_and_exports_each_architecture(name, transform_run, tmp_path):
    from segmentation_model import model_info

    config = {**TINY_TRAINER_CONFIG, "epochs": 1, "model_architecture": name}
    serving_dir, _ = _run_trainer(transform_run, tmp_path, config, num_steps=2)
    with open(os.path.join(serving_dir, model_info.MODEL_INFO_FILE)) as f:
        info = json.load(f)
    loaded_model = keras.models.load_model(serving_dir, compile=False)
    assert info[model_info.ARCHITECTURE_KEY] == name
    assert info[model_info.PARAMETERS_KEY] == loaded_model.count_params()
    assert info[model_info.NUM_CLASSES_KEY] == PET.num_classes
    loaded = tf.saved_model.load(serving_dir)
    image = np.random.default_rng(3).integers(0, 256, (50, 70, 3), np.uint8)
    outputs = loaded.signatures["serving_default"](
        image_bytes=tf.constant([encode_image(image, "PNG")])
    )
    assert outputs["seg_mask"].shape == (1, 50, 70)
    assert outputs["probabilities"].shape == (1, 64, 64, PET.num_classes)
