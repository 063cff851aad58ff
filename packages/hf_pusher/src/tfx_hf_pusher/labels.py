"""The labels file published next to ``saved_model.pb``: what the model's output ids mean.

``{"classes": [{"id": 0, "name": "...", "color": "#rrggbb"}, ...], "void_label": null}``: ids
are mask values in order, a colour is ``"#rrggbb"`` or ``[r, g, b]``, ``void_label`` is null or
the id of the class that is never scored (other keys are kept as given). The pipeline passes
the dataset spec's ``labels_json()``; apps that load the model (the Space) read their legend
and palette from this file, so it is checked before anything is pushed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from tfx_hf_pusher.errors import PublishError

LABELS_FILE = "labels.json"
_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def check_labels(labels: Mapping[str, Any]) -> None:
    """Raises PublishError naming the first entry that breaks the labels format."""
    classes = labels.get("classes") if isinstance(labels, Mapping) else None
    if not isinstance(classes, list) or not classes:
        raise PublishError('labels need a non-empty "classes" list of {"id", "name", "color"}.')
    for position, entry in enumerate(classes):
        where = f"labels class {position}"
        if not isinstance(entry, Mapping) or entry.get("id") != position:
            raise PublishError(f'{where}: expected an object with "id": {position} (ids in order).')
        if not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise PublishError(f'{where}: "name" must be a non-empty string.')
        if not _is_color(entry.get("color")):
            raise PublishError(
                f'{where}: "color" must be "#rrggbb" or [r, g, b], got {entry.get("color")!r}.'
            )
    void = labels.get("void_label")
    if void is not None and (isinstance(void, bool) or void not in range(len(classes))):
        raise PublishError(f"labels void_label must be null or a class id, got {void!r}.")


def labels_file(labels: Mapping[str, Any]) -> bytes:
    """The file's bytes (checked; stable formatting, so an unchanged file is not re-committed)."""
    check_labels(labels)
    return (json.dumps(labels, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def hex_color(color: Any) -> str:
    """``"#rrggbb"`` of a checked colour."""
    if isinstance(color, str):
        return color.lower()
    return "#" + "".join(f"{int(channel):02x}" for channel in color)


def _is_color(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_HEX_COLOR.fullmatch(value))
    return (
        isinstance(value, list)
        and len(value) == 3
        and all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in value)
    )
