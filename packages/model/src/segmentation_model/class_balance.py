"""Per-class loss weights from the label frequencies Transform measured on the training split.

A class covering a 2-3 px band (the Pet trimap's border) is cheaper for plain cross-entropy to
ignore than to learn; weighting each pixel by its class's weight makes rare classes count. The
frequencies come from the transform graph (`transform.LABEL_FREQUENCY_KEY`), so the weights
follow whatever dataset was used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NONE = "none"
INVERSE_FREQUENCY = "inverse-frequency"
MEDIAN_FREQUENCY = "median-frequency"
METHODS = (NONE, INVERSE_FREQUENCY, MEDIAN_FREQUENCY)


def class_weights(frequencies: Sequence[float], method: str, cap: float) -> np.ndarray:
    """float32 [C] loss weights from the class shares `frequencies` (summing to 1 or all 0).

    none: all 1. inverse-frequency: w_c = 1 / (K f_c) with K the number of classes present,
    so the average labelled pixel weighs 1 (the loss keeps its scale). median-frequency (Eigen
    & Fergus 2015): w_c = median(f) / f_c over the classes present, so the median class weighs
    1. Every weight is then capped at `cap`, so a class seen in a handful of pixels cannot
    dominate the loss; a class absent from the training split gets `cap` (it has no pixels
    there to weigh, but may appear elsewhere).
    """
    if method not in METHODS:
        raise ValueError(f"class_weighting must be one of {METHODS}, got {method!r}")
    if cap < 1.0:
        raise ValueError(f"class_weight_cap must be >= 1, got {cap}")
    freq = np.asarray(frequencies, dtype=np.float64)
    if freq.ndim != 1 or freq.size == 0 or not np.isfinite(freq).all() or np.any(freq < 0):
        raise ValueError(f"label frequencies must be a non-empty vector of shares >= 0, got {freq}")
    present = freq > 0
    if method == NONE or not present.any():
        return np.ones(freq.size, np.float32)
    if method == INVERSE_FREQUENCY:
        reference = 1.0 / present.sum()
    else:
        reference = float(np.median(freq[present]))
    weights = np.full(freq.size, cap, dtype=np.float64)
    weights[present] = np.minimum(reference / freq[present], cap)
    return weights.astype(np.float32)
