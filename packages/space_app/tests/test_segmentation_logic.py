"""Unit tests of the app's pre- and post-processing (template/segmentation_logic.py)."""

from __future__ import annotations

import io
import json
import tracemalloc

import numpy as np
import pytest
import segmentation_logic as logic
from expected_overlays import assert_overlay
from image_files import decode, encode, png_header_only, png_with_text_chunk_bomb, rgb_pixels
from PIL import Image
from segmentation_data_prep import record_format

# ------------------------------------------------------------------------------- palette


def test_palette_matches_the_record_format_classes(palette):
    assert palette.names == record_format.CLASS_NAMES
    assert palette.colors.shape == (record_format.NUM_CLASSES, 3)
    assert len({c.color for c in palette.classes}) == record_format.NUM_CLASSES


def labels_file(tmp_path, classes, **extra):
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"classes": classes, **extra}))
    return path


def test_load_palette_reads_the_labels_format(tmp_path):
    classes = [
        {"id": 0, "name": "cat", "color": [1, 2, 3]},
        {"id": 1, "name": "dog", "color": "#FF0010"},
    ]
    palette = logic.load_palette(labels_file(tmp_path, classes, void_label=1, dataset="pets"))
    assert palette.names == ("cat", "dog")
    assert palette.colors.tolist() == [[1, 2, 3], [255, 0, 16]]
    assert palette.classes[1].hex_color == "#ff0010"
    assert (palette.void_label, palette.overlay_alpha) == (1, 0.5)


def test_load_palette_reads_what_data_prep_publishes(tmp_path):
    from segmentation_data_prep import presets

    for spec in (presets.OXFORD_PET, presets.SIDEWALK):
        path = tmp_path / f"{spec.name}.json"
        path.write_text(json.dumps(spec.labels_json()))
        palette = logic.load_palette(path)
        assert palette.names == spec.class_names
        assert [tuple(c) for c in palette.colors.tolist()] == [tuple(c) for c in spec.colors]
        assert palette.void_label == spec.void_label


@pytest.mark.parametrize(
    ("classes", "extra", "message"),
    [
        ([{"id": 1, "name": "pet", "color": [255, 0, 0]}], {}, "id 1, expected 0"),
        ([{"id": 0, "name": "pet", "color": "red"}], {}, r"\[r, g, b\] in 0..255"),
        ([{"id": 0, "name": "pet", "color": [0, 0, 256]}], {}, r"\[r, g, b\] in 0..255"),
        ([{"id": 0, "name": "", "color": [0, 0, 0]}], {}, "has no name"),
        ([{"id": 0, "color": [0, 0, 0]}], {}, "not a labels file"),
        ([], {}, "no classes"),
        ([{"id": 0, "name": "pet", "color": [0, 0, 0]}], {"void_label": 1}, "void_label"),
        ([{"id": 0, "name": "pet", "color": [0, 0, 0]}], {"overlay_alpha": 2}, "overlay_alpha"),
    ],
)
def test_load_palette_rejects_inconsistent_files(tmp_path, classes, extra, message):
    with pytest.raises(ValueError, match=message):
        logic.load_palette(labels_file(tmp_path, classes, **extra))


def test_labels_next_to_the_saved_model_win_over_the_template_palette(tmp_path, palette):
    from segmentation_space_app import template_dir

    fallback, source = logic.palette_for_model(tmp_path, template_dir())
    assert (fallback, source.name) == (palette, "palette.json")
    labels_file(tmp_path, [{"id": 0, "name": "cat", "color": [9, 9, 9]}])
    published, source = logic.palette_for_model(tmp_path, template_dir())
    assert (published.names, source.name) == (("cat",), "labels.json")
    assert published.overlay_alpha == palette.overlay_alpha  # opacity is the app's choice


