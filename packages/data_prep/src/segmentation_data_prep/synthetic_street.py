"""A synthetic Sidewalk-like dataset: street scenes with the 35 `sidewalk` classes, offline.

Like segments/sidewalk-semantic, each image holds many classes (sky, buildings, road,
sidewalk, curbs, cars, people, poles, signs, ...), void ("unlabeled") regions, and class
frequencies that differ by orders of magnitude: sky, road and buildings cover a fifth of the
pixels each, traffic lights a few in ten thousand, trams and caravans appear in few images.
Each class has its own colour and texture, jittered per image, so a model has a real but
learnable signal. Every image comes from its own random stream seeded by (seed, index).

Written in the Hugging Face Hub's parquet layout (`data/train-*.parquet`, image and label
columns as `{bytes, path}` structs, the way `datasets` stores Image features) or as an
`images/` + `masks/` directory, for the same examples. A `shift` (shifts.py) draws the scenes
the way a harder next span would look, from its own random stream (strength 0: no change).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from segmentation_data_prep.dataset_spec import DatasetSpec
from segmentation_data_prep.presets import SIDEWALK
from segmentation_data_prep.shifts import Shift, background_mix, object_scale, shift_pixels

PARQUET_DIR = "data"
_SHIFT_STREAM = 1  # third seed word of the random stream a shift draws from
# What `new-backgrounds` repaints: the scenery behind the road users.
_BACKGROUND_CLASSES = (
    "sky",
    "construction-building",
    "construction-wall",
    "nature-vegetation",
    "nature-terrain",
    "flat-sidewalk",
)


def street_stem(index: int) -> str:
    return f"street_{index:06d}"


class _Classes:
    """Class ids of the spec by name; the scene is described with the published names."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.ids = {name: i for i, name in enumerate(spec.class_names)}

    def __getattr__(self, name: str) -> int:
        return self.ids[name.replace("_", "-")]


