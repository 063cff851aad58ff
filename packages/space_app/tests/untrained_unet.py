"""Test helper (also used by the benchmark): the project's real UNet, untrained, exported with
its real serving signatures (TF Transform graph included).

Its masks are arbitrary but it has exactly the serving graph a trained model has. Needs the model
package and TensorFlow Transform (the `test` extra); the app itself does not.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from segmentation_data_prep import record_format
from segmentation_data_prep.dataset_spec import DatasetSpec
from segmentation_data_prep.presets import OXFORD_PET

DEFAULT_IMAGE_SIZE = 128  # the model package default


def write_transform_output(
    output_dir: str | os.PathLike[str],
    image_size: int = DEFAULT_IMAGE_SIZE,
    spec: DatasetSpec = OXFORD_PET,
) -> Path:
    """Run the model package's preprocessing_fn through TFT (DirectRunner, one synthetic
    record) and write the transform graph the serving signature embeds."""
    import numpy as np
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from segmentation_model import transform
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

    output_dir = Path(output_dir)
    image = np.zeros((image_size, image_size, 3), np.uint8)
    mask = np.ones((image_size, image_size), np.uint8)
    raw = [
        {
            record_format.IMAGE_KEY: record_format.encode_png(image),
            record_format.MASK_KEY: record_format.encode_png(mask),
            record_format.HEIGHT_KEY: image_size,
            record_format.WIDTH_KEY: image_size,
            record_format.STEM_KEY: b"blank",
        }
    ]
    metadata = dataset_metadata.DatasetMetadata(
        schema_utils.schema_from_feature_spec(record_format.tf_feature_spec())
    )
    preprocessing_fn = functools.partial(
        transform.preprocessing_fn,
        custom_config={
            "image_size": image_size,
            "num_classes": spec.num_classes,
            "void_label": spec.void_label,
        },
    )
    transform_output = output_dir / "transform_output"
    with tft_beam.Context(temp_dir=str(output_dir / "tmp")):
        transform_fn = (raw, metadata) | tft_beam.AnalyzeDataset(preprocessing_fn)
        _ = transform_fn | tft_beam.WriteTransformFn(str(transform_output))
    raw_metadata_dir = transform_output / tft.TFTransformOutput.RAW_METADATA_DIR
    metadata_io.write_metadata(metadata, str(raw_metadata_dir))
    return transform_output


def export_untrained_model(
    export_dir: str | os.PathLike[str],
    work_dir: str | os.PathLike[str],
    *,
    image_size: int = DEFAULT_IMAGE_SIZE,
    alpha: float = 1.0,
    decoder_filters: tuple[int, ...] = (256, 128, 64, 32),
    spec: DatasetSpec = OXFORD_PET,
) -> Path:
    """The project's UNet (random weights) for `spec`'s classes, saved with its real serving
    signatures."""
    import tensorflow_transform as tft
    from segmentation_model import signatures, unet

    transform_output = tft.TFTransformOutput(
        str(write_transform_output(work_dir, image_size, spec))
    )
    model = unet.build_unet(
        num_classes=spec.num_classes,
        image_size=image_size,
        alpha=alpha,
        decoder_filters=decoder_filters,
    )
    signatures.export_serving_model(model, transform_output, str(export_dir))
    return Path(export_dir)
