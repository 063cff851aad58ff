"""SavedModel signatures: online serving (Vertex) and the two TFMA needs.

`serving_default`
    input  `image_bytes`: tf.string [B], the raw bytes of encoded JPEG or PNG files of any
           size. Raw bytes, not base64 text, because Vertex's JSON format
           `{"instances": [{"image_bytes": {"b64": "<base64>"}}]}` base64-decodes inputs whose
           name ends in `_bytes` before they reach the model, and gRPC/Python callers pass bytes
           directly; one input type serves both. Other bytes (including base64 text sent without
           the `{"b64": ...}` wrapper) fail with an InvalidArgumentError saying so.
    output `seg_mask`: uint8 [B, H_max, W_max], the class id of every pixel at each input's
           original size. Inputs of different sizes in one batch are padded at the bottom and
           right to the batch's largest height and width with `MASK_PADDING` (255, not a class);
           crop image i to `[:original_height[i], :original_width[i]]`. A batch of one (the usual
           online request) has no padding.
    output `original_height`, `original_width`: int32 [B].
    output `probabilities`: float32 [B, S, S, C], per-class softmax at model size.
`transform_features`
    input `examples`: serialized raw tf.Examples -> the Transform outputs (`image_xf`,
    `label_xf`), through the TFT layer. TFMA uses it to compute labels (`label_xf`).
`from_examples`
    input `examples`: serialized raw tf.Examples (complete records, as data_prep writes them)
    -> {`probabilities`}, through the TFT layer.
    The model signature for TFMA's EvalConfig (label_key `label_xf`, with
    `preprocessing_function_names=["transform_features"]`).
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras

from segmentation_model import transform

SERVING_SIGNATURE = "serving_default"  # tf.saved_model's default: what clients call
SERVING_INPUT_KEY = "image_bytes"
EXAMPLES_INPUT_KEY = "examples"
MASK_OUTPUT_KEY = "seg_mask"
PROBABILITIES_OUTPUT_KEY = "probabilities"
HEIGHT_OUTPUT_KEY = "original_height"
WIDTH_OUTPUT_KEY = "original_width"
TRANSFORM_FEATURES_SIGNATURE = "transform_features"
FROM_EXAMPLES_SIGNATURE = "from_examples"
MASK_PADDING = 255


def masks_at_original_size(probabilities: tf.Tensor, sizes: tf.Tensor) -> tf.Tensor:
    """[B, S, S, C] probabilities + [B, 2] sizes -> uint8 [B, H_max, W_max] class ids.

    Probabilities are resized (bilinear) before the argmax, which gives smoother borders than
    resizing the class ids.
    """
    max_size = tf.reduce_max(sizes, axis=0)

    def one(args: tuple[tf.Tensor, tf.Tensor]) -> tf.Tensor:
        scores, size = args
        resized = tf.image.resize(scores, size, method="bilinear")
        mask = tf.cast(tf.argmax(resized, axis=-1), tf.uint8)
        padding = tf.stack([[0, max_size[0] - size[0]], [0, max_size[1] - size[1]]])
        return tf.pad(mask, padding, constant_values=MASK_PADDING)

    return tf.map_fn(
        one, (probabilities, sizes), fn_output_signature=tf.TensorSpec([None, None], tf.uint8)
    )


def build_signatures(
    model: keras.Model, tf_transform_output: tft.TFTransformOutput
) -> dict[str, tf.types.experimental.ConcreteFunction]:
    """The three signatures (see module doc); attaches the TFT layer to `model` for saving.

    The model and the TFT layer are each traced once: `predict` and `transform_features` are
    functions with fixed input signatures that the other signatures call, so the SavedModel
    holds one graph of each (tracing and loading cost follow the graph size).
    """
    image_size = tf_transform_output.transformed_feature_spec()[transform.IMAGE_KEY].shape[0]
    model.tft_layer = tf_transform_output.transform_features_layer()
    raw_feature_spec = tf_transform_output.raw_feature_spec()

    @tf.function(input_signature=[tf.TensorSpec([None, image_size, image_size, 3], tf.float32)])
    def predict(images: tf.Tensor) -> tf.Tensor:
        return model({transform.IMAGE_KEY: images}, training=False)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=EXAMPLES_INPUT_KEY)])
    def transform_features(examples: tf.Tensor) -> dict[str, tf.Tensor]:
        # Full records: the TFT layer feeds defaults for missing features, and an empty mask
        # would fail to decode.
        raw_features = tf.io.parse_example(examples, raw_feature_spec)
        return model.tft_layer(raw_features)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=SERVING_INPUT_KEY)])
    def serve_image_bytes(image_bytes: tf.Tensor) -> dict[str, tf.Tensor]:
        images, sizes = transform.preprocess_image_bytes(image_bytes, image_size)
        probabilities = predict(images)
        return {
            MASK_OUTPUT_KEY: masks_at_original_size(probabilities, sizes),
            HEIGHT_OUTPUT_KEY: sizes[:, 0],
            WIDTH_OUTPUT_KEY: sizes[:, 1],
            PROBABILITIES_OUTPUT_KEY: probabilities,
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=EXAMPLES_INPUT_KEY)])
    def from_examples(examples: tf.Tensor) -> dict[str, tf.Tensor]:
        images = transform_features(examples)[transform.IMAGE_KEY]
        return {PROBABILITIES_OUTPUT_KEY: predict(images)}

    return {
        SERVING_SIGNATURE: serve_image_bytes.get_concrete_function(),
        TRANSFORM_FEATURES_SIGNATURE: transform_features.get_concrete_function(),
        FROM_EXAMPLES_SIGNATURE: from_examples.get_concrete_function(),
    }


def save_serving_model(
    model: keras.Model,
    serving_signatures: dict[str, tf.types.experimental.ConcreteFunction],
    export_dir: str,
) -> None:
    """Saves `model` as a SavedModel with `serving_signatures` (no optimizer state)."""
    # save_traces=False: Keras re-creates layers from their configs (all built-in, metrics are
    # registered serializables), which makes saving and loading several times faster.
    model.save(
        export_dir,
        save_format="tf",
        signatures=serving_signatures,
        include_optimizer=False,
        save_traces=False,
    )


def export_serving_model(
    model: keras.Model, tf_transform_output: tft.TFTransformOutput, export_dir: str
) -> None:
    """Saves `model` as a SavedModel with the signatures above (no optimizer state)."""
    save_serving_model(model, build_signatures(model, tf_transform_output), export_dir)
