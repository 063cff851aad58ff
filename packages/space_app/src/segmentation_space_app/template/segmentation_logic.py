"""Pre- and post-processing of the Space app: numpy and Pillow only, no TensorFlow, no Gradio.

Shipped next to app.py (the Space installs only requirements.txt, so it cannot import our
packages) and imported by the package's tests, so the logic exists once.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

PALETTE_FILE = "palette.json"
MIN_SIDE = 32  # below this the model's resize turns the image into a few blurred pixels
MAX_WORKING_PIXELS = 4096 * 4096  # larger images are downscaled to this before inference
MAX_INPUT_PIXELS = 100_000_000  # refused outright: decoding alone would need gigabytes
# Encoded formats the model's serving signature decodes itself (tf.io.decode_image).
MODEL_NATIVE_FORMATS = frozenset({"JPEG", "PNG"})
EXIF_ORIENTATION = 0x0112
_PLACEHOLDER = re.compile(r"%%[A-Z_]+%%")


class InputImageError(ValueError):
    """The upload cannot be segmented; the message says what is wrong and what to do."""


class ModelOutputError(RuntimeError):
    """The model broke its output contract (wrong mask shape or class values)."""


class ConfigurationError(RuntimeError):
    """The app does not know which model to serve."""


# ---------------------------------------------------------------------------- palette


@dataclass(frozen=True)
class SegmentationClass:
    index: int
    name: str
    color: tuple[int, int, int]

    @property
    def hex_color(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.color)


@dataclass(frozen=True)
class Palette:
    classes: tuple[SegmentationClass, ...]
    overlay_alpha: float

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)

    @property
    def colors(self) -> np.ndarray:
        """(num_classes, 3) uint8 lookup table: colors[mask] paints a mask."""
        return np.array([c.color for c in self.classes], dtype=np.uint8)


def load_palette(path: str | Path) -> Palette:
    """Read palette.json; raises ValueError naming the file if it is inconsistent."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    classes = []
    for position, entry in enumerate(raw["classes"]):
        if entry["index"] != position:
            raise ValueError(
                f"{path}: class {entry['name']!r} has index {entry['index']}, "
                f"expected {position} (classes must be listed in mask-value order)"
            )
        classes.append(SegmentationClass(position, entry["name"], _parse_hex(entry["color"], path)))
    alpha = float(raw.get("overlay_alpha", 0.5))
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"{path}: overlay_alpha must be in [0, 1], got {alpha}")
    if not classes:
        raise ValueError(f"{path}: no classes listed")
    return Palette(tuple(classes), alpha)


def _parse_hex(color: str, path: str | Path) -> tuple[int, int, int]:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
        raise ValueError(f"{path}: colour {color!r} is not of the form #rrggbb")
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


# ---------------------------------------------------------------------- model source


@dataclass(frozen=True)
class ModelSource:
    repo_id: str
    revision: str
    endpoint: str  # Hub base URL, e.g. https://huggingface.co

    @property
    def url(self) -> str:
        return f"{self.endpoint.rstrip('/')}/{self.repo_id}"

    @property
    def short_revision(self) -> str:
        """Commit hashes are shown abbreviated like git does; branch names in full."""
        is_sha = re.fullmatch(r"[0-9a-f]{40}", self.revision)
        return self.revision[:12] if is_sha else self.revision


def is_placeholder(value: str) -> bool:
    """True while a template value has not been replaced by the publisher."""
    return bool(_PLACEHOLDER.fullmatch(value.strip()))


def resolve_model_source(
    template_repo_id: str, template_revision: str, environ: Mapping[str, str]
) -> ModelSource:
    """Which model to serve: env vars MODEL_REPO_ID / MODEL_REVISION / HF_ENDPOINT override the
    values the publisher wrote into app.py (local runs); a published Space uses the latter."""
    repo_id = environ.get("MODEL_REPO_ID") or template_repo_id
    if is_placeholder(repo_id):
        raise ConfigurationError(
            "No model to serve: app.py still holds the unpublished template placeholder for the "
            "model repo id. Publish the Space with tfx_hf_pusher (it fills in the pushed repo and "
            "revision) or, to run locally, set MODEL_REPO_ID=<user>/<model> "
            "(and MODEL_REVISION=<commit>, default main)."
        )
    revision = environ.get("MODEL_REVISION") or template_revision
    if is_placeholder(revision):
        if not environ.get("MODEL_REPO_ID"):
            raise ConfigurationError(
                f"app.py names model {repo_id!r} but its revision placeholder was not replaced; "
                "republish with tfx_hf_pusher or set MODEL_REVISION."
            )
        revision = "main"
    endpoint = environ.get("HF_ENDPOINT") or "https://huggingface.co"
    return ModelSource(repo_id.strip(), revision.strip(), endpoint.rstrip("/"))


