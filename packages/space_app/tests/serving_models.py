"""A stand-in SavedModel for the fast tests (the real UNet export takes minutes)."""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf
from segmentation_model import signatures, transform

STANDIN_SIZE = 32


class ColourRuleModel(tf.Module):
    """Stand-in with the real serving contract and preprocessing: the dominant colour channel
    picks the class (red pet, blue background, green border), so outputs are predictable."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serve(self, image_bytes: tf.Tensor) -> dict[str, tf.Tensor]:
        images, sizes = transform.preprocess_image_bytes(image_bytes, STANDIN_SIZE)
        probabilities = tf.nn.softmax(10.0 * tf.gather(images, [0, 2, 1], axis=-1))
        return {
            "seg_mask": signatures.masks_at_original_size(probabilities, sizes),
            "probabilities": probabilities,
        }


def export_colour_rule_model(export_dir: Path) -> Path:
    module = ColourRuleModel()
    tf.saved_model.save(
        module,
        str(export_dir),
        signatures={"serving_default": module.serve.get_concrete_function()},
    )
    return export_dir
