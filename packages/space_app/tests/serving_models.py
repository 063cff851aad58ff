"""A stand-in SavedModel for the API tests: its masks can be computed by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

# labels.json published with the stand-in: other names and colours than the template's palette.
STANDIN_LABELS = {
    "classes": [
        {"id": 0, "name": "left", "color": [0, 200, 0]},
        {"id": 1, "name": "middle", "color": [250, 0, 250]},
        {"id": 2, "name": "right", "color": [10, 20, 30]},
    ],
    "void_label": None,
}
STANDIN_QUEUE_MAX_SIZE = 2  # few waiting requests, so a test can fill the queue


def thirds_mask(height: int, width: int) -> np.ndarray:
    """What the stand-in returns for any height x width image: class 0 in the left third of the
    columns, 1 in the middle third, 2 in the right third (column x has class 3x // width)."""
    columns = np.minimum(3 * np.arange(width) // width, 2)
    return np.broadcast_to(columns, (height, width)).astype(np.uint8)


class ThirdsModel(tf.Module):
    """The app's serving contract (image_bytes -> seg_mask at the decoded image's own size) with
    thirds_mask as the prediction, whatever the pixels: the expected overlay is arithmetic."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serve(self, image_bytes: tf.Tensor) -> dict[str, tf.Tensor]:
        def one(data: tf.Tensor) -> tf.Tensor:
            shape = tf.shape(tf.io.decode_image(data, channels=3, expand_animations=False))
            columns = tf.minimum(3 * tf.range(shape[1]) // shape[1], 2)
            return tf.tile(columns[None, :], [shape[0], 1])

        masks = tf.map_fn(
            one, image_bytes, fn_output_signature=tf.TensorSpec([None, None], tf.int32)
        )
        return {"seg_mask": tf.cast(masks, tf.uint8)}


def export_thirds_model(export_dir: Path) -> Path:
    module = ThirdsModel()
    tf.saved_model.save(
        module,
        str(export_dir),
        signatures={"serving_default": module.serve.get_concrete_function()},
    )
    return export_dir
