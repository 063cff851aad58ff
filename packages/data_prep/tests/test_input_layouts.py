"""The new input layouts on their own: Hub parquet files, the Pet official split, and the
synthetic Sidewalk-like generator that writes both parquet and image-directory copies."""

from __future__ import annotations

import hashlib
import io

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from PIL import Image
from segmentation_data_prep.hf_parquet import ReadHubParquet, hub_split, list_parquet
from segmentation_data_prep.inputs import InputError
from segmentation_data_prep.official_split import read_pet_official_split
from segmentation_data_prep.presets import SIDEWALK
from segmentation_data_prep.synthetic_street import (
    generate_street_examples,
    write_street_directory,
    write_street_parquet,
)

IN_PROCESS = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_street_scenes_have_many_classes_void_and_rare_classes():
    pixels = np.zeros(SIDEWALK.num_classes, np.int64)
    per_image = []
    for _, image, label in generate_street_examples(60, seed=1):
        mask = np.asarray(Image.open(io.BytesIO(label)))
        assert np.asarray(Image.open(io.BytesIO(image))).shape == (*mask.shape, 3)
        counts = np.bincount(mask.ravel(), minlength=SIDEWALK.num_classes)
        assert len(counts) == SIDEWALK.num_classes  # no value outside the spec
        per_image.append(np.count_nonzero(counts))
        pixels += counts
    assert min(per_image) >= 8  # several classes in every image
    share = pixels / pixels.sum()
    assert share[SIDEWALK.void_label] > 0.01  # void regions exist
    present = share[share > 0]
    assert present.max() / present.min() > 300  # frequencies differ by orders of magnitude
    assert np.count_nonzero(pixels) >= 30  # nearly every class appears in 60 images


def test_generator_is_deterministic_per_index():
    first = list(generate_street_examples(3, seed=4))
    again = list(generate_street_examples(5, seed=4))[:3]
    assert first == again
    assert first != list(generate_street_examples(3, seed=5))


def test_parquet_and_directory_copies_hold_the_same_examples(tmp_path):
    write_street_parquet(tmp_path / "hub", 7, seed=2, rows_per_file=3)
    write_street_directory(tmp_path / "dir", 7, seed=2)
    listing = list_parquet(str(tmp_path / "hub"), SIDEWALK)
    assert [p.rsplit("/", 1)[1] for p in listing.files] == [
        "train-00000-of-00003.parquet",
        "train-00001-of-00003.parquet",
        "train-00002-of-00003.parquet",
    ]
    assert listing.rows == (3, 3, 1) and listing.found == 7
    with TestPipeline(argv=IN_PROCESS) as pipeline:
        examples = (
            pipeline
            | beam.Create(listing.files)
            | ReadHubParquet(SIDEWALK)
            | beam.Map(lambda e: (e.key, digest(e.image), digest(e.mask), e.split))
        )
        expected = [
            (
                path.stem,
                digest(path.read_bytes()),
                digest((tmp_path / "dir" / "masks" / f"{path.stem}.png").read_bytes()),
                None,
            )
            for path in sorted((tmp_path / "dir" / "images").iterdir())
        ]
        assert_that(examples, lambda got: sorted(got) == expected or _fail(got, expected))


def _fail(got, expected):
    raise AssertionError(f"got {sorted(got)}, expected {expected}")


def write_table(path, columns: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)


def image_struct(data: bytes | None, path: str | None) -> dict:
    return {"bytes": data, "path": path}


def test_parquet_without_the_named_columns_is_an_error_before_work(tmp_path):
    cell = [image_struct(b"x", "a.jpg")]
    write_table(tmp_path / "data" / "train-00000-of-00001.parquet", {"image": cell, "label": cell})
    with pytest.raises(InputError) as raised:
        list_parquet(str(tmp_path), SIDEWALK)
    message = str(raised.value)
    assert "has no column 'pixel_values' (columns: image, label)" in message
    assert "image_column" in message
    write_table(
        tmp_path / "data" / "train-00000-of-00001.parquet",
        {"pixel_values": cell, "label": ["not an image"]},
    )
    with pytest.raises(InputError, match="column 'label' is string, not an image struct"):
        list_parquet(str(tmp_path), SIDEWALK)
    (tmp_path / "data" / "train-00000-of-00001.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(InputError, match="is not a readable parquet file"):
        list_parquet(str(tmp_path), SIDEWALK)
    with pytest.raises(InputError, match=r"no \.parquet files under"):
        list_parquet(str(tmp_path / "empty"), SIDEWALK)


def test_rows_without_paths_get_stable_content_keys_and_official_splits(tmp_path):
    rows = {
        "pixel_values": [image_struct(b"img-a", None), image_struct(None, "b.jpg")],
        "label": [image_struct(b"lab-a", None), image_struct(b"lab-b", "b.png")],
    }
    write_table(tmp_path / "data" / "validation-00000-of-00001.parquet", rows)
    listing = list_parquet(str(tmp_path), SIDEWALK)
    assert hub_split(listing.files[0]) == "validation"
    key_a = "row-" + digest(b"img-a" + b"lab-a")[:16]
    with TestPipeline(argv=IN_PROCESS) as pipeline:
        examples = (
            pipeline
            | beam.Create(listing.files)
            | ReadHubParquet(SIDEWALK, official_split=True)
            | beam.Map(lambda e: (e.key, e.image, e.mask, e.split))
        )
        expected = [("b", b"", b"lab-b", "eval"), (key_a, b"img-a", b"lab-a", "eval")]
        assert_that(examples, lambda got: sorted(got) == expected or _fail(got, expected))


@pytest.mark.parametrize(
    ("path", "split"),
    [
        ("repo/data/train-00000-of-00002.parquet", "train"),
        ("repo/data/test-00001-of-00002.parquet", "test"),
        ("repo/default/validation/0000.parquet", "validation"),
        ("repo/data/shard-0.parquet", None),
    ],
)
def test_hub_split_names(path, split):
    assert hub_split(path) == split


def test_pet_official_split(tmp_path):
    annotations = tmp_path / "annotations"
    annotations.mkdir()
    (annotations / "trainval.txt").write_text("Abyssinian_1 1 1 1\nbeagle_2 13 2 4\n")
    (annotations / "test.txt").write_text("#Image CLASS-ID SPECIES BREED ID\n\nBombay_3 4 1 4\n")
    assert read_pet_official_split(str(tmp_path)) == {
        "Abyssinian_1": "train",
        "beagle_2": "train",
        "Bombay_3": "eval",
    }
    (annotations / "test.txt").write_text("Bombay_3 4 1 4\nbeagle_2 13 2 4\n")
    with pytest.raises(InputError, match=r"test.txt:2: beagle_2 is listed in both"):
        read_pet_official_split(str(tmp_path))
    (annotations / "test.txt").unlink()
    with pytest.raises(InputError, match=r"--split official needs .*test\.txt"):
        read_pet_official_split(str(tmp_path))
