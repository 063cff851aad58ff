"""What a segmentation dataset is: its classes, void label, colours, layout and mask encoding.

Every stage after data_prep derives its class count, class names, colours and the label to
ignore from this spec, so the spec travels with the data: data_prep writes it beside the
shards (`dataset_spec.json`) and into `report.json`. Presets name the datasets the project
knows; any other dataset is a JSON file (`DatasetSpec.to_json()` shows the format).

Masks are turned into class ids in one of two ways:
- `mask_encoding="values"`: single-channel masks; `mask_values` maps a raw pixel value to a
  class id (Pet trimaps store 1, 2, 3 for classes 0, 1, 2); empty means value = class id.
- `mask_encoding="colors"`: RGB masks whose pixel colours are the classes' `colors`.
A pixel that maps to no class is never guessed: the example is rejected with the count.
"""

from __future__ import annotations

import json
import numbers
import re
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported where used: command lines read specs before heavy imports
    import numpy as np

LAYOUTS = ("pet", "directory", "hf-parquet")
MASK_ENCODINGS = ("values", "colors")
MAX_CLASSES = 256  # labels are stored as uint8
MAX_RAW_VALUE = 65535  # 16-bit masks are the widest PIL decodes
SPEC_FILE_NAME = "dataset_spec.json"
_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

Color = tuple[int, int, int]


