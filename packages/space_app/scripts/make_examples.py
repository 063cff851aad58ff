"""Regenerate the Space's example images from the project's synthetic pet generator.

Run once after changing the generator; the outputs are committed under template/examples/.
Usage: python packages/space_app/scripts/make_examples.py
"""

from __future__ import annotations

import shutil
import tempfile

from segmentation_data_prep.synthetic import write_synthetic_pet_dataset
from segmentation_space_app import template_dir

SEED = 7
NUM_EXAMPLES = 3


def main() -> None:
    examples_dir = template_dir() / "examples"
    examples_dir.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = write_synthetic_pet_dataset(tmp, NUM_EXAMPLES, seed=SEED, min_size=192, max_size=320)
        for image in sorted((root / "images").glob("*.jpg")):
            target = examples_dir / image.name
            shutil.copyfile(image, target)
            print(f"{target} ({target.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
