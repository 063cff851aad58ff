"""Which dataset a run trains on: the spec data_prep wrote beside the shards, or one named.

Every class-dependent setting of the pipeline (Transform's class count and void label, the
Trainer's classes, the Evaluator's per-class metrics, the labels file the Hub gets) derives
from this one `DatasetSpec`, read when the pipeline is created.
"""

from __future__ import annotations

import os

from segmentation_data_prep.dataset_spec import SPEC_FILE_NAME, DatasetSpec, DatasetSpecError

from segmentation_pipeline.config import ConfigError, PipelineConfig, env_var_name, flag_name


def dataset_spec(config: PipelineConfig, target: str) -> DatasetSpec:
    """`config.dataset_spec` (a preset name or a spec JSON file) when set, else
    `<data dir>/dataset_spec.json` (with spans, the newest span's: the one the run reads).

    Raises:
        ConfigError: the spec cannot be read or is invalid; says how to name one instead.
    """
    from segmentation_data_prep import presets
    from segmentation_data_prep.dataset_spec import read_spec

    how = (
        f"run data_prep first (it writes {SPEC_FILE_NAME} beside the shards), or name the "
        f"dataset with {flag_name('dataset_spec')} / {env_var_name('dataset_spec')} "
        f"(a preset: {', '.join(presets.PRESETS)}, or a spec JSON file)"
    )
    try:
        if not config.dataset_spec:
            location = config.data_location(target)
            if config.train_spans_window:
                from segmentation_data_prep import spans

                newest = spans.list_spans(location, complete_only=False)
                location = spans.span_dir(location, newest[-1]) if newest else location
            separator = "" if location.endswith("/") else "/"
            return read_spec(f"{location}{separator}{SPEC_FILE_NAME}")
        if config.dataset_spec in presets.PRESETS:
            return presets.preset(config.dataset_spec)
        if not os.path.isfile(config.dataset_spec) and not config.dataset_spec.startswith("gs://"):
            raise DatasetSpecError(f"{config.dataset_spec!r} is neither a preset nor a spec file")
        return read_spec(config.dataset_spec)
    except DatasetSpecError as error:
        raise ConfigError(f"No dataset spec for this run: {error}; {how}") from None
