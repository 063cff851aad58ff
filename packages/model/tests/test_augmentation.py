"""Training augmentation: masks keep their class ids, image and mask stay aligned."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from segmentation_model.augmentation import AugmentOptions, augment_batch
from segmentation_model.transform import IMAGE_KEY

_STRONG = AugmentOptions(flip=True, max_zoom=1.8, color_jitter=0.0)


def _batch(seed: int = 0, count: int = 16, size: int = 32):
    """Masks of blobs in classes {0, 2} only, and images that are a function of the mask."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((count, size, size), np.int64)
    for mask in masks:
        for _ in range(3):
            top, left = rng.integers(0, size - 6, size=2)
            mask[top : top + rng.integers(3, 12), left : left + rng.integers(3, 12)] = 2
    images = np.where(masks[..., None] == 2, 1.0, -1.0) * np.ones(3)
    return {IMAGE_KEY: tf.constant(images, tf.float32)}, tf.constant(masks)


def test_augmented_masks_only_hold_the_original_class_ids():
    tf.random.set_seed(0)
    features, labels = _batch()
    for _ in range(5):
        _, augmented = augment_batch(features, labels, _STRONG)
        # Interpolating between 0 and 2 would give 1 somewhere along every blob edge.
        assert set(np.unique(augmented.numpy())) <= {0, 2}
        assert augmented.dtype == labels.dtype and augmented.shape == labels.shape


def test_image_and_mask_get_the_same_flip_and_crop():
    tf.random.set_seed(1)
    features, labels = _batch(1)
    augmented_features, augmented = augment_batch(features, labels, _STRONG)
    image = augmented_features[IMAGE_KEY].numpy()[..., 0]
    mask = augmented.numpy()
    # Away from blob edges the bilinear image is exactly +-1, and must agree with the mask.
    interior = np.abs(image) > 0.999
    assert interior.mean() > 0.8
    np.testing.assert_array_equal((image > 0)[interior], (mask == 2)[interior])
    assert not np.array_equal(mask, labels.numpy())  # it did change something


def test_flip_only_gives_each_example_or_its_mirror():
    tf.random.set_seed(2)
    features, labels = _batch(2)
    _, augmented = augment_batch(features, labels, AugmentOptions(max_zoom=1.0, color_jitter=0))
    flipped = 0
    for original, result in zip(labels.numpy(), augmented.numpy()):
        if np.array_equal(result, original[:, ::-1]) and not np.array_equal(result, original):
            flipped += 1
        else:
            np.testing.assert_array_equal(result, original)
    assert 0 < flipped < len(labels)


def test_colour_jitter_is_small_and_stays_in_range():
    tf.random.set_seed(3)
    rng = np.random.default_rng(3)
    images = tf.constant(rng.uniform(-0.8, 0.8, (8, 32, 32, 3)), tf.float32)
    labels = tf.zeros((8, 32, 32), tf.int64)
    options = AugmentOptions(flip=False, max_zoom=1.0, color_jitter=0.1)
    augmented, same_labels = augment_batch({IMAGE_KEY: images}, labels, options)
    changed = augmented[IMAGE_KEY].numpy()
    assert changed.min() >= -1.0 and changed.max() <= 1.0
    difference = np.abs(changed - images.numpy())
    assert 0 < difference.mean() < 0.2
    np.testing.assert_array_equal(same_labels.numpy(), labels.numpy())


@pytest.mark.parametrize(
    ("options", "message"),
    [({"max_zoom": 0.9}, "max_zoom must be >= 1"), ({"color_jitter": 1.0}, "color_jitter")],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        AugmentOptions(**options)
