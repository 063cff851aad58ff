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
import struct
import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

PALETTE_FILE = "palette.json"  # the template's fallback labels, plus the overlay's opacity
LABELS_FILE = "labels.json"  # published with the model, next to saved_model.pb
# What the model is (architecture, parameter count), also next to saved_model.pb: written by
# segmentation_model.model_info (MODEL_INFO_FILE, ARCHITECTURE_KEY, PARAMETERS_KEY).
MODEL_INFO_FILE = "model_info.json"
ARCHITECTURE_KEY = "architecture"
PARAMETERS_KEY = "parameters"
MIN_SIDE = 32  # below this the model's resize turns the image into a few blurred pixels
MAX_WORKING_PIXELS = 4096 * 4096  # larger images are downscaled to this before inference
MAX_INPUT_PIXELS = 100_000_000  # refused outright: decoding alone would need gigabytes
# The formats README.md documents; Pillow is not allowed to try any other (EPS, PSD, ICO...).
SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
# Encoded formats the model's serving signature decodes itself (tf.io.decode_image).
MODEL_NATIVE_FORMATS = frozenset({"JPEG", "PNG"})
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_FILTER_UP = 2
HIGH_DEPTH_ROWS = 256  # rows scaled at a time from 16/32-bit to 8-bit: bounded temporaries
EXIF_ORIENTATION = 0x0112
DEFAULT_QUEUE_MAX_SIZE = 16  # waiting requests; each may hold a 25 MB upload
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
    void_label: int | None = None  # id of the class the overlay leaves unpainted ("unlabeled")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)

    @property
    def colors(self) -> np.ndarray:
        """(num_classes, 3) uint8 lookup table: colors[mask] paints a mask."""
        return np.array([c.color for c in self.classes], dtype=np.uint8)


def load_palette(path: str | Path, overlay_alpha: float | None = None) -> Palette:
    """Read a labels file (labels.json from the model repo, or the template's palette.json):

        {"classes": [{"id": 0, "name": "pet", "color": "#e6194b"}, ...],
         "void_label": null, "overlay_alpha": 0.5}

    as segmentation_data_prep's DatasetSpec.labels_json() writes it. Classes are listed in
    mask-value order; a colour is "#rrggbb" or [r, g, b]; void_label is null or the id of the
    class left unpainted; `overlay_alpha` (palette.json only) defaults to 0.5 and the argument
    overrides it. Raises ValueError naming the file if it is inconsistent.
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = raw["classes"]
        classes = tuple(
            _parse_class(position, entry, path) for position, entry in enumerate(entries)
        )
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise ValueError(
            f"{path}: not a labels file ({type(error).__name__}: {error}); expected "
            '{"classes": [{"id": 0, "name": "...", "color": "#rrggbb"}, ...], "void_label": null}'
        ) from error
    if not classes:
        raise ValueError(f"{path}: no classes listed")
    if len({c.name for c in classes}) != len(classes):
        raise ValueError(f"{path}: class names repeat: {[c.name for c in classes]}")
    void_label = raw.get("void_label")
    if void_label is not None and (
        not isinstance(void_label, int) or not 0 <= void_label < len(classes)
    ):
        raise ValueError(
            f"{path}: void_label must be null or a class id (0..{len(classes) - 1}), "
            f"got {void_label!r}"
        )
    alpha = float(raw.get("overlay_alpha", 0.5) if overlay_alpha is None else overlay_alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"{path}: overlay_alpha must be in [0, 1], got {alpha}")
    return Palette(classes, alpha, void_label)


def _parse_class(position: int, entry: Mapping, path: str | Path) -> SegmentationClass:
    name, color = entry["name"], entry["color"]
    if entry["id"] != position:
        raise ValueError(
            f"{path}: class {name!r} has id {entry['id']}, expected {position} "
            "(classes must be listed in mask-value order)"
        )
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{path}: class {position} has no name")
    if isinstance(color, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", color):
        color = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    if not (
        isinstance(color, list)
        and len(color) == 3
        and all(isinstance(v, int) and 0 <= v <= 255 for v in color)
    ):
        raise ValueError(
            f'{path}: colour of {name!r} must be "#rrggbb" or [r, g, b] in 0..255, got {color!r}'
        )
    return SegmentationClass(position, name, (color[0], color[1], color[2]))


def palette_for_model(
    saved_model_dir: str | Path, template_dir: str | Path
) -> tuple[Palette, Path]:
    """The class names and colours the model was published with (labels.json next to its
    saved_model.pb), else the template's palette.json; the overlay's opacity is the template's.
    Returns the palette and the file it came from."""
    fallback_path = Path(template_dir) / PALETTE_FILE
    fallback = load_palette(fallback_path)
    labels_path = Path(saved_model_dir) / LABELS_FILE
    if not labels_path.is_file():
        return fallback, fallback_path
    return load_palette(labels_path, overlay_alpha=fallback.overlay_alpha), labels_path


def model_description(saved_model_dir: str | Path) -> str:
    """One line on what the model is, from model_info.json next to its saved_model.pb:
    e.g. "Architecture: `segformer_b0`, 3.7 M parameters". Empty when the file is absent or
    unreadable (an older model): the app serves it all the same."""
    path = Path(saved_model_dir) / MODEL_INFO_FILE
    try:
        info = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return ""
    if not isinstance(info, dict) or not isinstance(info.get(ARCHITECTURE_KEY), str):
        return ""
    name = re.sub(r"[^\w.+-]", "", info[ARCHITECTURE_KEY])[:64]  # a name, never markup
    text = f"Architecture: `{name}`"
    parameters = info.get(PARAMETERS_KEY)
    if isinstance(parameters, int) and not isinstance(parameters, bool) and parameters > 0:
        text += f", {parameters / 1e6:.1f} M parameters"
    return text


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


def queue_max_size(environ: Mapping[str, str], default: int = DEFAULT_QUEUE_MAX_SIZE) -> int:
    """Requests allowed to wait in Gradio's queue (QUEUE_MAX_SIZE); more get "queue is full"
    instead of piling up uploads in memory."""
    raw = environ.get("QUEUE_MAX_SIZE", "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"QUEUE_MAX_SIZE must be a positive integer, got {raw!r}.")
    return int(raw)


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
    model returns always lines up with the pixels the overlay is drawn on. Every way Pillow can
    fail on a hostile or broken file becomes an InputImageError that says what to do.
    """
    if not data:
        raise InputImageError("The uploaded file is empty. Upload a JPEG or PNG photo.")
    image = _open(data)
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
    try:
        pixels, notes = _decode_rgb(image, fmt, max_working_pixels)
    except (OSError, SyntaxError, EOFError) as error:
        raise InputImageError(
            f"The {fmt} file is truncated or corrupt ({error}). Re-export it and upload it again."
        ) from error
    except MemoryError as error:
        raise InputImageError(
            f"The {width}x{height} {fmt} image needs more memory to decode than this app has. "
            "Resize it and upload it again."
        ) from error
    except Exception as error:  # Pillow's decoders raise many types on bad data
        raise InputImageError(
            f"The {fmt} file could not be decoded ({type(error).__name__}: {error}). "
            "Re-export it as JPEG or PNG and upload it again."
        ) from error
    changed = bool(notes) or fmt not in MODEL_NATIVE_FORMATS
    model_bytes = encode_png(pixels) if changed else data
    return PreparedImage(np.ascontiguousarray(pixels), model_bytes, (width, height), tuple(notes))


