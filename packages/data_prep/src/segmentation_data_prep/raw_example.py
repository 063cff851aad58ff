"""What every input layout yields to the processing step: a key and the encoded image and mask.

File layouts (Pet, directory) read their pairs into this in the workers; the Hugging Face
parquet layout has the bytes in its rows already. Processing then never knows the layout.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RawExample:
    key: str  # the example's stem: names it in records and reports, and seeds the hash split
    image: bytes  # encoded image (JPEG, PNG, ...); b"" when the source had none
    mask: bytes  # encoded mask
    paths: tuple[str, ...]  # where it came from (files, or parquet file + row path)
    split: str | None = None  # fixed by the source (official splits); None = hash of the key