def find_saved_model_dir(snapshot_dir: str | Path) -> Path:
    """The directory holding saved_model.pb in a downloaded model repo (root or one subdir)."""
    root = Path(snapshot_dir)
    found = sorted(p.parent for p in root.rglob("saved_model.pb"))
    if len(found) != 1:
        listing = ", ".join(str(p.relative_to(root)) for p in found) or "none"
        raise ConfigurationError(
            f"Expected exactly one SavedModel (saved_model.pb) in the model repo snapshot "
            f"{root}, found {len(found)}: {listing}."
        )
    return found[0]


# --------------------------------------------------------------------- preprocessing


@dataclass(frozen=True)
class PreparedImage:
    pixels: np.ndarray  # (H, W, 3) uint8: what the overlay is drawn on
    model_bytes: bytes  # encoded JPEG/PNG the model decodes to exactly these H x W pixels
    uploaded_size: tuple[int, int]  # (width, height) of the upload
    notes: tuple[str, ...]  # what was changed on the way, shown to the user

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.shape[1], self.pixels.shape[0]


def prepare_image(
    data: bytes,
    *,
    min_side: int = MIN_SIDE,
    max_working_pixels: int = MAX_WORKING_PIXELS,
    max_input_pixels: int = MAX_INPUT_PIXELS,
) -> PreparedImage:
    """Validate an upload and turn it into RGB pixels plus the bytes to send to the model.

    Decodes once. The upload's own bytes go to the model when they already are an RGB JPEG/PNG
    that needs no change; otherwise the normalised pixels are re-encoded as PNG, so the mask the
    model returns always lines up with the pixels the overlay is drawn on.
    """
    if not data:
        raise InputImageError("The uploaded file is empty. Upload a JPEG or PNG photo.")
    try:
        with warnings.catch_warnings():  # the pixel limits below are checked explicitly
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise InputImageError(
            f"The image is too large to open safely ({error}). "
            "Resize it below 100 megapixels and upload it again."
        ) from error
    except (UnidentifiedImageError, OSError) as error:
        raise InputImageError(
            f"The uploaded file ({len(data):,} bytes) is not an image this app can read "
            "(supported: JPEG, PNG, WebP, GIF, BMP, TIFF). Upload a photo of a pet."
        ) from error
    width, height = image.size
    fmt = image.format or "unknown"
    if width * height > max_input_pixels:
        raise InputImageError(
            f"The image is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); the "
            f"limit is {max_input_pixels / 1e6:.0f} megapixels. Resize it and upload it again."
        )
    if min(width, height) < min_side:
        raise InputImageError(
            f"The image is only {width}x{height} pixels; the model needs at least "
            f"{min_side}x{min_side}. Upload a larger photo."
        )
    notes: list[str] = []
    changed = fmt not in MODEL_NATIVE_FORMATS
    if getattr(image, "n_frames", 1) > 1:
        notes.append(f"The {fmt} has {image.n_frames} frames; segmented the first one.")
        changed = True
    scale = math.sqrt(max_working_pixels / (width * height))
    if scale < 1.0:
        target = (max(1, int(width * scale)), max(1, int(height * scale)))
        image.draft("RGB", target)  # JPEG: decode at reduced scale, far cheaper than full size
    try:
        image.load()
        if image.getexif().get(EXIF_ORIENTATION, 1) != 1:
            image = ImageOps.exif_transpose(image)
            notes.append("Rotated the image upright as its EXIF orientation tag asks.")
            changed = True
    except (OSError, ValueError, SyntaxError) as error:
        raise InputImageError(
            f"The {fmt} file is truncated or corrupt ({error}). Re-export it and upload it again."
        ) from error
    pixels, mode_note = _to_rgb(image)
    if mode_note:
        notes.append(mode_note)
        changed = True
    if scale < 1.0:
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        if (target[1], target[0]) != pixels.shape[:2]:
            resized = Image.fromarray(pixels).resize(target, Image.Resampling.LANCZOS)
            pixels = np.asarray(resized)
        notes.append(
            f"Downscaled from {width}x{height} to {pixels.shape[1]}x{pixels.shape[0]} "
            f"(limit {max_working_pixels / 1e6:.1f} megapixels); the overlay has the reduced size."
        )
        changed = True
    model_bytes = encode_png(pixels) if changed else data
    return PreparedImage(np.ascontiguousarray(pixels), model_bytes, (width, height), tuple(notes))


