"""Training-split augmentation of transformed batches, inside the tf.data pipeline.

Runs after Transform on (features {IMAGE_KEY: float32 [B, S, S, 3] in [-1, 1]}, labels
int64 [B, S, S]) batches, so Transform's output and the serving graph never see it. Each
example gets its own random horizontal flip, zoom (scale up by a factor in [1, max_zoom], then
crop a random S x S window) and small brightness / contrast / per-channel colour shifts.
Image and mask share one crop box; the image is sampled bilinearly, the mask with nearest
neighbour, so masks only ever hold the original class ids (no interpolated labels).
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from segmentation_model.transform import IMAGE_KEY


@dataclass(frozen=True)
class AugmentOptions:
    """flip: random left-right flips. max_zoom: 1 disables scale-and-crop. color_jitter:
    largest brightness shift (in the [-1, 1] pixel scale; 0.1 is ~13/255), contrast and
    per-channel gain change (relative); 0 disables it."""

    flip: bool = True
    max_zoom: float = 1.25
    color_jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.max_zoom < 1.0:
            raise ValueError(f"augment max_zoom must be >= 1, got {self.max_zoom}")
        if not 0.0 <= self.color_jitter < 1.0:
            raise ValueError(f"augment color_jitter must be in [0, 1), got {self.color_jitter}")


def augment_batch(
    features: dict[str, tf.Tensor], labels: tf.Tensor, options: AugmentOptions
) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
    """One random flip / zoom-crop / colour change per example (see module doc)."""
    images = features[IMAGE_KEY]
    batch = tf.shape(images)[0]
    size = tf.shape(images)[1:3]
    box_side = 1.0 / tf.random.uniform([batch], 1.0, options.max_zoom + 1e-6)
    top = tf.random.uniform([batch]) * (1.0 - box_side)
    left = tf.random.uniform([batch]) * (1.0 - box_side)
    right = left + box_side
    if options.flip:
        # A box whose x1 > x2 samples the crop mirrored left-right (crop_and_resize's rule).
        flip = tf.random.uniform([batch]) < 0.5
        left, right = tf.where(flip, right, left), tf.where(flip, left, right)
    boxes = tf.stack([top, left, top + box_side, right], axis=1)
    indices = tf.range(batch)
    images = tf.image.crop_and_resize(images, boxes, indices, size, method="bilinear")
    mask = tf.image.crop_and_resize(
        tf.cast(labels[..., tf.newaxis], tf.float32), boxes, indices, size, method="nearest"
    )
    labels = tf.cast(tf.round(mask[..., 0]), labels.dtype)
    if options.color_jitter:
        jitter = options.color_jitter
        brightness = tf.random.uniform([batch, 1, 1, 1], -jitter, jitter)
        contrast = tf.random.uniform([batch, 1, 1, 1], 1.0 - jitter, 1.0 + jitter)
        gain = tf.random.uniform([batch, 1, 1, 3], 1.0 - jitter / 2, 1.0 + jitter / 2)
        mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
        images = (images - mean) * contrast * gain + mean + brightness
        images = tf.clip_by_value(images, -1.0, 1.0)
    return {**features, IMAGE_KEY: images}, labels
