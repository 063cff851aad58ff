"""Named distribution shifts for the synthetic generators: the data of a harder next span.

Continuous training needs data that drifts the way real data does, on request and
reproducibly: `dark` (lighting), `blur` (focus, motion), `sensor-noise`, `new-backgrounds`
(scenes the model never saw) and `small-objects` (objects farther away). A shift has a
strength in [0, 1]: 0 changes nothing, 1 is the full shift. Pixel shifts are applied to a
drawn image (`shift_pixels`); scene shifts change the drawing itself, so each generator asks
`background_mix` and `object_scale`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

SHIFT_NAMES = ("dark", "blur", "new-backgrounds", "small-objects", "sensor-noise")
DEFAULT_STRENGTH = 1.0

# At strength 1: light multiplied by 0.35; a Gaussian blur of 1/60 of the shorter side;
# Gaussian noise of 40 levels (of 255); objects at 0.45 of their size; backgrounds fully new.
_DARKEST_GAIN = 0.35
_BLUR_PER_SIDE = 1 / 60
_NOISE_SIGMA = 40.0
_SMALLEST_SCALE = 0.45


class ShiftError(ValueError):
    """A shift that does not exist or a strength out of range (the message lists the names)."""


@dataclass(frozen=True)
class Shift:
    """One named shift at a strength in [0, 1]."""

    name: str
    strength: float = DEFAULT_STRENGTH

    def __post_init__(self) -> None:
        if self.name not in SHIFT_NAMES:
            raise ShiftError(f"no shift {self.name!r}; known: {', '.join(SHIFT_NAMES)}")
        strength = self.strength
        if isinstance(strength, bool) or not isinstance(strength, (int, float)):
            raise ShiftError(f"shift strength must be a number in [0, 1], got {strength!r}")
        if not (math.isfinite(strength) and 0.0 <= strength <= 1.0):
            raise ShiftError(f"shift strength must be in [0, 1], got {strength}")

    @classmethod
    def parse(cls, text: str) -> Shift:
        """'dark' or 'dark:0.5' (name, then an optional strength)."""
        name, _, strength = text.partition(":")
        if not strength:
            return cls(name.strip())
        try:
            value = float(strength)
        except ValueError:
            raise ShiftError(f"shift {text!r}: strength {strength!r} is not a number") from None
        return cls(name.strip(), value)

    def __str__(self) -> str:
        return f"{self.name}:{self.strength:g}"


def shift_pixels(image: np.ndarray, shift: Shift | None, rng: np.random.Generator) -> np.ndarray:
    """The (H, W, 3) uint8 image as the shift sees it (unchanged for scene shifts or None)."""
    if shift is None or shift.strength == 0:
        return image
    strength = shift.strength
    if shift.name == "dark":
        gain = 1.0 - (1.0 - _DARKEST_GAIN) * strength
        return np.clip(image.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    if shift.name == "blur":
        radius = strength * min(image.shape[:2]) * _BLUR_PER_SIDE
        return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius)))
    if shift.name == "sensor-noise":
        noise = rng.normal(0.0, _NOISE_SIGMA * strength, size=image.shape).astype(np.float32)
        return np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return image


def object_scale(shift: Shift | None) -> float:
    """Factor on the size of the foreground objects (1 unless `small-objects`)."""
    if shift is None or shift.name != "small-objects":
        return 1.0
    return 1.0 - (1.0 - _SMALLEST_SCALE) * shift.strength


def background_mix(shift: Shift | None) -> float:
    """Weight of the never-seen backgrounds in the background (0 unless `new-backgrounds`)."""
    return shift.strength if shift is not None and shift.name == "new-backgrounds" else 0.0