def _to_rgb(image: Image.Image) -> tuple[np.ndarray, str | None]:
    """(H, W, 3) uint8 and a note when the mode had to change (alpha, grayscale, CMYK, 16 bit)."""
    mode = image.mode
    if mode == "RGB":
        return np.asarray(image), None
    if mode == "P" and "transparency" in image.info:
        mode = "PA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat = Image.alpha_composite(white, rgba).convert("RGB")
        return np.asarray(flat), (
            f"The image has an alpha channel ({image.mode}); transparent areas were filled with "
            "white because the model takes RGB."
        )
    if mode in ("1", "L"):
        return np.asarray(image.convert("RGB")), (
            "The image is grayscale; it was converted to RGB (three equal channels). "
            "The model was trained on colour photos, so expect a rougher mask."
        )
    if mode.startswith("I") or mode == "F":
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if values.max() > 255 else 255.0
        gray = np.clip(values * (255.0 / peak), 0, 255).round().astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2), (
            f"The image is {mode} (high bit depth grayscale); it was scaled to 8-bit RGB."
        )
    return np.asarray(image.convert("RGB")), f"Converted the image from {mode} to RGB."


def encode_png(pixels: np.ndarray) -> bytes:
    """Lossless PNG at zlib level 1: several times faster to encode than the default level 6
    for large images, for a file a few percent larger."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


# -------------------------------------------------------------------- postprocessing


def check_mask(mask: np.ndarray, image_size: tuple[int, int], num_classes: int) -> np.ndarray:
    """seg_mask of a batch of one ([1, H, W]) as (H, W) uint8, or ModelOutputError if the model
    broke its contract."""
    mask = np.asarray(mask)
    width, height = image_size
    if mask.shape != (1, height, width):
        raise ModelOutputError(
            f"The model returned seg_mask of shape {mask.shape} for one {width}x{height} image; "
            f"its serving signature must return [batch, height, width] at the original size."
        )
    mask = mask[0]
    if mask.size and int(mask.max()) >= num_classes:
        raise ModelOutputError(
            f"The model returned class {int(mask.max())} but the palette lists only "
            f"{num_classes} classes; palette.json and the model disagree."
        )
    return mask.astype(np.uint8, copy=False)


def overlay_mask(pixels: np.ndarray, mask: np.ndarray, palette: Palette) -> np.ndarray:
    """Blend the class colours over the image at full resolution, in integer arithmetic."""
    if pixels.shape[:2] != mask.shape:
        raise ValueError(f"image {pixels.shape[:2]} and mask {mask.shape} differ in size")
    weight = round(palette.overlay_alpha * 256)
    painted = palette.colors[mask].astype(np.uint16)
    blended = pixels.astype(np.uint16) * (256 - weight) + painted * weight + 128
    return (blended >> 8).astype(np.uint8)


def class_shares(mask: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    """Fraction of the image's pixels in each class (sums to 1)."""
    counts = np.bincount(mask.ravel(), minlength=len(names))[: len(names)]
    total = max(int(mask.size), 1)
    return {name: float(count) / total for name, count in zip(names, counts)}


def legend_html(palette: Palette) -> str:
    """Colour swatches with class names, matching the overlay's colours."""
    items = "".join(
        f'<span class="legend-item" data-class="{html.escape(c.name)}" '
        f'style="display:inline-flex;align-items:center;margin-right:1.2em">'
        f'<span style="display:inline-block;width:1em;height:1em;border-radius:3px;'
        f'margin-right:0.4em;background:{c.hex_color}"></span>{html.escape(c.name)}</span>'
        for c in palette.classes
    )
    return f'<div class="legend">{items}</div>'


def summary_markdown(prepared: PreparedImage, shares: Mapping[str, float], seconds: float) -> str:
    """Status line under the result: size, per-class shares, timing and any input notes."""
    width, height = prepared.size
    share_text = ", ".join(f"{name} {share:.1%}" for name, share in shares.items())
    lines = [f"Segmented a {width}x{height} image in {seconds * 1000:.0f} ms: {share_text}."]
    lines += [f"- {note}" for note in prepared.notes]
    return "\n".join(lines)