def test_model_info_keys_are_the_model_packages():
    """The template cannot import our packages on the Space: its copies must match the owner."""
    from segmentation_model import model_info

    assert logic.MODEL_INFO_FILE == model_info.MODEL_INFO_FILE
    assert logic.ARCHITECTURE_KEY == model_info.ARCHITECTURE_KEY
    assert logic.PARAMETERS_KEY == model_info.PARAMETERS_KEY


def test_model_description_from_what_the_trainer_writes(tmp_path):
    from segmentation_model import model_info

    assert logic.model_description(tmp_path) == ""  # an older model: no file, no line
    model_info.write_model_info(
        str(tmp_path),
        {model_info.ARCHITECTURE_KEY: "segformer_b0", model_info.PARAMETERS_KEY: 3_715_427},
    )
    assert logic.model_description(tmp_path) == "Architecture: `segformer_b0`, 3.7 M parameters"


@pytest.mark.parametrize(
    "content", ["{broken", "[1, 2]", '{"parameters": 5}', '{"architecture": 7}']
)
def test_unreadable_model_info_gives_no_description(tmp_path, content):
    (tmp_path / logic.MODEL_INFO_FILE).write_text(content)
    assert logic.model_description(tmp_path) == ""


def test_model_description_escapes_markup(tmp_path):
    (tmp_path / logic.MODEL_INFO_FILE).write_text('{"architecture": "<img src=x>"}')
    assert logic.model_description(tmp_path) == "Architecture: `imgsrcx`"


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


def test_issue12_item7_sixteen_bit_input_is_not_converted_through_float64():
    """A 16-bit grayscale upload is scaled to 8 bits without a full-size float64 copy (before:
    np.asarray(image, dtype=np.float64) and three more full-size float temporaries)."""
    gray = np.tile(np.arange(0, 65536, 32, dtype=np.uint16), (1000, 1))[:, :2000]  # 2 MP
    data = encode(Image.fromarray(gray), "PNG")
    tracemalloc.start()
    try:
        prepared = logic.prepare_image(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    pixels = gray.size
    assert peak < 8 * pixels, f"peak {peak / pixels:.1f} bytes per pixel"  # one float64 = 8
    expected = np.rint(gray / 65535 * 255).astype(np.uint8)  # by hand
    np.testing.assert_array_equal(prepared.pixels[..., 0], expected)
    assert any("8-bit" in note for note in prepared.notes)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("PPM", {}), ("ICO", {}), ("TGA", {}), ("PCX", {}), ("IM", {})],
)
def test_issue12_item7_only_the_documented_formats_are_opened(fmt, options):
    data = encode(Image.fromarray(rgb_pixels(48, 48)), fmt, **options)
    with Image.open(io.BytesIO(data)) as image:  # Pillow itself would read it
        assert image.format == fmt
    with pytest.raises(logic.InputImageError, match="supported: JPEG, PNG, WebP, GIF, BMP, TIFF"):
        logic.prepare_image(data)


def truncated_gif() -> bytes:
    frames = [Image.fromarray(rgb_pixels(64, 64, seed)) for seed in range(3)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    return data[: len(data) // 3]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (png_with_text_chunk_bomb(), "malformed header.*Decompressed data too large"),
        (png_header_only(40_000, 40_000), "too large to open safely"),
        (encode(Image.fromarray(rgb_pixels(99, 99)), "PNG")[:-40], "truncated or corrupt"),
        (encode(Image.fromarray(rgb_pixels(99, 99)), "TIFF")[:300], "truncated or corrupt"),
        (encode(Image.fromarray(rgb_pixels(99, 99)), "WEBP")[:200], "not an image this app"),
        (truncated_gif(), r"GIF file could not be decoded \(IndexError"),  # before: uncaught
    ],
    ids=["png-text-bomb", "decompression-bomb", "png", "tiff", "webp", "gif"],
)
def test_issue12_item7_every_pillow_error_becomes_the_apps_message(data, message):
    with pytest.raises(logic.InputImageError, match=message):
        logic.prepare_image(data)


