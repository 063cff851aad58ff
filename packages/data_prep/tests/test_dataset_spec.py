"""Dataset specs: presets, mask value/colour mapping, JSON round trip, and every invalid spec."""

from __future__ import annotations

import json

import numpy as np
import pytest
from segmentation_data_prep.dataset_spec import (
    DatasetSpec,
    DatasetSpecError,
    read_spec,
    write_spec,
)
from segmentation_data_prep.presets import OXFORD_PET, PRESETS, SIDEWALK, preset

# The class list published with segments/sidewalk-semantic (id2label), in label order.
PUBLISHED_SIDEWALK_CLASSES = (  # noqa: SIM905
    "unlabeled flat-road flat-sidewalk flat-crosswalk flat-cyclinglane flat-parkingdriveway "
    "flat-railtrack flat-curb human-person human-rider vehicle-car vehicle-truck vehicle-bus "
    "vehicle-tramtrain vehicle-motorcycle vehicle-bicycle vehicle-caravan vehicle-cartrailer "
    "construction-building construction-door construction-wall construction-fenceguardrail "
    "construction-bridge construction-tunnel construction-stairs object-pole object-trafficsign "
    "object-trafficlight nature-vegetation nature-terrain sky void-ground void-dynamic "
    "void-static void-unclear"
).split()


def small_spec(**changes) -> dict:
    data = {
        "name": "toy",
        "class_names": ["void", "road", "car"],
        "colors": ["#000000", "#804080", "#00008e"],
        "void_label": 0,
        "layout": "directory",
    }
    data.update(changes)
    return data


def test_pet_preset_is_todays_trimap_encoding():
    assert OXFORD_PET.class_names == ("pet", "background", "border")
    assert OXFORD_PET.void_label is None and OXFORD_PET.layout == "pet"
    trimap = np.array([[1, 2, 3], [3, 2, 1]], np.uint8)
    ids, unknown = OXFORD_PET.class_ids_from_values(trimap)
    assert unknown == {}
    assert ids.dtype == np.uint8
    np.testing.assert_array_equal(ids, [[0, 1, 2], [2, 1, 0]])
    assert OXFORD_PET.accepted_values == (1, 2, 3)


def test_sidewalk_preset_is_the_published_class_list():
    assert SIDEWALK.class_names == tuple(PUBLISHED_SIDEWALK_CLASSES)
    assert SIDEWALK.num_classes == 35
    assert SIDEWALK.void_label == 0
    assert SIDEWALK.scored_class_ids == tuple(range(1, 35))
    assert (SIDEWALK.image_column, SIDEWALK.label_column) == ("pixel_values", "label")
    raw = np.arange(35, dtype=np.uint8).reshape(5, 7)
    ids, unknown = SIDEWALK.class_ids_from_values(raw)
    assert unknown == {}
    np.testing.assert_array_equal(ids, raw)


def test_unknown_mask_values_are_counted_not_guessed():
    raw = np.full((4, 5), 2, np.uint8)
    raw[0, :3] = 0
    raw[3, 4] = 200
    _, unknown = OXFORD_PET.class_ids_from_values(raw)
    assert unknown == {0: 3, 200: 1}
    wide = np.full((2, 2), 34, np.uint16)
    wide[1, 1] = 4000
    _, unknown = SIDEWALK.class_ids_from_values(wide)
    assert unknown == {4000: 1}


def test_colour_masks_map_through_the_palette():
    spec = DatasetSpec.from_dict(small_spec(mask_encoding="colors"))
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 1] = (0x80, 0x40, 0x80)
    rgb[1, 2] = (0, 0, 0x8E)
    ids, unknown = spec.class_ids_from_colors(rgb)
    assert unknown == {}
    np.testing.assert_array_equal(ids, [[0, 1, 0], [0, 0, 2]])
    rgb[1, 0] = rgb[1, 1] = (1, 2, 3)
    _, unknown = spec.class_ids_from_colors(rgb)
    assert unknown == {(1, 2, 3): 2}


@pytest.mark.parametrize("spec", list(PRESETS.values()), ids=list(PRESETS))
def test_json_round_trip(spec, tmp_path):
    assert DatasetSpec.from_json(spec.to_json()) == spec
    path = write_spec(spec, str(tmp_path))
    assert read_spec(path) == spec
    assert preset(spec.name) is spec


def test_labels_json_is_what_the_space_reads():
    labels = SIDEWALK.labels_json()
    assert labels["void_label"] == 0
    assert labels["classes"][0] == {"id": 0, "name": "unlabeled", "color": "#000000"}
    assert labels["classes"][30] == {"id": 30, "name": "sky", "color": "#4682b4"}
    assert len(labels["classes"]) == 35
    json.dumps(labels)  # serializable as is


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colors": ["#000000", "#804080", "#000000"]}, "colour #000000 repeats: class 0 (void)"),
        ({"colors": ["#000000", "#804080"]}, "3 classes but 2 colours"),
        ({"colors": ["#000000", "#804080", "red"]}, "colour 'red' is neither"),
        ({"colors": ["#000000", "#804080", [0, 0, 300]]}, "class 2 (car): colour"),
        ({"void_label": 3}, "void_label 3 is not a class id (0..2)"),
        ({"void_label": "0"}, "void_label '0' is not a class id"),
        ({"class_names": ["a", "b", "a"]}, "class names repeat: ['a']"),
        ({"class_names": ["a", "", "c"]}, "class 1: name must be a non-empty string"),
        ({"mask_values": {"7": 3}}, "mask value 7 maps to 3, not a class id (0..2)"),
        ({"mask_values": {"x": 1}}, "mask_values key 'x' is not an integer"),
        ({"mask_values": {"70000": 1}}, "mask value 70000 is not an integer in 0..65535"),
        ({"mask_encoding": "colors", "mask_values": {"1": 1}}, "colour masks use `colors`"),
        ({"mask_encoding": "rle"}, "mask_encoding 'rle' is not one of"),
        ({"layout": "coco"}, "layout 'coco' is not one of"),
        ({"name": "My Data!"}, "name 'My Data!' must be"),
        ({"label_column": "image", "image_column": "image"}, "both 'image'"),
        ({"extra": 1}, "unknown fields ['extra']"),
    ],
)
def test_invalid_specs_fail_with_the_field_named(changes, message):
    with pytest.raises(DatasetSpecError) as raised:
        DatasetSpec.from_dict(small_spec(**changes), source="toy.json")
    assert message in str(raised.value)
    assert str(raised.value).startswith("toy.json: ")


def test_missing_fields_and_bad_files_are_named(tmp_path):
    with pytest.raises(DatasetSpecError, match=r"missing required fields \['colors'\]"):
        DatasetSpec.from_dict({"name": "x", "class_names": ["a"]})
    bad = tmp_path / "spec.json"
    bad.write_text("{not json")
    with pytest.raises(DatasetSpecError, match=f"{bad}: not valid JSON"):
        read_spec(str(bad))
    with pytest.raises(DatasetSpecError, match="cannot read dataset spec"):
        read_spec(str(tmp_path / "absent.json"))
    with pytest.raises(DatasetSpecError, match="known: oxford-pet, sidewalk"):
        preset("cityscapes")
