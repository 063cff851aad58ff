"""How the API tests publish the stand-in model (segmentation_test_support.standin_model)."""

from __future__ import annotations

# labels.json published with the stand-in: other names and colours than the template's palette.
STANDIN_LABELS = {
    "classes": [
        {"id": 0, "name": "left", "color": [0, 200, 0]},
        {"id": 1, "name": "middle", "color": [250, 0, 250]},
        {"id": 2, "name": "right", "color": [10, 20, 30]},
    ],
    "void_label": None,
}
STANDIN_QUEUE_MAX_SIZE = 2  # few waiting requests, so a test can fill the queue
