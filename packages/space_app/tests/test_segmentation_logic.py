"""Unit tests of the app's pre- and post-processing (template/segmentation_logic.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import segmentation_logic as logic
from image_files import decode, encode, png_header_only, rgb_pixels
from PIL import Image
from segmentation_data_prep import record_format

# ------------------------------------------------------------------------------- palette


def test_palette_matches_the_record_format_classes(palette):
    assert palette.names == record_format.CLASS_NAMES
    assert palette.colors.shape == (record_format.NUM_CLASSES, 3)
    assert len({c.color for c in palette.classes}) == record_format.NUM_CLASSES


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"index": 1, "name": "pet", "color": "#ff0000"}, "index 1, expected 0"),
        ({"index": 0, "name": "pet", "color": "red"}, "#rrggbb"),
    ],
)
def test_load_palette_rejects_inconsistent_files(tmp_path, entry, message):
    path = tmp_path / "palette.json"
    path.write_text(json.dumps({"classes": [entry]}))
    with pytest.raises(ValueError, match=message):
        logic.load_palette(path)


# ----------------------------------------------------------------------- preprocessing


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_rgb_jpeg_and_png_go_to_the_model_unchanged(fmt):
    data = encode(Image.fromarray(rgb_pixels(48, 64)), fmt)
    prepared = logic.prepare_image(data)
    assert prepared.model_bytes is data
    assert prepared.size == prepared.uploaded_size == (64, 48)
    assert prepared.pixels.shape == (48, 64, 3) and prepared.pixels.dtype == np.uint8
    assert prepared.notes == ()


def test_grayscale_is_converted_to_rgb_with_a_note():
    gray = np.arange(40 * 50, dtype=np.uint32).reshape(40, 50) % 256
    prepared = logic.prepare_image(encode(Image.fromarray(gray.astype(np.uint8)), "PNG"))
    assert prepared.pixels.shape == (40, 50, 3)
    assert (prepared.pixels == gray[..., None]).all()
    assert any("grayscale" in note for note in prepared.notes)
    np.testing.assert_array_equal(decode(prepared.model_bytes), prepared.pixels)


def test_sixteen_bit_grayscale_is_scaled_to_eight_bits():
    gray = np.full((40, 40), 65535, dtype=np.uint16)
    gray[:, :20] = 257 * 100
    prepared = logic.prepare_image(encode(Image.fromarray(gray), "PNG"))
    assert set(np.unique(prepared.pixels)) == {100, 255}
    assert any("8-bit" in note for note in prepared.notes)


def test_rgba_transparency_becomes_white():
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[:20, :, 3] = 255  # top half opaque red-ish, bottom half fully transparent
    prepared = logic.prepare_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert (prepared.pixels[:20] == [200, 0, 0]).all()
    assert (prepared.pixels[20:] == 255).all()
    assert any("alpha" in note and "white" in note for note in prepared.notes)
    np.testing.assert_array_equal(decode(prepared.model_bytes), prepared.pixels)


def test_palette_png_with_transparency_is_flattened():
    image = Image.new("P", (40, 40), 0)
    image.putpalette([10, 20, 30, 250, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 40, 20))
    prepared = logic.prepare_image(encode(image, "PNG", transparency=0))
    assert (prepared.pixels[:20] == [250, 0, 0]).all()
    assert (prepared.pixels[20:] == 255).all()


def test_other_formats_are_reencoded_as_png_for_the_model():
    pixels = rgb_pixels(40, 40)
    prepared = logic.prepare_image(encode(Image.fromarray(pixels), "BMP"))
    assert prepared.model_bytes.startswith(b"\x89PNG")
    np.testing.assert_array_equal(decode(prepared.model_bytes), pixels)


def test_animated_gif_uses_the_first_frame():
    frames = [Image.new("RGB", (40, 40), color) for color in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    prepared = logic.prepare_image(data)
    assert tuple(prepared.pixels[0, 0]) == (255, 0, 0)
    assert any("2 frames" in note for note in prepared.notes)


def test_exif_orientation_is_applied():
    pixels = rgb_pixels(40, 60)  # 60 wide, 40 high
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[logic.EXIF_ORIENTATION] = 6  # rotate 90 degrees clockwise to display
    prepared = logic.prepare_image(encode(image, "JPEG", exif=exif, quality=95))
    assert prepared.size == (40, 60)
    assert any("EXIF" in note for note in prepared.notes)
    np.testing.assert_array_equal(decode(prepared.model_bytes), prepared.pixels)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_large_images_are_downscaled_below_the_working_limit(fmt):
    data = encode(Image.fromarray(rgb_pixels(300, 400)), fmt)
    prepared = logic.prepare_image(data, max_working_pixels=30_000)
    width, height = prepared.size
    assert width * height <= 30_000 * 1.02
    assert abs(width / height - 4 / 3) < 0.02
    assert prepared.uploaded_size == (400, 300)
    assert any("Downscaled from 400x300" in note for note in prepared.notes)
    np.testing.assert_array_equal(decode(prepared.model_bytes), prepared.pixels)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"this is a text file, not a photo\n" * 10, "not an image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"0" * 100, "not an image"),
        (png_header_only(12_000, 9_000), r"108 megapixels\); the limit is 100"),
        (png_header_only(40_000, 40_000), "too large"),
    ],
    ids=["empty", "text", "pdf", "over-limit", "decompression-bomb"],
)
def test_unusable_files_are_refused_with_a_clear_message(data, message):
    with pytest.raises(logic.InputImageError, match=message):
        logic.prepare_image(data)


@pytest.mark.parametrize("size", [(1, 1), (31, 200), (200, 8)])
def test_tiny_images_are_refused(size):
    data = encode(Image.new("RGB", size, (1, 2, 3)), "PNG")
    with pytest.raises(logic.InputImageError, match=rf"only {size[0]}x{size[1]} pixels.*32x32"):
        logic.prepare_image(data)


def test_truncated_file_is_refused():
    data = encode(Image.fromarray(rgb_pixels(100, 100)), "JPEG")
    with pytest.raises(logic.InputImageError, match="truncated or corrupt"):
        logic.prepare_image(data[: len(data) // 2])


# ---------------------------------------------------------------------- postprocessing


def test_check_mask_takes_a_batch_of_one():
    mask = np.arange(35, dtype=np.uint8).reshape(1, 5, 7) % 3
    np.testing.assert_array_equal(logic.check_mask(mask, (7, 5), 3), mask[0])


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (np.zeros((1, 5, 6), np.uint8), r"shape \(1, 5, 6\) for one 7x5 image"),
        (np.zeros((5, 7), np.uint8), r"shape \(5, 7\)"),
        (np.zeros((1, 5, 7, 1), np.uint8), r"shape \(1, 5, 7, 1\)"),
        (np.full((1, 5, 7), 255, np.uint8), "class 255"),
    ],
)
def test_check_mask_rejects_a_broken_contract(mask, message):
    with pytest.raises(logic.ModelOutputError, match=message):
        logic.check_mask(mask, (7, 5), 3)


def test_overlay_blends_each_class_colour(palette):
    pixels = np.full((2, 3, 3), 100, dtype=np.uint8)
    mask = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    overlay = logic.overlay_mask(pixels, mask, palette)
    alpha = palette.overlay_alpha
    expected = (1 - alpha) * 100 + alpha * palette.colors[mask].astype(float)
    assert np.abs(overlay.astype(float) - expected).max() <= 1
    assert overlay.shape == pixels.shape and overlay.dtype == np.uint8


def test_overlay_needs_matching_sizes(palette):
    with pytest.raises(ValueError, match="differ in size"):
        logic.overlay_mask(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), np.uint8), palette)


def test_class_shares_count_pixels():
    mask = np.array([[0, 0, 0, 1], [1, 1, 1, 1]], dtype=np.uint8)
    shares = logic.class_shares(mask, ("pet", "background", "border"))
    assert shares == {"pet": 3 / 8, "background": 5 / 8, "border": 0.0}


def test_legend_lists_every_class_with_its_colour(palette):
    legend = logic.legend_html(palette)
    for cls in palette.classes:
        assert f'data-class="{cls.name}"' in legend
        assert cls.hex_color in legend


def test_summary_reports_size_shares_and_notes():
    prepared = logic.PreparedImage(np.zeros((10, 20, 3), np.uint8), b"", (20, 10), ("Rotated.",))
    text = logic.summary_markdown(prepared, {"pet": 0.25, "background": 0.75}, 0.0123)
    assert "20x10" in text and "pet 25.0%" in text and "12 ms" in text and "- Rotated." in text


# ----------------------------------------------------------------------- model source

REPO_PLACEHOLDER = "%%" + "MODEL_REPO_ID" + "%%"
REVISION_PLACEHOLDER = "%%" + "MODEL_REVISION" + "%%"
SHA = "0123456789abcdef0123456789abcdef01234567"


def test_published_values_are_used_on_the_space():
    source = logic.resolve_model_source("alice/pets", SHA, {})
    assert (source.repo_id, source.revision) == ("alice/pets", SHA)
    assert source.url == "https://huggingface.co/alice/pets"
    assert source.short_revision == SHA[:12]


def test_environment_overrides_the_published_values():
    env = {"MODEL_REPO_ID": "bob/m", "MODEL_REVISION": "v2", "HF_ENDPOINT": "http://127.0.0.1:9/"}
    source = logic.resolve_model_source("alice/pets", SHA, env)
    assert source == logic.ModelSource("bob/m", "v2", "http://127.0.0.1:9")
    assert source.short_revision == "v2"


def test_unpublished_template_needs_a_repo_id():
    with pytest.raises(logic.ConfigurationError, match="MODEL_REPO_ID"):
        logic.resolve_model_source(REPO_PLACEHOLDER, REVISION_PLACEHOLDER, {})
    local = logic.resolve_model_source(
        REPO_PLACEHOLDER, REVISION_PLACEHOLDER, {"MODEL_REPO_ID": "a/b"}
    )
    assert local.revision == "main"


def test_half_published_template_is_refused():
    with pytest.raises(logic.ConfigurationError, match="revision placeholder"):
        logic.resolve_model_source("alice/pets", REVISION_PLACEHOLDER, {})


def test_find_saved_model_dir(tmp_path):
    with pytest.raises(logic.ConfigurationError, match="found 0"):
        logic.find_saved_model_dir(tmp_path)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "saved_model.pb").write_bytes(b"")
    assert logic.find_saved_model_dir(tmp_path) == tmp_path / "model"
    (tmp_path / "saved_model.pb").write_bytes(b"")
    with pytest.raises(logic.ConfigurationError, match="found 2"):
        logic.find_saved_model_dir(tmp_path)
