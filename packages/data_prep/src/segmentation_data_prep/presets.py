"""The datasets this project knows by name: `--preset oxford-pet` (the default) or `sidewalk`.

`oxford-pet` is exactly the record format's classes and trimap values, so its records are
byte-identical to those written before dataset specs existed. `sidewalk` is the class list
published with `segments/sidewalk-semantic` on the Hugging Face Hub (35 classes, label 0
"unlabeled" is void), whose parquet files hold `pixel_values` and `label` image columns.
"""

from __future__ import annotations

from segmentation_data_prep import record_format
from segmentation_data_prep.dataset_spec import DatasetSpec, DatasetSpecError

OXFORD_PET = DatasetSpec(
    name="oxford-pet",
    class_names=record_format.CLASS_NAMES,
    colors=record_format.CLASS_COLORS,
    void_label=None,
    layout="pet",
    mask_encoding="values",
    mask_values=tuple(
        (class_id + record_format.TRIMAP_OFFSET, class_id)
        for class_id in range(record_format.NUM_CLASSES)
    ),
)

# (name, colour): Cityscapes-like colours where a class has one, distinct for every class.
_SIDEWALK_CLASSES = (
    ("unlabeled", (0, 0, 0)),
    ("flat-road", (128, 64, 128)),
    ("flat-sidewalk", (244, 35, 232)),
    ("flat-crosswalk", (255, 255, 255)),
    ("flat-cyclinglane", (0, 128, 192)),
    ("flat-parkingdriveway", (250, 170, 160)),
    ("flat-railtrack", (230, 150, 140)),
    ("flat-curb", (196, 196, 196)),
    ("human-person", (220, 20, 60)),
    ("human-rider", (255, 0, 0)),
    ("vehicle-car", (0, 0, 142)),
    ("vehicle-truck", (0, 0, 70)),
    ("vehicle-bus", (0, 60, 100)),
    ("vehicle-tramtrain", (0, 80, 100)),
    ("vehicle-motorcycle", (0, 0, 230)),
    ("vehicle-bicycle", (119, 11, 32)),
    ("vehicle-caravan", (0, 0, 90)),
    ("vehicle-cartrailer", (0, 0, 110)),
    ("construction-building", (70, 70, 70)),
    ("construction-door", (139, 69, 19)),
    ("construction-wall", (102, 102, 156)),
    ("construction-fenceguardrail", (190, 153, 153)),
    ("construction-bridge", (150, 100, 100)),
    ("construction-tunnel", (150, 120, 90)),
    ("construction-stairs", (255, 140, 0)),
    ("object-pole", (153, 153, 153)),
    ("object-trafficsign", (220, 220, 0)),
    ("object-trafficlight", (250, 170, 30)),
    ("nature-vegetation", (107, 142, 35)),
    ("nature-terrain", (152, 251, 152)),
    ("sky", (70, 130, 180)),
    ("void-ground", (81, 0, 81)),
    ("void-dynamic", (111, 74, 0)),
    ("void-static", (20, 20, 20)),
    ("void-unclear", (40, 40, 40)),
)

SIDEWALK = DatasetSpec(
    name="sidewalk",
    class_names=tuple(name for name, _ in _SIDEWALK_CLASSES),
    colors=tuple(color for _, color in _SIDEWALK_CLASSES),
    void_label=0,
    layout="hf-parquet",
    mask_encoding="values",
    image_column="pixel_values",
    label_column="label",
)

PRESETS = {spec.name: spec for spec in (OXFORD_PET, SIDEWALK)}
DEFAULT_PRESET = OXFORD_PET.name


def preset(name: str) -> DatasetSpec:
    """The preset called `name`; DatasetSpecError lists the known names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise DatasetSpecError(
            f"no dataset preset {name!r}; known: {', '.join(PRESETS)} (or pass a spec JSON file)"
        ) from None
