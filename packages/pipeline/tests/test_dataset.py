"""Which dataset spec a run uses: beside the shards, a preset, or a file; clear when missing."""

from __future__ import annotations

import pytest
from segmentation_data_prep.dataset_spec import DatasetSpec, write_spec
from segmentation_data_prep.presets import OXFORD_PET, SIDEWALK
from segmentation_pipeline.config import TARGET_LOCAL, ConfigError, PipelineConfig
from segmentation_pipeline.dataset import dataset_spec

TINY = DatasetSpec(name="tiny", class_names=("void", "thing"), colors=((0, 0, 0), (9, 9, 9)))


def test_the_spec_data_prep_wrote_beside_the_shards(tmp_path):
    write_spec(SIDEWALK, str(tmp_path / "data"))
    config = PipelineConfig(local_dir=str(tmp_path))
    assert dataset_spec(config, TARGET_LOCAL) == SIDEWALK


def test_a_named_preset_or_file_wins_over_the_data_dir(tmp_path):
    write_spec(SIDEWALK, str(tmp_path / "data"))
    assert (
        dataset_spec(PipelineConfig(local_dir=str(tmp_path), dataset_spec="oxford-pet"), "local")
        == OXFORD_PET
    )
    path = write_spec(TINY, str(tmp_path / "elsewhere"))
    assert dataset_spec(PipelineConfig(local_dir=str(tmp_path), dataset_spec=path), "local") == TINY


@pytest.mark.parametrize("named", ["", "oxford_pet"])
def test_no_spec_is_a_config_error_saying_what_to_do(tmp_path, named):
    config = PipelineConfig(local_dir=str(tmp_path), dataset_spec=named)
    with pytest.raises(ConfigError, match="run data_prep first") as error:
        dataset_spec(config, TARGET_LOCAL)
    assert "--dataset-spec" in str(error.value) and "SEGPIPE_DATASET_SPEC" in str(error.value)
    assert "oxford-pet, sidewalk" in str(error.value)