def _open(data: bytes) -> Image.Image:
    """Image.open restricted to SUPPORTED_FORMATS; reads the header only."""
    supported = ", ".join(f.replace("WEBP", "WebP") for f in SUPPORTED_FORMATS)
    try:
        with warnings.catch_warnings():  # the pixel limits are checked explicitly
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    except Image.DecompressionBombError as error:
        raise InputImageError(
            f"The image is too large to open safely ({error}). "
            "Resize it below 100 megapixels and upload it again."
        ) from error
    except (UnidentifiedImageError, OSError) as error:
        raise InputImageError(
            f"The uploaded file ({len(data):,} bytes) is not an image this app can read "
            f"(supported: {supported}). Upload a photo of a pet."
        ) from error
    except Exception as error:  # e.g. ValueError: a PNG text-chunk bomb
        raise InputImageError(
            f"The uploaded file ({len(data):,} bytes) has a malformed header "
            f"({type(error).__name__}: {error}). Re-export it as JPEG or PNG and upload it again."
        ) from error


def _decode_rgb(
    image: Image.Image, fmt: str, max_working_pixels: int
) -> tuple[np.ndarray, list[str]]:
    """Decode (first frame, upright, RGB, within the working limit) and say what changed."""
    width, height = image.size
    notes: list[str] = []
    if getattr(image, "n_frames", 1) > 1:
        notes.append(f"The {fmt} has {image.n_frames} frames; segmented the first one.")
        image.seek(0)
    scale = math.sqrt(max_working_pixels / (width * height))
    if scale < 1.0:
        target = (max(1, int(width * scale)), max(1, int(height * scale)))
        image.draft("RGB", target)  # JPEG: decode at reduced scale, far cheaper than full size
    image.load()
    if image.getexif().get(EXIF_ORIENTATION, 1) != 1:
        image = ImageOps.exif_transpose(image)
        notes.append("Rotated the image upright as its EXIF orientation tag asks.")
    pixels, mode_note = _to_rgb(image)
    if mode_note:
        notes.append(mode_note)
    if scale < 1.0:
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        if (target[1], target[0]) != pixels.shape[:2]:
            resized = Image.fromarray(pixels).resize(target, Image.Resampling.LANCZOS)
            pixels = np.asarray(resized)
        notes.append(
            f"Downscaled from {width}x{height} to {pixels.shape[1]}x{pixels.shape[0]} "
            f"(limit {max_working_pixels / 1e6:.1f} megapixels); the overlay has the reduced size."
        )
    return pixels, notes


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
        gray = Image.fromarray(_high_depth_to_uint8(np.asarray(image)))
        return np.asarray(gray.convert("RGB")), (
            f"The image is {mode} (high bit depth grayscale); it was scaled to 8-bit RGB."
        )
    return np.asarray(image.convert("RGB")), f"Converted the image from {mode} to RGB."


