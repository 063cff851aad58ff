"""A small synthetic dataset in the exact Oxford-IIIT Pet layout, for tests and the offline demo.

The machine this project is developed on has no network, so the real dataset cannot be
downloaded. This generator writes the same layout the real loader reads:

    <root>/images/<Breed_name>_<n>.jpg          RGB JPEG, varied sizes
    <root>/annotations/trimaps/<same stem>.png  uint8 trimap: 1 = pet, 2 = background, 3 = border
    <root>/annotations/list.txt                 Pet list file: stem, class id, species, breed id

Each "pet" is a union of ellipses and triangles (body, head, ears, tail) covered in a
high-frequency striped or spotted fur texture; the background is a smooth colour field with
low-contrast gratings and a few smooth distractor blobs, so a segmentation model has a real but
learnable signal (texture and shape, not a constant colour). Every image is drawn from its own
random stream seeded by (seed, index): the output is deterministic and does not depend on
num_images (the first 100 images of a 1000-image set equal a 100-image set). A `shift`
(shifts.py) draws the same kind of set the way a harder next span would look; a shift's own
randomness has its own stream, so strength 0 writes exactly the unshifted set.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from segmentation_data_prep.shifts import Shift, background_mix, object_scale, shift_pixels

PET = 1
BACKGROUND = 2
BORDER = 3

# The 37 breeds of Oxford-IIIT Pet: cats are capitalised, dogs lower case (as in the dataset).
CAT_BREEDS = (
    "Abyssinian",
    "Bengal",
    "Birman",
    "Bombay",
    "British_Shorthair",
    "Egyptian_Mau",
    "Maine_Coon",
    "Persian",
    "Ragdoll",
    "Russian_Blue",
    "Siamese",
    "Sphynx",
)
DOG_BREEDS = (
    "american_bulldog",
    "american_pit_bull_terrier",
    "basset_hound",
    "beagle",
    "boxer",
    "chihuahua",
    "english_cocker_spaniel",
    "english_setter",
    "german_shorthaired",
    "great_pyrenees",
    "havanese",
    "japanese_chin",
    "keeshond",
    "leonberger",
    "miniature_pinscher",
    "newfoundland",
    "pomeranian",
    "pug",
    "saint_bernard",
    "samoyed",
    "scottish_terrier",
    "shiba_inu",
    "staffordshire_bull_terrier",
    "wheaten_terrier",
    "yorkshire_terrier",
)
BREEDS = tuple(sorted(CAT_BREEDS + DOG_BREEDS, key=str.lower))
_SHIFT_STREAM = 1  # third seed word of the random stream a shift draws from


def synthetic_stem(index: int) -> str:
    """Stem of image `index`: breeds cycle, numbers count from 1 per breed, as in the dataset."""
    return f"{BREEDS[index % len(BREEDS)]}_{index // len(BREEDS) + 1}"


def write_synthetic_pet_dataset(
    root: str | os.PathLike,
    num_images: int,
    seed: int = 0,
    *,
    min_size: int = 160,
    max_size: int = 400,
    border_width: int = 2,
    jpeg_quality: int = 90,
    fur_period: tuple[float, float] = (5.0, 11.0),
    pet_scale: float = 1.0,
    shift: Shift | None = None,
) -> Path:
    """Write `num_images` image/trimap pairs under `root` and return `root` as a Path.

    Sizes (height and width independently) are drawn from [min_size, max_size]; the trimap
    border band is about 2 * border_width pixels wide, straddling the pet's outline. fur_period
    (the range of the fur pattern's period, in pixels) and pet_scale (pet size relative to the
    default) draw a set with other texture and shape statistics, e.g. to test a model on data
    it never trained on. `shift` applies a named shift (shifts.py) at its strength.
    """
    if num_images < 0:
        raise ValueError(f"num_images must be >= 0, got {num_images}")
    if not 8 <= min_size <= max_size:
        raise ValueError(f"need 8 <= min_size <= max_size, got {min_size}, {max_size}")
    root = Path(root)
    images_dir = root / "images"
    trimaps_dir = root / "annotations" / "trimaps"
    images_dir.mkdir(parents=True, exist_ok=True)
    trimaps_dir.mkdir(parents=True, exist_ok=True)
    list_lines = [
        "#Image CLASS-ID SPECIES BREED ID",
        "#ID: 1:37 Class ids",
        "#SPECIES: 1:Cat 2:Dog",
    ]
    for index in range(num_images):
        rng = np.random.default_rng([seed, index])
        height = int(rng.integers(min_size, max_size + 1))
        width = int(rng.integers(min_size, max_size + 1))
        shift_rng = np.random.default_rng([seed, index, _SHIFT_STREAM])
        image, trimap = _draw_pair(
            rng,
            height,
            width,
            border_width,
            fur_period,
            pet_scale * object_scale(shift),
            new_background=(background_mix(shift), shift_rng),
        )
        image = shift_pixels(image, shift, shift_rng)
        stem = synthetic_stem(index)
        Image.fromarray(image).save(images_dir / f"{stem}.jpg", quality=jpeg_quality)
        Image.fromarray(trimap).save(trimaps_dir / f"{stem}.png", compress_level=1)
        breed = BREEDS[index % len(BREEDS)]
        species = 1 if breed in CAT_BREEDS else 2
        breed_id = (CAT_BREEDS if species == 1 else DOG_BREEDS).index(breed) + 1
        list_lines.append(f"{stem} {BREEDS.index(breed) + 1} {species} {breed_id}")
    (root / "annotations" / "list.txt").write_text("\n".join(list_lines) + "\n")
    return root


def _draw_pair(
    rng: np.random.Generator,
    height: int,
    width: int,
    border_width: int,
    fur_period: tuple[float, float] = (5.0, 11.0),
    pet_scale: float = 1.0,
    new_background: tuple[float, np.random.Generator | None] = (0.0, None),
) -> tuple[np.ndarray, np.ndarray]:
    """One RGB image (uint8) and its trimap (uint8 in {1, 2, 3}).

    `new_background` = (weight, its random stream): mix a kind of background the default sets
    never have into the background (`new-backgrounds` shift).
    """
    pet = np.asarray(_pet_silhouette(rng, height, width, pet_scale), dtype=bool)
    background = _background_texture(rng, height, width)
    weight, background_rng = new_background
    if weight > 0:
        novel = _novel_background(background_rng, height, width)
        background = (1 - weight) * background + weight * novel
    image = np.where(pet[..., None], _fur_texture(rng, height, width, fur_period), background)
    # Per-pixel sensor/hair noise: strong on fur, faint on the background.
    noise = rng.integers(-16, 17, size=(height, width, 1), dtype=np.int8).astype(np.float32)
    image += noise * np.where(pet, np.float32(1.0), np.float32(0.3))[..., None]
    # Soften the outline a little so the edge is not a one-pixel step (like a real photo).
    image = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    image = np.asarray(image.filter(ImageFilter.BoxBlur(0.6)))
    trimap = np.where(pet, PET, BACKGROUND).astype(np.uint8)
    trimap[_dilate(pet, border_width) & _dilate(~pet, border_width)] = BORDER
    return image, trimap


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a (2r+1)-square, separably with shifted ORs (fast for small r)."""
    grown = mask.copy()
    for shift in range(1, radius + 1):
        grown[shift:] |= mask[:-shift]
        grown[:-shift] |= mask[shift:]
    rows = grown.copy()
    for shift in range(1, radius + 1):
        grown[:, shift:] |= rows[:, :-shift]
        grown[:, :-shift] |= rows[:, shift:]
    return grown


