"""`--split official` for the Pet layout: the dataset's own trainval/test lists.

Oxford-IIIT Pet ships `annotations/trainval.txt` and `annotations/test.txt` (one
`<stem> <class id> <species> <breed id>` line per image, `#` comments). Published results use
that split; the stem hash (the default) cannot reproduce it. trainval -> train, test -> eval.
"""

from __future__ import annotations

import dataclasses

from apache_beam.io.filesystems import FileSystems

from segmentation_data_prep.inputs import InputError, Listing, Outcome

SPLIT_FILES = {"train": "trainval.txt", "eval": "test.txt"}
ANNOTATIONS_DIR = "annotations"


def _read_lines(path: str) -> list[str]:
    try:
        with FileSystems.open(path) as handle:
            return handle.read().decode("utf-8").splitlines()
    except Exception as error:  # missing or unreadable: which one depends on the filesystem
        raise InputError(
            f"--split official needs {path}, which cannot be read ({type(error).__name__}); "
            "add the Pet list files or leave out --split official to split by stem hash"
        ) from None


def read_pet_official_split(input_dir: str) -> dict[str, str]:
    """stem -> 'train' or 'eval'; InputError if a list is missing or a stem is in both."""
    split_of: dict[str, str] = {}
    for split, name in SPLIT_FILES.items():
        path = FileSystems.join(input_dir, ANNOTATIONS_DIR, name)
        for number, line in enumerate(_read_lines(path), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            stem = line.split()[0]
            if split_of.get(stem, split) != split:
                raise InputError(
                    f"{path}:{number}: {stem} is listed in both {SPLIT_FILES['train']} and "
                    f"{SPLIT_FILES['eval']}; an example must be in one split only"
                )
            split_of[stem] = split
    if not split_of:
        raise InputError(f"the official split lists in {input_dir}/{ANNOTATIONS_DIR} are empty")
    return split_of


def apply_official_split(listing: Listing, split_of: dict[str, str]) -> Listing:
    """The listing with each pair's split fixed; pairs in neither list become rejections."""
    result = Listing(
        rejected=list(listing.rejected),
        num_image_files=listing.num_image_files,
        num_mask_files=listing.num_mask_files,
    )
    for pair in listing.pairs:
        split = split_of.get(pair.stem)
        if split is None:
            detail = f"{pair.stem} is in neither {' nor '.join(SPLIT_FILES.values())}"
            paths = (pair.image_path, pair.mask_path)
            result.rejected.append(
                Outcome(pair.stem, paths, reason="not_in_official_split", detail=detail)
            )
        else:
            result.pairs.append(dataclasses.replace(pair, split=split))
    return result
