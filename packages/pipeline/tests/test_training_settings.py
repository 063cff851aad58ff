"""Training quality settings: config (env / flags) -> Trainer custom_config, checked early."""

from __future__ import annotations

import pytest
from segmentation_data_prep.presets import SIDEWALK
from segmentation_model.trainer import Hyperparameters
from segmentation_pipeline.config import ConfigError, load_config
from segmentation_pipeline.pipeline import trainer_custom_config


def test_settings_from_the_environment_reach_the_trainer():
    config = load_config(
        environ={
            "SEGPIPE_LOSS": "focal+dice",
            "SEGPIPE_CLASS_WEIGHTING": "inverse-frequency",
            "SEGPIPE_CLASS_WEIGHT_CAP": "4",
            "SEGPIPE_AUGMENT": "false",
            "SEGPIPE_AUGMENT_MAX_ZOOM": "1.5",
            "SEGPIPE_AUGMENT_COLOR_JITTER": "0.05",
            "SEGPIPE_LR_SCHEDULE": "constant",
            "SEGPIPE_LR_WARMUP_STEPS": "7",
            "SEGPIPE_EARLY_STOPPING_PATIENCE": "2",
        }
    )
    params = Hyperparameters.from_custom_config(trainer_custom_config(config, SIDEWALK))
    assert params.spec() == SIDEWALK  # the dataset's classes travel with the hyperparameters
    assert (params.loss, params.class_weighting, params.class_weight_cap) == (
        "focal+dice",
        "inverse-frequency",
        4.0,
    )
    assert (params.augment, params.augment_max_zoom, params.augment_color_jitter) == (
        False,
        1.5,
        0.05,
    )
    assert (params.lr_schedule, params.lr_warmup_steps, params.early_stopping_patience) == (
        "constant",
        7,
        2,
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SEGPIPE_LOSS": "dice+focal"}, "loss must be one of"),
        ({"SEGPIPE_CLASS_WEIGHTING": "balanced"}, "class_weighting must be one of"),
        ({"SEGPIPE_LR_SCHEDULE": "cosine"}, "lr_schedule must be one of"),
        ({"SEGPIPE_AUGMENT_MAX_ZOOM": "0.8"}, "augment max_zoom must be >= 1"),
    ],
)
def test_bad_training_settings_fail_before_the_pipeline_runs(environ, message):
    config = load_config(environ=environ)
    with pytest.raises(ConfigError, match=f"Invalid training settings: {message}"):
        trainer_custom_config(config, SIDEWALK)


def test_architecture_precision_and_xla_settings_reach_the_trainer():
    config = load_config(
        environ={
            "SEGPIPE_MODEL_ARCHITECTURE": "deeplabv3plus",
            "SEGPIPE_MODEL_BACKBONE": "resnet50v2",
            "SEGPIPE_MIXED_PRECISION": "true",
            "SEGPIPE_JIT_COMPILE": "true",
        }
    )
    params = Hyperparameters.from_custom_config(trainer_custom_config(config, SIDEWALK))
    assert (params.model_architecture, params.backbone) == ("deeplabv3plus", "resnet50v2")
    assert params.mixed_precision and params.jit_compile
    defaults = Hyperparameters.from_custom_config(
        trainer_custom_config(load_config(environ={}), SIDEWALK)
    )
    assert defaults.model_architecture == "unet_mobilenetv2"
    assert not defaults.mixed_precision and not defaults.jit_compile