def _pet_silhouette(
    rng: np.random.Generator, height: int, width: int, pet_scale: float = 1.0
) -> Image.Image:
    """Body, head, ears and maybe a tail, as a binary L image; always well inside the frame."""
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    scale = min(height, width) * pet_scale
    cx, cy = rng.uniform(0.35, 0.65) * width, rng.uniform(0.4, 0.65) * height
    body_w, body_h = rng.uniform(0.18, 0.32) * scale, rng.uniform(0.12, 0.22) * scale
    draw.ellipse([cx - body_w, cy - body_h, cx + body_w, cy + body_h], fill=255)
    side = rng.choice([-1.0, 1.0])
    head_r = rng.uniform(0.09, 0.15) * scale
    hx, hy = cx + side * body_w * 0.8, cy - body_h * rng.uniform(0.6, 1.1)
    draw.ellipse([hx - head_r, hy - head_r, hx + head_r, hy + head_r], fill=255)
    for ear in (-1.0, 1.0):
        ex = hx + ear * head_r * 0.6
        ear_h = head_r * rng.uniform(0.6, 1.1)
        base_y = hy - head_r * 0.5
        tip = (ex + ear * head_r * 0.2, base_y - ear_h)
        draw.polygon([(ex - head_r * 0.35, base_y), (ex + head_r * 0.35, base_y), tip], fill=255)
    if rng.random() < 0.7:
        tx = cx - side * body_w * 0.9
        tail = [(tx, cy - body_h * 0.2), (tx - side * body_w * 0.6, cy - body_h * 1.2)]
        draw.line(tail, fill=255, width=max(2, int(scale * 0.03)))
    return mask


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row (H, 1) and column (1, W) coordinates; broadcasting keeps the maths cheap."""
    return np.arange(height, dtype=np.float32)[:, None], np.arange(width, dtype=np.float32)[None]


def _smooth_field(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Smooth random RGB field (float32, 0..255): a tiny random image upsampled bicubically."""
    small = rng.integers(0, 256, size=(cells, cells, 3), dtype=np.uint8)
    field = Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(field, dtype=np.float32)


