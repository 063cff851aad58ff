"""preprocessing_fn through the real TFX Transform executor, and the shared image function."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
from model_test_helpers import IMAGE_SIZE, encode_image, read_records
from segmentation_data_prep import record_format
from segmentation_model import transform


def test_transformed_feature_spec_is_static(transform_run):
    spec = tft.TFTransformOutput(transform_run.transform_graph.uri).transformed_feature_spec()
    assert spec == {
        transform.IMAGE_KEY: tf.io.FixedLenFeature([IMAGE_SIZE, IMAGE_SIZE, 3], tf.float32),
        transform.LABEL_KEY: tf.io.FixedLenFeature([IMAGE_SIZE, IMAGE_SIZE], tf.int64),
        transform.LABEL_FREQUENCY_KEY: tf.io.FixedLenFeature(
            [record_format.NUM_CLASSES], tf.float32
        ),
    }


def test_label_frequencies_are_the_training_split_class_shares(transform_run):
    """Transform's analyzer result, in every transformed example of both splits."""
    masks = [
        record_format.decode_example(r).mask
        for r in read_records(transform_run.records_dir, "train")
    ]
    counts = np.bincount(
        np.concatenate([m.ravel() for m in masks]), minlength=record_format.NUM_CLASSES
    )
    expected = counts / counts.sum()
    assert len(expected) == record_format.NUM_CLASSES and expected.min() > 0
    output = tft.TFTransformOutput(transform_run.transform_graph.uri)
    for split in ("train", "eval"):
        files = tf.io.gfile.glob(f"{transform_run.transformed_examples.uri}/Split-{split}/*")
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
            features = tf.io.parse_single_example(record, output.transformed_feature_spec())
            np.testing.assert_allclose(
                features[transform.LABEL_FREQUENCY_KEY].numpy(), expected, rtol=1e-6
            )


def test_transformed_examples_match_the_records(transform_run):
    """Every eval record comes out scaled to [-1, 1] with its exact labels."""
    output = tft.TFTransformOutput(transform_run.transform_graph.uri)
    files = tf.io.gfile.glob(f"{transform_run.transformed_examples.uri}/Split-eval/*")
    transformed = [
        tf.io.parse_single_example(record, output.transformed_feature_spec())
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP")
    ]
    raw = [record_format.decode_example(r) for r in read_records(transform_run.records_dir, "eval")]
    assert len(transformed) == len(raw) > 0
    by_image = {ex.image.tobytes(): ex for ex in raw}
    for features in transformed:
        image = features[transform.IMAGE_KEY].numpy()
        assert image.min() >= -1.0 and image.max() <= 1.0
        pixels = np.round((image + 1.0) * 127.5).astype(np.uint8)  # records are already S x S
        source = by_image[pixels.tobytes()]
        np.testing.assert_allclose(image, source.image / 127.5 - 1.0, atol=1e-5)
        np.testing.assert_array_equal(features[transform.LABEL_KEY].numpy(), source.mask)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_preprocess_image_bytes_any_size(image_format):
    rng = np.random.default_rng(0)
    images = [
        rng.integers(0, 256, (97, 143, 3), np.uint8),
        rng.integers(0, 256, (40, 33, 3), np.uint8),
    ]
    batch = tf.constant([encode_image(image, image_format) for image in images])
    scaled, sizes = transform.preprocess_image_bytes(batch, 64)
    assert scaled.shape == (2, 64, 64, 3) and scaled.dtype == tf.float32
    assert float(tf.reduce_min(scaled)) >= -1.0 and float(tf.reduce_max(scaled)) <= 1.0
    np.testing.assert_array_equal(sizes.numpy(), [[97, 143], [40, 33]])


def test_grayscale_and_rgba_png_become_rgb():
    gray = encode_image(np.full((20, 30), 200, np.uint8), "PNG")
    rgba = encode_image(np.full((20, 30, 4), 100, np.uint8), "PNG")
    scaled, _ = transform.preprocess_image_bytes(tf.constant([gray, rgba]), 32)
    np.testing.assert_allclose(scaled[0].numpy(), 200 / 127.5 - 1.0, atol=1e-5)
    np.testing.assert_allclose(scaled[1].numpy(), 100 / 127.5 - 1.0, atol=1e-5)


def test_not_an_image_gives_a_clear_error():
    good = encode_image(np.zeros((8, 8, 3), np.uint8), "PNG")
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        transform.preprocess_image_bytes(tf.constant([good, b"GIF89a not what we take"]), 32)
    message = str(error.value)
    assert "is not a JPEG or PNG image" in message
    assert "GIF89a not w" in message  # the offending input's first bytes


def test_base64_text_instead_of_bytes_is_explained():
    encoded = base64.b64encode(encode_image(np.zeros((8, 8, 3), np.uint8), "JPEG"))
    with pytest.raises(tf.errors.InvalidArgumentError, match="looks base64-encoded"):
        transform.preprocess_image_bytes(tf.constant([encoded]), 32)


def test_image_size_config_is_validated():
    assert transform.image_size_from_config(None) == transform.IMAGE_SIZE == 128
    assert transform.image_size_from_config({"image_size": 96}) == 96
    for bad in (100, 16, "128", True):
        with pytest.raises(ValueError, match="image_size"):
            transform.image_size_from_config({"image_size": bad})
