import numpy as np
import pytest
import tensorflow as tf
from segmentation_data_prep import record_format
from segmentation_data_prep.drift_features import drift_features
from tensorflow.core.example import example_pb2


def _sample(seed=0, height=37, width=53):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    mask = rng.integers(0, 3, (height, width), dtype=np.uint8)
    return image, mask


def test_round_trip_numpy_and_tf():
    image, mask = _sample()
    serialized = record_format.encode_example("Abyssinian_1", image, mask)
    decoded = record_format.decode_example(serialized)
    assert decoded.stem == "Abyssinian_1"
    np.testing.assert_array_equal(decoded.image, image)
    np.testing.assert_array_equal(decoded.mask, mask)
    parsed = tf.io.parse_example([serialized], record_format.tf_feature_spec())
    np.testing.assert_array_equal(tf.io.decode_png(parsed["image"][0]).numpy(), image)
    np.testing.assert_array_equal(tf.io.decode_png(parsed["mask"][0])[..., 0].numpy(), mask)
    assert parsed["height"].numpy().tolist() == [37] and parsed["width"].numpy().tolist() == [53]


@pytest.mark.parametrize("level", [0, 1, 9])
def test_hand_written_wire_format_equals_protobuf(level):
    image, mask = _sample(1, 300, 200)  # sizes above 127 need multi-byte varints
    example = example_pb2.Example()
    feature = example.features.feature
    feature["image"].bytes_list.value.append(record_format.encode_png(image, level))
    feature["mask"].bytes_list.value.append(record_format.encode_png(mask, level))
    feature["stem"].bytes_list.value.append("größe_1".encode())
    feature["height"].int64_list.value.append(300)
    feature["width"].int64_list.value.append(200)
    for key, values in drift_features(image, mask, 3, (200, 300)).items():
        feature[key].float_list.value.extend(values)
    expected = example.SerializeToString(deterministic=True)
    assert record_format.encode_example("größe_1", image, mask, level) == expected


def test_compress_level_changes_size_not_pixels():
    image, mask = _sample(2, 64, 64)
    image[:, :32] = 0  # something compressible
    fast = record_format.encode_example("a", image, mask, compress_level=0)
    small = record_format.encode_example("a", image, mask, compress_level=9)
    assert len(small) < len(fast)
    np.testing.assert_array_equal(record_format.decode_example(small).image, image)


@pytest.mark.parametrize(
    "image, mask, message",
    [
        (np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8), "image must be uint8 (H, W, 3)"),
        (np.zeros((4, 4, 3), np.float32), np.zeros((4, 4), np.uint8), "image must be uint8"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), np.uint8), "mask must be uint8 (4, 4)"),
        (
            np.zeros((4, 4, 3), np.uint8),
            np.full((4, 4), 3, np.uint8),
            "mask values must be in 0..2",
        ),
    ],
)
def test_encode_rejects_what_breaks_the_format(image, mask, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        record_format.encode_example("x", image, mask)


def test_shard_glob_and_schema_path():
    assert record_format.shard_glob("train") == "train/train-*.tfrecord"
    with open(record_format.schema_path()) as handle:
        assert 'name: "mask"' in handle.read()