class DatasetSpecError(ValueError):
    """A spec that cannot describe a dataset (the message says which field and why)."""


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset's classes in label order (class id = index) and how its files encode them."""

    name: str
    class_names: tuple[str, ...]
    colors: tuple[Color, ...]  # display colour of each class, RGB
    void_label: int | None = None  # class id that loss and metrics ignore (e.g. "unlabeled")
    layout: str = "directory"  # default input layout (one of LAYOUTS)
    mask_encoding: str = "values"
    mask_values: tuple[tuple[int, int], ...] = ()  # (raw value, class id); () = identity
    image_column: str = "image"  # hf-parquet layout: the {bytes, path} columns
    label_column: str = "label"

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_names", tuple(self.class_names))
        object.__setattr__(self, "colors", tuple(tuple(c) for c in self.colors))
        object.__setattr__(self, "mask_values", tuple(tuple(p) for p in self.mask_values))
        _validate(self)

    @cached_property
    def _lookup(self) -> np.ndarray:
        """raw value -> class id (-1 = no class), as a table indexed by the raw value."""
        import numpy as np

        pairs = self.mask_values or tuple((i, i) for i in range(self.num_classes))
        lookup = np.full(max(raw for raw, _ in pairs) + 1, -1, np.int16)
        for raw, class_id in pairs:
            lookup[raw] = class_id
        return lookup

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def scored_class_ids(self) -> tuple[int, ...]:
        """Class ids that loss and metrics count: every class but the void label."""
        return tuple(i for i in range(self.num_classes) if i != self.void_label)

    @property
    def accepted_values(self) -> tuple[int, ...]:
        """Raw mask values that map to a class (mask_encoding "values")."""
        if not self.mask_values:
            return tuple(range(self.num_classes))
        return tuple(sorted(raw for raw, _ in self.mask_values))

    def class_ids_from_values(self, raw: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
        """(uint8 class ids, {raw value: pixel count} of values no class maps from).

        Class ids are only meaningful when the second element is empty.
        """
        import numpy as np

        if self.mask_encoding != "values":
            raise DatasetSpecError(f"{self.name}: masks are colours, not values")
        raw = np.asarray(raw)
        if raw.dtype.kind not in "ub" or raw.dtype.itemsize > 2:
            raise DatasetSpecError(f"mask values must be 8- or 16-bit unsigned, got {raw.dtype}")
        counts = np.bincount(raw.ravel().astype(np.int64), minlength=1)
        present = np.flatnonzero(counts)
        lookup = self._lookup
        unknown = {int(v): int(counts[v]) for v in present if v >= len(lookup) or lookup[v] < 0}
        if unknown:
            return np.zeros(raw.shape, np.uint8), unknown
        return lookup[raw].astype(np.uint8), {}

    def class_ids_from_colors(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[Color, int]]:
        """(uint8 class ids, {colour: pixel count} of colours that are no class's colour)."""
        import numpy as np

        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise DatasetSpecError(f"colour masks must be uint8 (H, W, 3), got {rgb.shape}")
        packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8)
        packed |= rgb[..., 2]
        palette = np.array([(r << 16) | (g << 8) | b for r, g, b in self.colors], np.uint32)
        order = np.argsort(palette)
        position = np.clip(np.searchsorted(palette[order], packed), 0, len(palette) - 1)
        known = palette[order][position] == packed
        if not known.all():
            values, counts = np.unique(packed[~known], return_counts=True)
            unknown = {
                (int(v) >> 16, (int(v) >> 8) & 255, int(v) & 255): int(c)
                for v, c in zip(values, counts)
            }
            return np.zeros(rgb.shape[:2], np.uint8), unknown
        return order[position].astype(np.uint8), {}

    def hex_colors(self) -> tuple[str, ...]:
        return tuple(_hex(color) for color in self.colors)

    def labels_json(self) -> dict[str, Any]:
        """The labels file published with the model: what the Space's legend and palette read."""
        return {
            "dataset": self.name,
            "classes": [
                {"id": i, "name": name, "color": color}
                for i, (name, color) in enumerate(zip(self.class_names, self.hex_colors()))
            ],
            "void_label": self.void_label,
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["class_names"] = list(self.class_names)
        data["colors"] = list(self.hex_colors())
        data["mask_values"] = {str(raw): class_id for raw, class_id in self.mask_values}
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any, source: str = "dataset spec") -> DatasetSpec:
        """Build from to_dict()'s shape; raises DatasetSpecError naming `source` and the field."""
        if not isinstance(data, dict):
            raise DatasetSpecError(f"{source}: expected a JSON object, got {type(data).__name__}")
        known = {"name", "class_names", "colors", "void_label", "layout", "mask_encoding"}
        known |= {"mask_values", "image_column", "label_column"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DatasetSpecError(f"{source}: unknown fields {unknown}; known: {sorted(known)}")
        missing = sorted({"name", "class_names", "colors"} - set(data))
        if missing:
            raise DatasetSpecError(f"{source}: missing required fields {missing}")
        fields = dict(data)
        if not isinstance(fields["colors"], list):
            raise DatasetSpecError(f"{source}: colors must be a list of '#rrggbb' strings")
        fields["colors"] = tuple(_parse_color(c, source) for c in fields["colors"])
        mask_values = fields.get("mask_values", {})
        if not isinstance(mask_values, dict):
            raise DatasetSpecError(f"{source}: mask_values must map raw values to class ids")
        fields["mask_values"] = tuple(
            (_parse_int(raw, f"{source}: mask_values key"), class_id)
            for raw, class_id in mask_values.items()
        )
        if not isinstance(fields["class_names"], list):
            raise DatasetSpecError(f"{source}: class_names must be a list of names")
        try:
            return cls(**fields)
        except DatasetSpecError as error:
            raise DatasetSpecError(f"{source}: {error}") from None

    @classmethod
    def from_json(cls, text: str, source: str = "dataset spec") -> DatasetSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise DatasetSpecError(f"{source}: not valid JSON: {error}") from None
        return cls.from_dict(data, source)


def _hex(color: Color) -> str:
    return "#" + "".join(f"{channel:02x}" for channel in color)


def _parse_color(value: Any, source: str) -> Color:
    if isinstance(value, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)
    if isinstance(value, list) and len(value) == 3:
        return tuple(value)  # checked by _validate
    raise DatasetSpecError(f"{source}: colour {value!r} is neither '#rrggbb' nor [r, g, b]")


def _parse_int(value: Any, where: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DatasetSpecError(f"{where} {value!r} is not an integer") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _validate(spec: DatasetSpec) -> None:
    if not isinstance(spec.name, str) or not _NAME_PATTERN.match(spec.name):
        raise DatasetSpecError(
            f"name {spec.name!r} must be 1-64 characters of a-z, 0-9, '.', '_', '-' "
            "(it names files and model repos)"
        )
    names = spec.class_names
    if not 1 <= len(names) <= MAX_CLASSES:
        raise DatasetSpecError(f"need 1..{MAX_CLASSES} class names, got {len(names)}")
    for index, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise DatasetSpecError(f"class {index}: name must be a non-empty string, got {name!r}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DatasetSpecError(f"class names repeat: {repeated}")
    if len(spec.colors) != len(names):
        raise DatasetSpecError(
            f"{len(names)} classes but {len(spec.colors)} colours: give one colour per class"
        )
    for index, color in enumerate(spec.colors):
        if len(color) != 3 or not all(_is_int(c) and 0 <= c <= 255 for c in color):
            raise DatasetSpecError(
                f"class {index} ({names[index]}): colour {color!r} is not three integers in 0..255"
            )
    seen: dict[Color, int] = {}
    for index, color in enumerate(spec.colors):
        if color in seen:
            first = seen[color]
            raise DatasetSpecError(
                f"colour {_hex(color)} repeats: class {first} ({names[first]}) "
                f"and class {index} ({names[index]}); colour masks and legends need one colour "
                "per class"
            )
        seen[color] = index
    if spec.void_label is not None and not (
        _is_int(spec.void_label) and 0 <= spec.void_label < len(names)
    ):
        raise DatasetSpecError(
            f"void_label {spec.void_label!r} is not a class id (0..{len(names) - 1}) or null"
        )
    if spec.void_label is not None and len(names) < 2:
        raise DatasetSpecError("a dataset whose only class is void has nothing to learn")
    if spec.layout not in LAYOUTS:
        raise DatasetSpecError(f"layout {spec.layout!r} is not one of {LAYOUTS}")
    if spec.mask_encoding not in MASK_ENCODINGS:
        raise DatasetSpecError(
            f"mask_encoding {spec.mask_encoding!r} is not one of {MASK_ENCODINGS}"
        )
    if spec.mask_encoding == "colors" and spec.mask_values:
        raise DatasetSpecError("mask_values apply to value masks; colour masks use `colors`")
    raw_seen: set[int] = set()
    for raw, class_id in spec.mask_values:
        if not _is_int(raw) or not 0 <= raw <= MAX_RAW_VALUE:
            raise DatasetSpecError(f"mask value {raw!r} is not an integer in 0..{MAX_RAW_VALUE}")
        if raw in raw_seen:
            raise DatasetSpecError(f"mask value {raw} is mapped twice")
        raw_seen.add(raw)
        if not _is_int(class_id) or not 0 <= class_id < len(names):
            raise DatasetSpecError(
                f"mask value {raw} maps to {class_id!r}, not a class id (0..{len(names) - 1})"
            )
    for column in (spec.image_column, spec.label_column):
        if not isinstance(column, str) or not column:
            raise DatasetSpecError(f"parquet column names must be non-empty, got {column!r}")
    if spec.image_column == spec.label_column:
        raise DatasetSpecError(f"image_column and label_column are both {spec.image_column!r}")


def read_spec(path: str) -> DatasetSpec:
    """Load a spec JSON file (local path or gs://); DatasetSpecError names the file."""
    from apache_beam.io.filesystems import FileSystems

    try:
        with FileSystems.open(path) as handle:
            text = handle.read().decode("utf-8")
    except Exception as error:  # filesystem errors differ per scheme
        raise DatasetSpecError(f"cannot read dataset spec {path}: {error}") from None
    return DatasetSpec.from_json(text, source=path)


def write_spec(spec: DatasetSpec, directory: str) -> str:
    """Write `<directory>/dataset_spec.json` (local or gs://) and return its path."""
    from apache_beam.io.filesystems import FileSystems

    path = FileSystems.join(directory, SPEC_FILE_NAME)
    with FileSystems.create(path) as handle:
        handle.write(spec.to_json().encode("utf-8"))
    return path