def test_issue12_item7_queue_max_size_is_bounded_and_configurable():
    assert logic.queue_max_size({}) == logic.DEFAULT_QUEUE_MAX_SIZE
    assert logic.queue_max_size({"QUEUE_MAX_SIZE": "3"}) == 3
    for bad in ("0", "-1", "many"):
        with pytest.raises(logic.ConfigurationError, match="QUEUE_MAX_SIZE"):
            logic.queue_max_size({"QUEUE_MAX_SIZE": bad})


# ---------------------------------------------------------------------- postprocessing


def test_check_mask_takes_a_batch_of_one(palette):
    mask = np.arange(35, dtype=np.uint8).reshape(1, 5, 7) % 3
    np.testing.assert_array_equal(logic.check_mask(mask, (7, 5), palette), mask[0])


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (np.zeros((1, 5, 6), np.uint8), r"shape \(1, 5, 6\) for one 7x5 image"),
        (np.zeros((5, 7), np.uint8), r"shape \(5, 7\)"),
        (np.zeros((1, 5, 7, 1), np.uint8), r"shape \(1, 5, 7, 1\)"),
        (np.full((1, 5, 7), 255, np.uint8), "class 255"),
        (np.full((1, 5, 7), -1, np.int32), "class -1"),
    ],
)
def test_check_mask_rejects_a_broken_contract(palette, mask, message):
    with pytest.raises(logic.ModelOutputError, match=message):
        logic.check_mask(mask, (7, 5), palette)


def test_void_class_is_left_unpainted(palette):
    with_void = logic.Palette(palette.classes, 0.5, void_label=1)
    mask = np.array([[0, 1, 2]], dtype=np.uint8)
    pixels = np.full((1, 3, 3), 100, dtype=np.uint8)
    overlay = logic.overlay_mask(pixels, mask, with_void)
    assert overlay[0, 1].tolist() == [100, 100, 100]
    assert_overlay(overlay[:, ::2], pixels[:, ::2], mask[:, ::2], palette.colors, 0.5)


def test_overlay_blends_each_class_colour():
    classes = tuple(
        logic.SegmentationClass(i, name, color)
        for i, (name, color) in enumerate(
            [("a", (0, 0, 0)), ("b", (200, 100, 0)), ("c", (255,) * 3)]
        )
    )
    pixels = np.full((2, 3, 3), 100, dtype=np.uint8)
    mask = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    overlay = logic.overlay_mask(pixels, mask, logic.Palette(classes, overlay_alpha=0.5))
    # 100 + 0.5 * (colour - 100), by hand
    expected_by_class = {0: [50, 50, 50], 1: [150, 100, 50], 2: [177, 177, 177]}
    for (row, column), value in np.ndenumerate(mask):
        assert np.abs(overlay[row, column] - expected_by_class[value]).max() <= 1
    assert overlay.shape == pixels.shape and overlay.dtype == np.uint8


def test_overlay_of_a_photo_matches_the_hand_blend(palette):
    pixels = rgb_pixels(50, 70, seed=3)
    mask = (np.arange(50 * 70).reshape(50, 70) % 3).astype(np.uint8)
    overlay = logic.overlay_mask(pixels, mask, palette)
    assert_overlay(overlay, pixels, mask, palette.colors, palette.overlay_alpha)


@pytest.mark.parametrize("shape", [(1, 1), (37, 53), (300, 200)])
def test_encode_png_is_lossless(shape):
    pixels = rgb_pixels(*shape, seed=shape[0])
    data = logic.encode_png(pixels)
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.mode, image.size) == ("PNG", "RGB", shape[::-1])
        np.testing.assert_array_equal(np.asarray(image), pixels)


def test_encode_png_compresses_a_smooth_image():
    ramp = np.linspace(0, 255, 400).astype(np.uint8)
    pixels = np.stack(
        np.broadcast_arrays(ramp[None, :], ramp[:, None], 128 + 0 * ramp[None, :]), -1
    )
    assert len(logic.encode_png(pixels)) < pixels.nbytes / 10


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
