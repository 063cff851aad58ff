"""Find the inputs of a data_prep run and say, for each file, what it will be used for.

Reads only file names (local or gs://, through Beam's FileSystems), so it runs in the
launcher before the pipeline starts: the counts it produces size the shards and the
progress bar, and every file that cannot become an example is already named here with a
reason. Content problems (unreadable, wrong values, ...) are found later, by processing.py.
"""

from __future__ import annotations

import errno
import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field

from apache_beam.io.filesystems import FileSystems

IMAGES_DIR = "images"
TRIMAPS_DIR = posixpath.join("annotations", "trimaps")
# Where each file layout keeps its masks (the hf-parquet layout is read by hf_parquet.py).
MASK_DIRS = {"pet": TRIMAPS_DIR, "directory": "masks"}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
MASK_EXTENSIONS = (".png",)

# Every reason a file can be rejected for, with how to fix it. Reports name these keys.
REJECTION_REASONS = {
    "image_without_mask": "no mask with the same stem in the masks folder (annotations/trimaps/ "
    "in the Pet layout, masks/ in the directory layout): add <stem>.png there, or remove the "
    "image",
    "mask_without_image": "no image with the same stem in images/: add <stem>.jpg there, or "
    "remove the mask",
    "duplicate_stem": "another file in the same folder has the same stem (e.g. a.jpg and a.png); "
    "the first in sorted order is used: remove or rename the others",
    "stray_file": "not an image or mask (e.g. a .mat file or a macOS ._* AppleDouble file); "
    "it is ignored: delete it to silence this entry",
    "broken_symlink": "a symbolic link whose target is missing, or a loop of links: fix or "
    "remove the link",
    "not_in_official_split": "--split official: the stem is in neither annotations/trainval.txt "
    "nor annotations/test.txt; add it to one, or leave out --split official",
    "image_too_large": "the image file or its declared pixel count is over the cap "
    "(--max-file-mb, --max-pixels; a guard against decompression bombs): downscale it, or "
    "raise the cap if the file is genuine",
    "mask_too_large": "the mask file or its declared pixel count is over the cap "
    "(--max-file-mb, --max-pixels): downscale it, or raise the cap if the file is genuine",
    "unreadable_image": "the image cannot be decoded (empty, truncated, corrupt or not an image "
    "format): re-export or re-download it",
    "unreadable_mask": "the mask cannot be decoded (empty, truncated, corrupt or not an image "
    "format): re-export or re-download it",
    "unsupported_image_mode": "the image's pixel format cannot be converted to 8-bit RGB: "
    "re-export it as an RGB JPEG or PNG",
    "mask_not_single_channel": "the mask has colour channels that differ: save it as a "
    "single-channel (grayscale or palette) PNG of class values, or use a colour-mask spec",
    "mask_not_color": "the dataset spec says masks are RGB colours, but this mask has no "
    "colour channels: save it as RGB, or use a spec with mask_encoding 'values'",
    "size_mismatch": "image and mask (label image) have different sizes: they must be "
    "pixel-aligned",
    "mask_values_out_of_range": "the mask has values that the dataset spec maps to no class "
    "(Pet trimaps: 1 = pet, 2 = background, 3 = border): fix the annotation or the spec's "
    "mask_values",
    "mask_colors_not_in_palette": "the colour mask has colours that are no class's colour in "
    "the dataset spec: fix the annotation, or add the colour to the spec",
    "processing_error": "an unexpected error while processing this pair (an input this job "
    "does not foresee, or a bug): please report it with the detail",
}

# Conversions and oddities that do not lose the example, reported as warnings.
WARNING_REASONS = {
    "converted_to_rgb": "the image was not 8-bit RGB and was converted (mode in the detail)",
    "extension_mismatch": "the file's content is a different format than its extension says; "
    "it was decoded by content: rename it to match",
    "mask_converted": "the mask was stored as RGB/LA/16-bit and its single channel was used",
}


@dataclass(frozen=True)
class Pair:
    """One candidate example: an image and its trimap with the same stem."""

    stem: str
    image_path: str
    mask_path: str
    split: str | None = None  # fixed by --split official; None = hash of the stem


@dataclass(frozen=True)
class Outcome:
    """What happened to one input item; `written + rejected == found` is counted over these.

    An item is a pair (image + trimap), or a single file that could not be paired.
    """

    stem: str
    paths: tuple[str, ...]
    split: str | None = None  # set when written
    reason: str | None = None  # a REJECTION_REASONS key when rejected
    detail: str = ""
    warnings: tuple[tuple[str, str], ...] = ()  # (WARNING_REASONS key, detail)

    @property
    def written(self) -> bool:
        return self.reason is None


