"""The predictions picture's caption: the Evaluator's mean and per-class IoU, under the picture."""

from __future__ import annotations

import numpy as np
from PIL import Image
from segmentation_pipeline.demo import caption_picture, evaluation_caption


def test_caption_names_mean_and_every_class():
    results = {"mean_iou [candidate]": "0.7700", "per-class IoU [candidate]": "a 0.9 | b 0.1"}
    assert evaluation_caption(results) == "IoU on the eval split: mean 0.7700 | a 0.9 | b 0.1"
    assert evaluation_caption({}) == "IoU on the eval split: mean ? | ?"


def test_caption_goes_under_the_unchanged_picture(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (40, 90, 3), np.uint8)
    path = tmp_path / "predictions.png"
    Image.fromarray(pixels).save(path)
    caption_picture(str(path), "IoU on the eval split: mean 0.5")
    captioned = np.asarray(Image.open(path))
    assert captioned.shape == (56, 90, 3)
    np.testing.assert_array_equal(captioned[:40], pixels)
    assert (captioned[40:] < 128).any()  # some dark text pixels on the white band