def draw_street_scene(
    rng: np.random.Generator,
    height: int,
    width: int,
    spec: DatasetSpec = SIDEWALK,
    shift: Shift | None = None,
    shift_rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One (H, W, 3) uint8 image and its (H, W) uint8 class-id mask; `shift` draws from
    `shift_rng` only."""
    c = _Classes(spec)
    labels = Image.new("L", (width, height), c.sky)
    draw = ImageDraw.Draw(labels)
    horizon = int(rng.uniform(0.35, 0.55) * height)
    _draw_background(rng, draw, c, height, width, horizon)
    _draw_ground(rng, draw, c, height, width, horizon)
    _draw_objects(rng, draw, c, height, width, horizon, object_scale(shift))
    _draw_void(rng, draw, c, height, width)
    mask = np.asarray(labels, dtype=np.uint8)
    image = _render(rng, mask, spec, (background_mix(shift), shift_rng))
    return shift_pixels(image, shift, shift_rng), mask


def _chance(rng: np.random.Generator, probability: float) -> bool:
    return bool(rng.random() < probability)


def _draw_background(rng, draw, c, height, width, horizon) -> None:
    x = 0
    while x < width:  # a row of buildings (some walls), doors at street level
        span = int(rng.uniform(0.15, 0.4) * width)
        top = int(rng.uniform(0.05, 0.8) * horizon)
        kind = c.construction_wall if _chance(rng, 0.15) else c.construction_building
        draw.rectangle([x, top, x + span, horizon], fill=kind)
        if kind == c.construction_building and _chance(rng, 0.6):
            door_w = max(2, span // 8)
            door_x = x + int(rng.uniform(0.1, 0.8) * span)
            door_h = max(3, (horizon - top) // 4)
            draw.rectangle(
                [door_x, horizon - door_h, door_x + door_w, horizon], fill=c.construction_door
            )
        x += span
    if _chance(rng, 0.08):
        y = int(rng.uniform(0.2, 0.6) * horizon)
        draw.rectangle([0, y, width, y + max(3, height // 20)], fill=c.construction_bridge)
    if _chance(rng, 0.04):
        cx = rng.uniform(0.3, 0.7) * width
        r = 0.15 * width
        draw.pieslice(
            [cx - r, horizon - r, cx + r, horizon + r], 180, 360, fill=c.construction_tunnel
        )
    for _ in range(rng.integers(0, 4)):  # trees
        cx, r = rng.uniform(0, width), rng.uniform(0.05, 0.15) * height
        cy = horizon - r * rng.uniform(0.3, 1.5)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=c.nature_vegetation)


def _draw_ground(rng, draw, c, height, width, horizon) -> None:
    draw.rectangle([0, horizon, width, height], fill=c.flat_sidewalk)
    vanish = rng.uniform(0.35, 0.65) * width
    left, right = rng.uniform(-0.3, 0.2) * width, rng.uniform(0.8, 1.3) * width
    road = [(vanish - 2, horizon), (vanish + 2, horizon), (right, height), (left, height)]
    curb = max(1, height // 60)
    draw.polygon(
        [
            (vanish - 3, horizon),
            (vanish + 3, horizon),
            (right + 3 * curb, height),
            (left - 3 * curb, height),
        ],
        fill=c.flat_curb,
    )
    draw.polygon(road, fill=c.flat_road)
    if _chance(rng, 0.3):  # crosswalk stripes across the lower road
        y0 = int(rng.uniform(0.75, 0.9) * height)
        for i in range(6):
            x0 = left + (right - left) * (0.2 + 0.1 * i)
            draw.rectangle(
                [x0, y0, x0 + (right - left) * 0.05, y0 + height // 20], fill=c.flat_crosswalk
            )
    if _chance(rng, 0.25):
        draw.polygon(
            [
                (vanish + 2, horizon),
                (vanish + 4, horizon),
                (right, height),
                (right - 0.15 * width, height),
            ],
            fill=c.flat_cyclinglane,
        )
    if _chance(rng, 0.2):
        draw.rectangle(
            [0, int(0.7 * height), int(0.2 * width), height], fill=c.flat_parkingdriveway
        )
    if _chance(rng, 0.05):
        for offset in (-0.05, 0.05):
            draw.line(
                [(vanish, horizon), (vanish + offset * width * 4, height)],
                fill=c.flat_railtrack,
                width=max(2, width // 50),
            )
    if _chance(rng, 0.5):
        draw.ellipse(
            [width * 0.8, horizon, width * 1.2, horizon + 0.3 * height], fill=c.nature_terrain
        )
    if _chance(rng, 0.15):
        draw.rectangle(
            [int(0.85 * width), int(0.6 * height), width, int(0.75 * height)],
            fill=c.construction_stairs,
        )
    if _chance(rng, 0.3):
        y = horizon + int(0.05 * height)
        draw.rectangle(
            [0, y - height // 15, int(0.3 * width), y], fill=c.construction_fenceguardrail
        )
    if _chance(rng, 0.3):
        draw.ellipse([0, int(0.85 * height), width * 0.15, height], fill=c.void_ground)


# (class, probability per image, max count, relative height, aspect width/height)
_OBJECTS = (
    ("vehicle-car", 0.8, 3, 0.18, 1.8),
    ("vehicle-truck", 0.15, 1, 0.3, 1.6),
    ("vehicle-bus", 0.1, 1, 0.35, 2.2),
    ("vehicle-tramtrain", 0.03, 1, 0.35, 3.0),
    ("vehicle-motorcycle", 0.1, 1, 0.1, 1.2),
    ("vehicle-bicycle", 0.15, 2, 0.08, 1.5),
    ("vehicle-caravan", 0.03, 1, 0.25, 2.0),
    ("vehicle-cartrailer", 0.03, 1, 0.1, 1.5),
    ("human-person", 0.7, 4, 0.22, 0.35),
    ("human-rider", 0.06, 1, 0.2, 0.4),
    ("void-dynamic", 0.1, 1, 0.08, 1.0),
    ("void-static", 0.15, 2, 0.06, 1.0),
)


def _draw_objects(rng, draw, c, height, width, horizon, scale: float = 1.0) -> None:
    for name, probability, max_count, relative_height, aspect in _OBJECTS:
        if not _chance(rng, probability):
            continue
        for _ in range(rng.integers(1, max_count + 1)):
            y_bottom = rng.uniform(horizon + 0.1 * (height - horizon), height)
            depth = (y_bottom - horizon) / max(1, height - horizon)  # nearer = bigger
            h = max(2.0, relative_height * height * (0.4 + depth) * scale)
            w = max(2.0, h * aspect)
            x = rng.uniform(-0.1 * w, width - 0.9 * w)
            box = [x, y_bottom - h, x + w, y_bottom]
            class_id = c.ids[name]
            if name.startswith("human"):
                draw.ellipse(box, fill=class_id)
                r = w * 0.45
                draw.ellipse([x + w / 2 - r, box[1] - 2 * r, x + w / 2 + r, box[1]], fill=class_id)
            else:
                draw.rounded_rectangle(box, radius=min(w, h) / 5, fill=class_id)
    for _ in range(rng.integers(1, 4)):  # poles with signs and sometimes lights
        x = rng.uniform(0, width)
        bottom = rng.uniform(horizon, height)
        top = bottom - rng.uniform(0.3, 0.6) * height
        thickness = max(1, int(width / 120))
        draw.rectangle([x, top, x + thickness, bottom], fill=c.object_pole)
        if _chance(rng, 0.5):
            s = max(2, width // 40)
            draw.rectangle([x - s, top, x + s, top + s], fill=c.object_trafficsign)
        if _chance(rng, 0.25):
            s = max(1, width // 90)
            draw.rectangle([x, top - 3 * s, x + s, top], fill=c.object_trafficlight)


def _draw_void(rng, draw, c, height, width) -> None:
    """Unlabeled regions (the void label) and unclear patches, as in hand-annotated data."""
    if _chance(rng, 0.6):  # the capture rig at the bottom edge
        draw.rectangle([0, int(height * rng.uniform(0.88, 0.97)), width, height], fill=c.unlabeled)
    for _ in range(rng.integers(0, 3)):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.03, 0.12) * min(height, width)
        points = [
            (
                cx + r * rng.uniform(0.5, 1.2) * math.cos(a),
                cy + r * rng.uniform(0.5, 1.2) * math.sin(a),
            )
            for a in np.linspace(0, 2 * math.pi, 7)[:-1]
        ]
        draw.polygon(points, fill=c.unlabeled if _chance(rng, 0.7) else c.void_unclear)


def _render(
    rng: np.random.Generator,
    mask: np.ndarray,
    spec: DatasetSpec,
    new_background: tuple[float, np.random.Generator | None] = (0.0, None),
) -> np.ndarray:
    """Per-class colour (the display colour pulled towards grey, jittered per image) and texture;
    `new_background` = (weight, its random stream) repaints the scenery in unseen colours."""
    base = np.asarray(spec.colors, np.float32) * 0.7 + 40.0
    base += rng.uniform(-18, 18, size=base.shape).astype(np.float32)
    base[spec.void_label or 0] = rng.uniform(0, 255, 3)  # void looks like anything
    weight, background_rng = new_background
    if weight > 0:
        ids = [i for i, name in enumerate(spec.class_names) if name in _BACKGROUND_CLASSES]
        novel = background_rng.uniform(0, 255, size=(len(ids), 3)).astype(np.float32)
        novel[np.arange(len(ids)), background_rng.integers(0, 3, len(ids))] = 0  # saturated
        base[ids] = (1 - weight) * base[ids] + weight * novel
    height, width = mask.shape
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    period = 3.0 + (np.arange(len(base)) % 7).astype(np.float32)  # a texture per class
    stripes = np.sin((rows + cols * (mask % 3)) * (2 * math.pi) / period[mask]) * 12.0
    image = base[mask] + stripes[..., None]
    image += rng.normal(0, 8, size=(height, width, 1)).astype(np.float32)
    brightness = rng.uniform(0.8, 1.15)
    return np.clip(image * brightness, 0, 255).astype(np.uint8)


def _encoded(array: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    options = {"quality": 92} if fmt == "JPEG" else {"compress_level": 1}
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def generate_street_examples(
    num_images: int,
    seed: int = 0,
    *,
    min_size: int = 160,
    max_size: int = 320,
    shift: Shift | None = None,
) -> Iterator[tuple[str, bytes, bytes]]:
    """(stem, JPEG image bytes, PNG label bytes) for images 0..num_images-1, shifted by
    `shift` (shifts.py) if given."""
    if num_images < 0:
        raise ValueError(f"num_images must be >= 0, got {num_images}")
    if not 16 <= min_size <= max_size:
        raise ValueError(f"need 16 <= min_size <= max_size, got {min_size}, {max_size}")
    for index in range(num_images):
        rng = np.random.default_rng([seed, index])
        width = int(rng.integers(min_size, max_size + 1))
        height = int(width * rng.uniform(0.6, 0.8))  # landscape, like dash- and phone-cams
        shift_rng = np.random.default_rng([seed, index, _SHIFT_STREAM])
        image, labels = draw_street_scene(rng, height, width, shift=shift, shift_rng=shift_rng)
        yield street_stem(index), _encoded(image, "JPEG"), _encoded(labels, "PNG")


def write_street_parquet(
    root: str | os.PathLike,
    num_images: int,
    seed: int = 0,
    *,
    rows_per_file: int = 200,
    spec: DatasetSpec = SIDEWALK,
    shift: Shift | None = None,
    **sizes: int,
) -> Path:
    """`<root>/data/train-0000i-of-0000n.parquet` in the Hub's layout; returns `root`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = Path(root)
    (root / PARQUET_DIR).mkdir(parents=True, exist_ok=True)
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    schema = pa.schema([(spec.image_column, image_type), (spec.label_column, image_type)])
    examples = list(generate_street_examples(num_images, seed, shift=shift, **sizes))
    num_files = max(1, math.ceil(len(examples) / rows_per_file))
    for file_index in range(num_files):
        rows = examples[file_index * rows_per_file : (file_index + 1) * rows_per_file]
        table = pa.table(
            {
                spec.image_column: [{"bytes": img, "path": f"{stem}.jpg"} for stem, img, _ in rows],
                spec.label_column: [{"bytes": lab, "path": f"{stem}.png"} for stem, _, lab in rows],
            },
            schema=schema,
        )
        name = f"train-{file_index:05d}-of-{num_files:05d}.parquet"
        pq.write_table(table, root / PARQUET_DIR / name)
    return root


def write_street_directory(
    root: str | os.PathLike,
    num_images: int,
    seed: int = 0,
    shift: Shift | None = None,
    **sizes: int,
) -> Path:
    """The same examples as `images/<stem>.jpg` + `masks/<stem>.png` (class-id masks)."""
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    for stem, image, labels in generate_street_examples(num_images, seed, shift=shift, **sizes):
        (root / "images" / f"{stem}.jpg").write_bytes(image)
        (root / "masks" / f"{stem}.png").write_bytes(labels)
    return root