def _fur_texture(
    rng: np.random.Generator, height: int, width: int, fur_period: tuple[float, float] = (5.0, 11.0)
) -> np.ndarray:
    """Striped or spotted high-frequency fur around a random base colour."""
    y, x = _grid(height, width)
    base = rng.uniform(40, 220, size=3).astype(np.float32)
    # The accent is always far from the base colour, so the fur pattern has real contrast.
    shift = rng.uniform(70, 140) * np.where(base.mean() > 128, -1.0, 1.0)
    accent = np.clip(base + shift + rng.uniform(-30, 30, size=3), 0, 255).astype(np.float32)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(*fur_period)
    phase = (x * np.cos(angle) + y * np.sin(angle)) * (2 * np.pi / period)
    if rng.random() < 0.5:  # stripes
        pattern = 0.5 + 0.5 * np.sin(phase)
    else:  # spots
        pattern = np.sin(phase) * np.sin((x * -np.sin(angle) + y * np.cos(angle)) * 6.3 / period)
        pattern = (pattern > 0.35).astype(np.float32)
    texture = base + pattern[..., None] * (accent - base)
    return texture


def _background_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Smooth colour field, a low-contrast grating and a few smooth distractor blobs."""
    y, x = _grid(height, width)
    texture = _smooth_field(rng, height, width, cells=int(rng.integers(3, 7)))
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(25, 60)
    grating = np.sin((x * np.cos(angle) + y * np.sin(angle)) * np.float32(2 * np.pi / period))
    texture += 12 * grating[..., None]
    for _ in range(int(rng.integers(0, 4))):
        r = rng.uniform(0.05, 0.15) * min(height, width)
        bx, by = rng.uniform(0, width), rng.uniform(0, height)
        blob = ((x - bx) ** 2 + (y - by) ** 2) < r * r
        texture[blob] = 0.5 * texture[blob] + 0.5 * rng.uniform(0, 255, size=3).astype(np.float32)
    return texture


def _novel_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Saturated tiles with crisp high-frequency stripes: a background as busy as fur, which
    the default sets (smooth fields, faint gratings) never show."""
    y, x = _grid(height, width)
    tile = int(rng.integers(12, 28))
    cells = (y // tile).astype(np.int64) * 7919 + (x // tile).astype(np.int64)
    palette = rng.integers(0, 256, size=(64, 3)).astype(np.float32)
    palette[:, int(rng.integers(0, 3))] = 0  # saturated: one channel off
    texture = palette[cells % 64]
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(5.0, 11.0)  # the fur's periods
    stripes = np.sin((x * np.cos(angle) + y * np.sin(angle)) * np.float32(2 * np.pi / period))
    return texture + 45 * stripes[..., None]
