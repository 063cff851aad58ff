"""The exported SavedModel: every signature's shapes and dtypes, serving, train/serve equality."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from model_test_helpers import IMAGE_SIZE, PET, encode_image, read_records
from segmentation_data_prep import record_format
from segmentation_model import signatures, transform

NUM_CLASSES = PET.num_classes


def test_signature_inputs_and_outputs(exported_model):
    serving = exported_model.signatures["serving_default"]
    assert serving.structured_input_signature[1] == {
        "image_bytes": tf.TensorSpec([None], tf.string, name="image_bytes")
    }
    outputs = serving.structured_outputs
    assert outputs["seg_mask"].dtype == tf.uint8 and outputs["seg_mask"].shape.rank == 3
    assert outputs["probabilities"].dtype == tf.float32
    assert outputs["probabilities"].shape.as_list() == [None, IMAGE_SIZE, IMAGE_SIZE, NUM_CLASSES]
    assert outputs["original_height"].dtype == outputs["original_width"].dtype == tf.int32

    for name in (signatures.TRANSFORM_FEATURES_SIGNATURE, signatures.FROM_EXAMPLES_SIGNATURE):
        assert exported_model.signatures[name].structured_input_signature[1] == {
            "examples": tf.TensorSpec([None], tf.string, name="examples")
        }
    transformed = exported_model.signatures["transform_features"].structured_outputs
    assert transformed["image_xf"].shape.as_list() == [None, IMAGE_SIZE, IMAGE_SIZE, 3]
    assert transformed["image_xf"].dtype == tf.float32
    assert transformed["label_xf"].shape.as_list() == [None, IMAGE_SIZE, IMAGE_SIZE]
    assert transformed["label_xf"].dtype == tf.int64
    from_examples = exported_model.signatures["from_examples"].structured_outputs
    assert from_examples["probabilities"].shape.as_list() == [
        None, IMAGE_SIZE, IMAGE_SIZE, NUM_CLASSES
    ]  # fmt: skip


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_serving_returns_a_mask_at_the_original_size(exported_model, image_format):
    image = np.random.default_rng(1).integers(0, 256, (97, 143, 3), np.uint8)
    outputs = exported_model.signatures["serving_default"](
        image_bytes=tf.constant([encode_image(image, image_format)])
    )
    mask = outputs["seg_mask"].numpy()
    assert mask.shape == (1, 97, 143) and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= set(range(NUM_CLASSES))
    assert outputs["original_height"].numpy().tolist() == [97]
    assert outputs["original_width"].numpy().tolist() == [143]
    probabilities = outputs["probabilities"].numpy()
    assert probabilities.shape == (1, IMAGE_SIZE, IMAGE_SIZE, NUM_CLASSES)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-4)


def test_batches_of_different_sizes_are_padded(exported_model):
    rng = np.random.default_rng(2)
    small = rng.integers(0, 256, (30, 50, 3), np.uint8)
    large = rng.integers(0, 256, (97, 143, 3), np.uint8)
    batch = tf.constant([encode_image(small, "PNG"), encode_image(large, "JPEG")])
    outputs = exported_model.signatures["serving_default"](image_bytes=batch)
    masks = outputs["seg_mask"].numpy()
    assert masks.shape == (2, 97, 143)
    assert outputs["original_height"].numpy().tolist() == [30, 97]
    assert outputs["original_width"].numpy().tolist() == [50, 143]
    assert (masks[0, 30:, :] == signatures.MASK_PADDING).all()
    assert (masks[0, :, 50:] == signatures.MASK_PADDING).all()
    assert (masks[0, :30, :50] < NUM_CLASSES).all() and (masks[1] < NUM_CLASSES).all()
    # Each image's mask does not depend on its batch neighbours.
    alone = exported_model.signatures["serving_default"](image_bytes=batch[:1])
    np.testing.assert_array_equal(alone["seg_mask"].numpy()[0], masks[0, :30, :50])


def test_bad_serving_input_gives_a_clear_error(exported_model):
    with pytest.raises(tf.errors.InvalidArgumentError, match="is not a JPEG or PNG image"):
        exported_model.signatures["serving_default"](image_bytes=tf.constant([b"not an image"]))


def _png_declaring(width: int, height: int) -> bytes:
    """A small PNG file whose header declares width x height (its pixel data is never read)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\x00" * 3 * 8)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A real 8x8 JPEG with its SOF0 header patched to declare width x height."""
    data = bytearray(encode_image(np.zeros((8, 8, 3), np.uint8), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


@pytest.mark.parametrize("declared", [_png_declaring, _jpeg_declaring], ids=["png", "jpeg"])
def test_issue12_item7_serving_refuses_oversized_inputs_before_decoding(exported_model, declared):
    """A file of a few hundred bytes declaring 100 MP is refused by its header, no allocation."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    serve = exported_model.signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="over the limit of 40000000"):
        serve(image_bytes=tf.constant([declared(10_000, 10_000)]))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 200  # decoding 100 MP RGB would need 300 MiB, resizing it gigabytes


def test_train_and_serve_preprocessing_are_equal(exported_model, transform_run):
    """Transform's output (via the TFT layer) equals what serving computes from the same bytes."""
    records = read_records(transform_run.records_dir, "eval")
    image_bytes = [record_format.decode_example(r) for r in records]
    png_bytes = [encode_image(example.image, "PNG") for example in image_bytes]
    transformed = exported_model.signatures["transform_features"](examples=tf.constant(records))
    served_images, _ = transform.preprocess_image_bytes(tf.constant(png_bytes), IMAGE_SIZE)
    # Same function; only float rounding of graph vs eager execution may differ (1 ulp).
    np.testing.assert_allclose(transformed["image_xf"].numpy(), served_images.numpy(), atol=1e-6)
    masks = np.stack([example.mask for example in image_bytes])
    np.testing.assert_array_equal(transformed["label_xf"].numpy(), masks)

    from_examples = exported_model.signatures["from_examples"](examples=tf.constant(records))
    served = exported_model.signatures["serving_default"](image_bytes=tf.constant(png_bytes))
    np.testing.assert_allclose(
        from_examples["probabilities"].numpy(), served["probabilities"].numpy(), atol=1e-5
    )


def test_masks_follow_the_probabilities():
    probabilities = np.zeros((1, 4, 4, 3), np.float32)
    probabilities[0, :, :2, 2] = 1.0  # left half: border, right half: pet
    probabilities[0, :, 2:, 0] = 1.0
    masks = signatures.masks_at_original_size(tf.constant(probabilities), tf.constant([[6, 8]]))
    expected = np.zeros((6, 8), np.uint8)
    expected[:, :4] = 2
    np.testing.assert_array_equal(masks.numpy()[0], expected)
