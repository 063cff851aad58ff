"""The demo's predictions picture: masks in the dataset spec's colours, with a legend."""

from __future__ import annotations

import numpy as np
from segmentation_data_prep import record_format
from segmentation_data_prep.presets import OXFORD_PET, SIDEWALK
from segmentation_pipeline.demo import LEGEND_MAX_WIDTH, predictions_picture


def test_predictions_picture_paints_masks_in_the_spec_colours():
    names, colors = OXFORD_PET.class_names, OXFORD_PET.colors
    mask = np.zeros((32, 30), np.uint8)
    mask[:, 10:20], mask[:, 20:] = 1, 2
    record = record_format.DecodedExample("x", np.full((32, 30, 3), 7, np.uint8), mask)
    predicted = np.full((32, 30), 2, np.uint8)

    picture = np.asarray(
        predictions_picture([record, record], [predicted, predicted], names, colors)
    )

    band = 16  # titles above the grid, legend below it
    assert picture.shape[0] == band + 2 * 32 + band  # wide enough for the legend, too
    row = picture[band + 32 : band + 64, : 3 * 30]  # the second record
    np.testing.assert_array_equal(row[:, :30], record.image)
    for column, name in ((5, "pet"), (15, "background"), (25, "border")):
        assert row[0, 30 + column].tolist() == list(colors[names.index(name)]), name
    assert (row[:, 60:] == np.array(colors[2], np.uint8)).all()
    legend = picture[band + 64 :].reshape(-1, 3)
    for color in colors:
        assert (legend == np.array(color, np.uint8)).all(axis=1).any(), color


def test_a_35_class_legend_wraps_and_shows_every_colour():
    mask = np.arange(64 * 64, dtype=np.int64).reshape(64, 64) % SIDEWALK.num_classes
    record = record_format.DecodedExample(
        "street", np.zeros((64, 64, 3), np.uint8), mask.astype(np.uint8)
    )
    picture = np.asarray(
        predictions_picture([record], [mask.astype(np.uint8)], *_names_colors(SIDEWALK))
    )
    assert picture.shape[1] == LEGEND_MAX_WIDTH  # then the legend wraps onto more lines
    assert picture.shape[0] > 16 + 64 + 3 * 16
    legend = picture[16 + 64 :].reshape(-1, 3)
    for color in SIDEWALK.colors:
        assert (legend == np.array(color, np.uint8)).all(axis=1).any(), color


def _names_colors(spec):
    return spec.class_names, spec.colors


def test_small_records_are_enlarged_by_whole_pixels():
    names, colors = OXFORD_PET.class_names, OXFORD_PET.colors
    mask = np.zeros((4, 4), np.uint8)
    mask[0, 0] = 2
    image = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    record = record_format.DecodedExample("x", image, mask)
    picture = np.asarray(predictions_picture([record], [mask], names, colors, scale=3))
    grid = picture[16 : 16 + 12, : 3 * 12]
    np.testing.assert_array_equal(grid[:3, :3], np.broadcast_to(image[0, 0], (3, 3, 3)))
    np.testing.assert_array_equal(grid[9:12, 9:12], np.broadcast_to(image[3, 3], (3, 3, 3)))
    assert (grid[:3, 12:15] == np.array(colors[2], np.uint8)).all()
    assert (grid[3:6, 12:15] == np.array(colors[0], np.uint8)).all()
