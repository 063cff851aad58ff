"""The Beam job on any dataset: spec, layouts (Pet official split, directory, Hub parquet),
a 35-class round trip, and named rejections for input the spec cannot map."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from data_prep_test_helpers import IN_PROCESS, add_file, read_split
from PIL import Image
from segmentation_data_prep import record_format
from segmentation_data_prep.beam_job import run_data_prep
from segmentation_data_prep.dataset_spec import SPEC_FILE_NAME, DatasetSpec, read_spec
from segmentation_data_prep.inputs import InputError
from segmentation_data_prep.presets import SIDEWALK
from segmentation_data_prep.synthetic import write_synthetic_pet_dataset

BLOCK, SCALE, GRID = 4, 5, 6  # 6x6 blocks of 4 px at the stored size, 5x larger on disk
STORED = BLOCK * GRID  # 24 px


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def block_labels(offset: int) -> np.ndarray:
    """(GRID, GRID) class ids: every one of the 35 classes appears in each image."""
    return ((np.arange(GRID * GRID) + offset) % SIDEWALK.num_classes).reshape(GRID, GRID)


def full_size(blocks: np.ndarray, factor: int) -> np.ndarray:
    return np.kron(blocks, np.ones((factor, factor), np.int64)).astype(np.uint8)


def colour_image(labels: np.ndarray) -> np.ndarray:
    return np.asarray(SIDEWALK.colors, np.uint8)[labels]


def write_35_class_directory(root, num_images: int = 4) -> dict[str, np.ndarray]:
    """images/ + masks/ at 120 px; returns stem -> the expected stored (24 px) labels."""
    expected = {}
    for index in range(num_images):
        blocks = block_labels(index * 7)
        mask = full_size(blocks, BLOCK * SCALE)
        add_file(root, f"images/scene_{index}.png", png(colour_image(mask)))
        add_file(root, f"masks/scene_{index}.png", png(mask))
        expected[f"scene_{index}"] = full_size(blocks, BLOCK)
    return expected


def run(input_dir, output_dir, **options):
    return run_data_prep(
        str(input_dir),
        str(output_dir),
        image_size=STORED,
        show_progress=False,
        beam_args=IN_PROCESS,
        **options,
    )


def all_records(output_dir) -> dict[str, bytes]:
    return {**read_split(output_dir, "train"), **read_split(output_dir, "eval")}


def test_35_class_round_trip_and_spec_beside_the_shards(tmp_path):
    expected = write_35_class_directory(tmp_path / "in")
    report = run(tmp_path / "in", tmp_path / "out", spec=SIDEWALK, layout="directory")
    assert report["found"] == report["written"]["total"] == 4
    records = all_records(tmp_path / "out")
    assert sorted(records) == sorted(expected)
    for stem, serialized in records.items():
        decoded = record_format.decode_example(serialized)
        np.testing.assert_array_equal(decoded.mask, expected[stem])
        # The image is the original resized with PIL's Lanczos filter, as a user would.
        original = Image.fromarray(
            colour_image(full_size(expected[stem][::BLOCK, ::BLOCK], BLOCK * SCALE))
        )
        resized = np.asarray(original.resize((STORED, STORED), Image.Resampling.LANCZOS))
        np.testing.assert_array_equal(decoded.image, resized)
    assert read_spec(str(tmp_path / "out" / SPEC_FILE_NAME)) == SIDEWALK
    assert DatasetSpec.from_dict(report["dataset_spec"]) == SIDEWALK
    assert report["layout"] == "directory"


def test_parquet_input_gives_the_same_records_as_the_directory(tmp_path):
    write_35_class_directory(tmp_path / "dir")
    struct = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    stems = sorted(p.stem for p in (tmp_path / "dir" / "images").iterdir())
    table = pa.table(
        {
            "pixel_values": [
                {
                    "bytes": (tmp_path / "dir" / "images" / f"{s}.png").read_bytes(),
                    "path": f"{s}.png",
                }
                for s in stems
            ],
            "label": [
                {
                    "bytes": (tmp_path / "dir" / "masks" / f"{s}.png").read_bytes(),
                    "path": f"{s}.png",
                }
                for s in stems
            ],
        },
        schema=pa.schema([("pixel_values", struct), ("label", struct)]),
    )
    (tmp_path / "hub" / "data").mkdir(parents=True)
    pq.write_table(table, tmp_path / "hub" / "data" / "train-00000-of-00001.parquet")
    run(tmp_path / "dir", tmp_path / "out_dir", spec=SIDEWALK, layout="directory")
    report = run(tmp_path / "hub", tmp_path / "out_hub", spec=SIDEWALK, layout="hf-parquet")
    assert report["found"] == 4 and report["layout"] == "hf-parquet"
    assert all_records(tmp_path / "out_hub") == all_records(tmp_path / "out_dir")


def test_values_and_colours_the_spec_cannot_map_are_named_rejections(tmp_path):
    root = tmp_path / "in"
    write_35_class_directory(root, num_images=2)
    bad = np.full((40, 40), 3, np.uint8)
    bad[:2, :3] = 40  # 6 px of a value no sidewalk class has
    add_file(root, "images/bad_values.png", png(np.zeros((40, 40, 3), np.uint8)))
    add_file(root, "masks/bad_values.png", png(bad))
    add_file(root, "images/small_mask.png", png(np.zeros((40, 40, 3), np.uint8)))
    add_file(root, "masks/small_mask.png", png(np.zeros((20, 40), np.uint8)))
    report = run(root, tmp_path / "out", spec=SIDEWALK, layout="directory")
    rejected = {r["stem"]: r for r in report["rejections"]}
    assert rejected["bad_values"]["reason"] == "mask_values_out_of_range"
    assert "40: 6 px" in rejected["bad_values"]["detail"]
    assert rejected["small_mask"]["reason"] == "size_mismatch"
    assert report["written"]["total"] + report["rejected"]["total"] == report["found"] == 4

    colour_spec = DatasetSpec.from_dict(
        {**SIDEWALK.to_dict(), "name": "sidewalk-colours", "mask_encoding": "colors"}
    )
    colour_root = tmp_path / "colours"
    mask = full_size(block_labels(0), 8)
    add_file(colour_root, "images/ok.png", png(colour_image(mask)))
    add_file(colour_root, "masks/ok.png", png(colour_image(mask)))
    painted = colour_image(mask)
    painted[0, :5] = (1, 2, 3)
    add_file(colour_root, "images/odd.png", png(colour_image(mask)))
    add_file(colour_root, "masks/odd.png", png(painted))
    report = run(colour_root, tmp_path / "out_colours", spec=colour_spec, layout="directory")
    rejected = {r["stem"]: r for r in report["rejections"]}
    assert rejected["odd"]["reason"] == "mask_colors_not_in_palette"
    assert "#010203: 5 px" in rejected["odd"]["detail"]
    decoded = record_format.decode_example(all_records(tmp_path / "out_colours")["ok"])
    np.testing.assert_array_equal(decoded.mask, full_size(block_labels(0), BLOCK))


def test_parquet_without_the_spec_columns_fails_before_any_output(tmp_path):
    (tmp_path / "hub" / "data").mkdir(parents=True)
    cells = [{"bytes": b"x", "path": "a.png"}]
    pq.write_table(
        pa.table({"image": cells, "annotation": cells}),
        tmp_path / "hub" / "data" / "train-00000-of-00001.parquet",
    )
    with pytest.raises(InputError, match="has no column 'pixel_values'"):
        run(tmp_path / "hub", tmp_path / "out", spec=SIDEWALK, layout="hf-parquet")
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")


def test_pet_official_split(tmp_path):
    root = write_synthetic_pet_dataset(tmp_path / "pet", 6, seed=1, min_size=40, max_size=60)
    stems = sorted(p.stem for p in (root / "images").iterdir())
    (root / "annotations" / "trainval.txt").write_text("".join(f"{s} 1 1 1\n" for s in stems[:3]))
    (root / "annotations" / "test.txt").write_text("".join(f"{s} 1 1 1\n" for s in stems[3:5]))
    report = run(root, tmp_path / "out", split="official")
    assert set(read_split(tmp_path / "out", "train")) == set(stems[:3])
    assert set(read_split(tmp_path / "out", "eval")) == set(stems[3:5])
    rejected = report["rejections"]
    assert [(r["stem"], r["reason"]) for r in rejected] == [(stems[5], "not_in_official_split")]
    assert report["split"] == "official"


def test_cli_takes_a_preset_a_spec_file_and_a_layout(tmp_path, capsys):
    from segmentation_data_prep import cli

    write_35_class_directory(tmp_path / "in", num_images=2)
    common = ["--output-dir", str(tmp_path / "out"), "--image-size", str(STORED), "--no-progress"]
    argv = ["--input-dir", str(tmp_path / "in"), *common, "--preset", "sidewalk"]
    assert cli.main([*argv, "--layout", "directory", *IN_PROCESS]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["dataset_spec"]["name"] == "sidewalk" and report["written"]["total"] == 2

    spec_file = tmp_path / "toy.json"
    spec_file.write_text(json.dumps({**SIDEWALK.to_dict(), "void_label": 35}))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--input-dir", str(tmp_path / "in"), *common, "--dataset-spec", str(spec_file)])
    assert exit_info.value.code == 2
    assert "void_label 35 is not a class id (0..34)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--hf-dataset", "org/data", *common, "--layout", "pet"])
    assert exit_info.value.code == 2
    assert "--hf-dataset reads parquet files" in capsys.readouterr().err
