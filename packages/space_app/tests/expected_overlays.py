"""Expected app outputs computed by hand (plain arithmetic), not by the app's own code."""

from __future__ import annotations

import numpy as np


def blend(pixels: np.ndarray, mask: np.ndarray, colors: np.ndarray, alpha: float) -> np.ndarray:
    """(1 - alpha) * photo + alpha * class colour, per pixel, in float."""
    return (1 - alpha) * pixels.astype(float) + alpha * np.asarray(colors, float)[mask]


def assert_overlay(overlay, pixels, mask, colors, alpha) -> None:
    """The overlay equals the hand blend up to rounding (at most 1 per channel)."""
    assert overlay.shape == pixels.shape, (overlay.shape, pixels.shape)
    error = np.abs(overlay.astype(float) - blend(pixels, mask, colors, alpha))
    assert error.max() <= 1.0, f"overlay differs from the hand blend by up to {error.max()}"


def shares_by_count(mask: np.ndarray, names) -> dict[str, float]:
    return {
        name: float(np.count_nonzero(mask == index)) / mask.size for index, name in enumerate(names)
    }
