"""Per-image scalar statistics stored in every record, so that TFDV can see pixel drift.

TFDV's image statistics see sizes and formats, not what is in the pictures: a darker, blurrier
or noisier batch, other backgrounds or smaller objects leave them unchanged. These scalars move
with each of those shifts, and StatisticsGen histograms them like any numeric feature, so the
pipeline compares spans with TFDV's drift comparators (Jensen-Shannon divergence).

All are computed on the stored (resized) pixels, the model's view, except the aspect ratio,
which only the source image still has. Values are in [0, 1] except `sharpness` and
`aspect_ratio` (>= 0). Keys are `record_format.*_KEY`; the schema declares them.
"""

from __future__ import annotations

import numpy as np

from segmentation_data_prep import record_format

# ITU-R BT.601 luma weights, the grayscale of PIL's "L" mode and of most image libraries.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def luma(image: np.ndarray) -> np.ndarray:
    """(H, W) float64 luma in [0, 1] of an (H, W, 3) uint8 RGB image."""
    return (image.astype(np.float64) / 255.0) @ np.asarray(LUMA_WEIGHTS)


def laplacian_variance(gray: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian over interior pixels: high when edges are crisp,
    low when blurred (0 for images under 3 x 3, which have no interior)."""
    if gray.shape[0] < 3 or gray.shape[1] < 3:
        return 0.0
    centre = gray[1:-1, 1:-1]
    laplacian = gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:] - 4.0 * centre
    return float(laplacian.var())


def saturation(image: np.ndarray) -> float:
    """Mean HSV saturation, (max - min) / max per pixel (0 for black pixels)."""
    channels = image.astype(np.float64)
    high, low = channels.max(axis=2), channels.min(axis=2)
    per_pixel = np.divide(high - low, high, out=np.zeros_like(high), where=high > 0)
    return float(per_pixel.mean())


def class_fractions(mask: np.ndarray, num_classes: int) -> list[float]:
    """Share of the pixels of each class id 0..num_classes-1 (sums to 1)."""
    counts = np.bincount(mask.ravel(), minlength=num_classes)[:num_classes]
    return (counts / max(1, mask.size)).tolist()


def drift_features(
    image: np.ndarray, mask: np.ndarray, num_classes: int, source_size: tuple[int, int]
) -> dict[str, list[float]]:
    """Feature key -> float values for one record (`source_size` is the source image's
    (width, height) before resizing)."""
    gray = luma(image)
    means = image.reshape(-1, 3).mean(axis=0) / 255.0 if image.size else np.zeros(3)
    width, height = source_size
    scalars = {
        record_format.BRIGHTNESS_KEY: float(gray.mean()) if gray.size else 0.0,
        record_format.CONTRAST_KEY: float(gray.std()) if gray.size else 0.0,
        record_format.SATURATION_KEY: saturation(image) if image.size else 0.0,
        record_format.RED_MEAN_KEY: float(means[0]),
        record_format.GREEN_MEAN_KEY: float(means[1]),
        record_format.BLUE_MEAN_KEY: float(means[2]),
        record_format.SHARPNESS_KEY: laplacian_variance(gray),
        record_format.ASPECT_RATIO_KEY: width / height if height else 0.0,
    }
    features = {key: [value] for key, value in scalars.items()}
    features[record_format.CLASS_FRACTIONS_KEY] = class_fractions(mask, num_classes)
    return features
