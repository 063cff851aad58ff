"""The demo's predictions picture: masks in record_format's class colours, with a legend."""

from __future__ import annotations

import numpy as np
from segmentation_data_prep import record_format
from segmentation_pipeline.demo import predictions_picture


def test_predictions_picture_paints_masks_in_the_record_format_colours():
    mask = np.zeros((32, 30), np.uint8)
    mask[:, 10:20], mask[:, 20:] = 1, 2
    record = record_format.DecodedExample("x", np.full((32, 30, 3), 7, np.uint8), mask)
    predicted = np.full((32, 30), 2, np.uint8)

    picture = np.asarray(predictions_picture([record, record], [predicted, predicted]))

    band = 16  # titles above the grid, legend below it
    assert picture.shape[0] == band + 2 * 32 + band  # wide enough for the legend, too
    row = picture[band + 32 : band + 64, : 3 * 30]  # the second record
    np.testing.assert_array_equal(row[:, :30], record.image)
    for column, name in ((5, "pet"), (15, "background"), (25, "border")):
        color = record_format.CLASS_COLORS[record_format.CLASS_NAMES.index(name)]
        assert row[0, 30 + column].tolist() == list(color), name
    assert (row[:, 60:] == np.array(record_format.CLASS_COLORS[2], np.uint8)).all()
    legend = picture[band + 64 :].reshape(-1, 3)
    for color in record_format.CLASS_COLORS:
        assert (legend == np.array(color, np.uint8)).all(axis=1).any(), color
