"""preprocessing_fn through the real TFX Transform executor, and the shared image function."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
from model_test_helpers import IMAGE_SIZE, PET, encode_image, read_records
from segmentation_data_prep import record_format
from segmentation_model import transform


def test_transformed_feature_spec_is_static(transform_run):
    spec = tft.TFTransformOutput(transform_run.transform_graph.uri).transformed_feature_spec()
    assert spec == {
        transform.IMAGE_KEY: tf.io.FixedLenFeature([IMAGE_SIZE, IMAGE_SIZE, 3], tf.float32),
        transform.LABEL_KEY: tf.io.FixedLenFeature([IMAGE_SIZE, IMAGE_SIZE], tf.int64),
        transform.LABEL_FREQUENCY_KEY: tf.io.FixedLenFeature([PET.num_classes], tf.float32),
    }


def test_label_frequencies_are_the_training_split_class_shares(transform_run):
    """Transform's analyzer result, in every transformed example of both splits."""
    masks = [
        record_format.decode_example(r).mask
        for r in read_records(transform_run.records_dir, "train")
    ]
    counts = np.bincount(np.concatenate([m.ravel() for m in masks]), minlength=PET.num_classes)
    expected = counts / counts.sum()
    assert len(expected) == PET.num_classes and expected.min() > 0
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


def _analyze_and_transform(records: list[bytes], custom_config: dict) -> list[dict]:
    """preprocessing_fn through TFT's Beam implementation, in this process."""
    import tempfile

    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

    feature_spec = record_format.tf_feature_spec()
    rows = [
        {key: value.numpy() for key, value in tf.io.parse_single_example(r, feature_spec).items()}
        for r in records
    ]
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(feature_spec))
    with tempfile.TemporaryDirectory() as temp_dir, tft_beam.Context(temp_dir=temp_dir):
        (transformed, _), _ = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(
            lambda inputs: transform.preprocessing_fn(inputs, custom_config)
        )
    return transformed


def test_35_class_round_trip_with_a_mostly_void_mask():
    """Records of a 35-class spec with void 0 -> labels at half size (nearest: the centre
    pixel of each 2x2 block, as half-pixel-centred resizing samples) and class shares of the
    non-void pixels, counted by hand with numpy; void pixels get no share."""
    from segmentation_data_prep.presets import SIDEWALK

    rng = np.random.default_rng(5)
    masks = []
    for index in range(3):
        mask = np.zeros((64, 64), np.uint8)  # void everywhere...
        mask[40:, :] = rng.integers(1, SIDEWALK.num_classes, (24, 64))  # ...but the bottom
        masks.append(mask)
    records = [
        record_format.encode_example(
            f"street_{index}",
            rng.integers(0, 256, (64, 64, 3), np.uint8),
            mask,
            num_classes=SIDEWALK.num_classes,
        )
        for index, mask in enumerate(masks)
    ]
    config = {"image_size": 32, "num_classes": SIDEWALK.num_classes, "void_label": 0}
    transformed = _analyze_and_transform(records, config)
    halves = [mask[1::2, 1::2] for mask in masks]
    counts = np.bincount(np.concatenate([h.ravel() for h in halves]), minlength=35)
    counts[0] = 0
    expected_shares = counts / counts.sum()
    for row, half in zip(transformed, halves):
        np.testing.assert_array_equal(row[transform.LABEL_KEY], half)
        np.testing.assert_allclose(row[transform.LABEL_FREQUENCY_KEY], expected_shares, rtol=1e-6)
    assert row[transform.LABEL_FREQUENCY_KEY][0] == 0.0


def test_class_count_and_void_label_come_from_the_config():
    assert transform.classes_from_config({"num_classes": 35, "void_label": 0}) == (35, 0)
    assert transform.classes_from_config({"num_classes": 3}) == (3, None)
    for bad in ({}, {"num_classes": 1}, {"num_classes": "3"}, {"num_classes": 3, "void_label": 3}):
        with pytest.raises(ValueError, match=r"num_classes|void_label"):
            transform.classes_from_config(bad)