def _high_depth_to_uint8(values: np.ndarray) -> np.ndarray:
    """16/32-bit or float grayscale to uint8 (values above 255 mean a 16-bit range), a band of
    rows at a time so no full-size float copy is made."""
    peak = 65535.0 if values.size and values.max() > 255 else 255.0
    gray = np.empty(values.shape, dtype=np.uint8)
    for top in range(0, values.shape[0], HIGH_DEPTH_ROWS):
        band = values[top : top + HIGH_DEPTH_ROWS].astype(np.float32) * np.float32(255.0 / peak)
        gray[top : top + HIGH_DEPTH_ROWS] = np.clip(np.rint(band), 0, 255)
    return gray


def encode_png(pixels: np.ndarray) -> bytes:
    """Lossless RGB PNG, written here rather than by Pillow: each row gets PNG's "Up" filter
    (difference to the row above, one numpy subtraction) and zlib level 1 compresses them all.
    As small as Pillow's level-1 PNG for photos and overlays, and 2-3x faster to encode, since
    Pillow tries every filter on every row."""
    height, width, channels = pixels.shape
    if channels != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"encode_png takes (H, W, 3) uint8, got {pixels.shape} {pixels.dtype}")
    flat = np.ascontiguousarray(pixels).reshape(height, width * 3)
    rows = np.empty((height, 1 + width * 3), dtype=np.uint8)
    rows[:, 0] = PNG_FILTER_UP
    rows[0, 1:] = flat[0]  # "Up" on the first row subtracts zeros
    np.subtract(flat[1:], flat[:-1], out=rows[1:, 1:])  # modulo 256, as PNG defines it
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"".join(
        (
            PNG_SIGNATURE,
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(rows, 1)),
            _png_chunk(b"IEND", b""),
        )
    )


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(body, zlib.crc32(kind))
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


# -------------------------------------------------------------------- postprocessing


def check_mask(mask: np.ndarray, image_size: tuple[int, int], palette: Palette) -> np.ndarray:
    """seg_mask of a batch of one ([1, H, W]) as (H, W) uint8, or ModelOutputError if the model
    broke its contract (wrong size, or a value that is no class id)."""
    mask = np.asarray(mask)
    width, height = image_size
    if mask.shape != (1, height, width):
        raise ModelOutputError(
            f"The model returned seg_mask of shape {mask.shape} for one {width}x{height} image; "
            f"its serving signature must return [batch, height, width] at the original size."
        )
    mask = mask[0]
    num_classes = len(palette.classes)
    if mask.size:
        for value in (int(mask.min()), int(mask.max())):
            if not 0 <= value < num_classes:
                raise ModelOutputError(
                    f"The model returned class {value} but the labels list only {num_classes} "
                    f"classes (ids 0..{num_classes - 1}); the model and its labels disagree."
                )
    return mask.astype(np.uint8, copy=False)


def overlay_mask(pixels: np.ndarray, mask: np.ndarray, palette: Palette) -> np.ndarray:
    """Blend the class colours over the image at full resolution: the mask becomes a palette
    image and Pillow blends in C (out = photo + alpha * (colour - photo), truncated), several
    times faster than the same arithmetic in numpy. Void pixels keep the photo."""
    if pixels.shape[:2] != mask.shape:
        raise ValueError(f"image {pixels.shape[:2]} and mask {mask.shape} differ in size")
    photo = Image.fromarray(pixels)
    painted = Image.fromarray(mask, mode="P")
    painted.putpalette(palette.colors.tobytes())
    blended = Image.blend(photo, painted.convert("RGB"), palette.overlay_alpha)
    if palette.void_label is not None:
        void = Image.fromarray((mask == palette.void_label).view(np.uint8) * np.uint8(255))
        blended.paste(photo, mask=void)
    return np.asarray(blended)


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
