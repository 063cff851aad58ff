"""Constants and helpers shared by the model tests (imported by name: tests/ is on sys.path)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from segmentation_data_prep.presets import OXFORD_PET

IMAGE_SIZE = 64  # small and fast; a multiple of 32 as the UNet needs
PET = OXFORD_PET  # the fixtures' records are Pet-layout data_prep output
TRANSFORM_CONFIG = {
    "image_size": IMAGE_SIZE,
    "num_classes": PET.num_classes,
    "void_label": PET.void_label,
}
TINY_TRAINER_CONFIG = {
    "epochs": 3,
    "batch_size": 4,
    "eval_batch_size": 2,
    "alpha": 0.35,
    "decoder_filters": [32, 32, 16, 16],
    "learning_rate": 3e-3,
    "loss": "cross-entropy+dice",
    "class_weighting": "median-frequency",
    "lr_schedule": "warmup-cosine",
    "lr_warmup_steps": 4,
    "dataset_spec": PET.to_dict(),
}


def encode_image(array: np.ndarray, image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=image_format)
    return buffer.getvalue()


def read_records(records_dir: Path, split: str) -> list[bytes]:
    import tensorflow as tf
    from segmentation_data_prep import record_format

    files = sorted(str(p) for p in records_dir.glob(record_format.shard_glob(split)))
    return [record.numpy() for record in tf.data.TFRecordDataset(files)]