@dataclass
class Listing:
    pairs: list[Pair] = field(default_factory=list)
    rejected: list[Outcome] = field(default_factory=list)
    num_image_files: int = 0
    num_mask_files: int = 0

    @property
    def found(self) -> int:
        return len(self.pairs) + len(self.rejected)


class InputError(ValueError):
    """The input directory cannot be used at all (missing, empty, wrong layout)."""


def _split_name(path: str) -> tuple[str, str]:
    name = posixpath.basename(path)
    stem, extension = posixpath.splitext(name)
    return stem, extension.lower()


def _list_dir(directory: str) -> tuple[list[str], list[Outcome]]:
    """Files directly inside `directory`, sorted, and its broken links as rejections.

    Local directories are read with os.scandir so that dangling or looping symbolic links
    become named rejections (Beam's local listing drops them silently); gs:// has no links.
    """
    if "://" in directory:
        matches = FileSystems.match([FileSystems.join(directory, "*")])[0].metadata_list
        return sorted(m.path for m in matches), []
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return [], []
    files, broken = [], []
    for entry in entries:
        try:
            if entry.is_dir():  # follows links; subdirectories are not part of the layout
                continue
            if entry.is_symlink():
                os.stat(entry.path)  # raises for a missing target or a loop
        except OSError as error:
            loop = error.errno == errno.ELOOP
            target = "a loop of links" if loop else f"missing target {os.readlink(entry.path)}"
            broken.append(
                Outcome(
                    _split_name(entry.path)[0],
                    (entry.path,),
                    reason="broken_symlink",
                    detail=f"{entry.path} is a symbolic link to {target}",
                )
            )
            continue
        files.append(entry.path)
    return files, broken


def _stray_detail(name: str) -> str:
    if name.startswith("._"):
        return "macOS AppleDouble metadata file"
    if name.lower().endswith(".mat"):
        return "MATLAB .mat file, not an image"
    return "unexpected file type"


def _index(paths: Iterable[str], extensions: tuple[str, ...], listing: Listing) -> dict[str, str]:
    """stem -> path for usable names; every other file becomes a rejected Outcome."""
    by_stem: dict[str, str] = {}
    for path in paths:
        stem, extension = _split_name(path)
        name = posixpath.basename(path)
        if name.startswith("._") or extension not in extensions:
            listing.rejected.append(
                Outcome(stem, (path,), reason="stray_file", detail=_stray_detail(name))
            )
        elif stem in by_stem:
            listing.rejected.append(
                Outcome(stem, (path,), reason="duplicate_stem", detail=f"{by_stem[stem]} is used")
            )
        else:
            by_stem[stem] = path
    return by_stem


def list_inputs(input_dir: str, layout: str = "pet") -> Listing:
    """Pair images/<stem>.* with <masks>/<stem>.png (MASK_DIRS[layout]); name every other file."""
    if layout not in MASK_DIRS:
        raise InputError(f"layout {layout!r} is not a file layout ({', '.join(MASK_DIRS)})")
    images_dir = FileSystems.join(input_dir, IMAGES_DIR)
    masks_dir = FileSystems.join(input_dir, *MASK_DIRS[layout].split("/"))
    image_files, broken_images = _list_dir(images_dir)
    mask_files, broken_masks = _list_dir(masks_dir)
    if not image_files and not mask_files and not broken_images and not broken_masks:
        layout_name = "Oxford-IIIT Pet" if layout == "pet" else layout
        raise InputError(
            f"no files in {images_dir}/ or {masks_dir}/: the input must be in the "
            f"{layout_name} layout (images/<stem>.jpg and {MASK_DIRS[layout]}/<stem>.png); "
            "check the path or --layout"
        )
    listing = Listing(
        rejected=broken_images + broken_masks,
        num_image_files=len(image_files) + len(broken_images),
        num_mask_files=len(mask_files) + len(broken_masks),
    )
    images = _index(image_files, IMAGE_EXTENSIONS, listing)
    masks = _index(mask_files, MASK_EXTENSIONS, listing)
    for stem in sorted(images.keys() | masks.keys()):
        if stem in images and stem in masks:
            listing.pairs.append(Pair(stem, images[stem], masks[stem]))
        elif stem in images:
            detail = f"no {FileSystems.join(masks_dir, stem + '.png')}"
            listing.rejected.append(
                Outcome(stem, (images[stem],), reason="image_without_mask", detail=detail)
            )
        else:
            detail = f"no {FileSystems.join(images_dir, stem + '.jpg')} (or .jpeg, .png)"
            listing.rejected.append(
                Outcome(stem, (masks[stem],), reason="mask_without_image", detail=detail)
            )
    return listing
