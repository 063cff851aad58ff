"""model_info.json: what a SavedModel is (architecture, size), beside its saved_model.pb.

Written by the Trainer into the serving model directory, so it travels with the model: the Hub
pusher puts it on the model card, and the Space reads it from the model repo next to
labels.json to show what it serves. A flat JSON object of strings and numbers.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tf_keras as keras

MODEL_INFO_FILE = "model_info.json"
ARCHITECTURE_KEY = "architecture"
PARAMETERS_KEY = "parameters"
NUM_CLASSES_KEY = "num_classes"
INPUT_SIZE_KEY = "input_size"


def describe(model: keras.Model, architecture: str) -> dict[str, Any]:
    """The facts of a built model: registry name, Keras model name, parameters, classes, size."""
    return {
        ARCHITECTURE_KEY: architecture,
        "keras_model_name": model.name,
        PARAMETERS_KEY: int(model.count_params()),
        NUM_CLASSES_KEY: int(model.output_shape[-1]),
        INPUT_SIZE_KEY: int(model.input_shape[1]),
    }


def write_model_info(model_dir: str, info: dict[str, Any]) -> None:
    """Writes MODEL_INFO_FILE into `model_dir` (local or gs://)."""
    import tensorflow as tf

    with tf.io.gfile.GFile(os.path.join(model_dir, MODEL_INFO_FILE), "w") as handle:
        handle.write(json.dumps(info, indent=2, sort_keys=True) + "\n")
