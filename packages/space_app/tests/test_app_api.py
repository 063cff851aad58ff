"""The running app through gradio_client: the model from the local Hub at the pinned revision."""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from segmentation_space_app import template_dir
from test_segmentation_logic import encode, png_header_only


@pytest.fixture(scope="module")
def client(app_url: str) -> Client:
    return Client(app_url, verbose=False)


def segment(client: Client, path) -> tuple[np.ndarray, dict[str, float], str]:
    overlay_path, label, status = client.predict(handle_file(str(path)), api_name="/segment")
    with Image.open(overlay_path) as overlay:
        pixels = np.asarray(overlay.convert("RGB"))
    shares = {item["label"]: item["confidence"] for item in label["confidences"]}
    return pixels, shares, status


def colour_blocks(height: int, width: int) -> np.ndarray:
    """Left third red, middle blue, right green: pet, background, border for the stand-in."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    third = width // 3
    pixels[:, :third, 0] = 220
    pixels[:, third : 2 * third, 2] = 220
    pixels[:, 2 * third :, 1] = 220
    return pixels


def test_example_image_is_segmented_exactly_as_the_model_says(client, expected_result):
    example = sorted((template_dir() / "examples").glob("*.jpg"))[0]
    overlay, shares, status = segment(client, example)
    expected_overlay, expected_shares = expected_result(example.read_bytes())
    np.testing.assert_array_equal(overlay, expected_overlay)
    assert shares == pytest.approx(expected_shares, abs=1e-6)
    assert sum(shares.values()) == pytest.approx(1.0)
    height, width = expected_overlay.shape[:2]
    assert f"{width}x{height}" in status


def test_large_non_square_image_keeps_its_size(client, expected_result, tmp_path):
    path = tmp_path / "wide.png"
    path.write_bytes(encode(Image.fromarray(colour_blocks(700, 1024)), "PNG"))
    overlay, shares, _ = segment(client, path)
    expected_overlay, expected_shares = expected_result(path.read_bytes())
    assert overlay.shape == (700, 1024, 3)
    np.testing.assert_array_equal(overlay, expected_overlay)
    assert shares == pytest.approx(expected_shares, abs=1e-6)


@pytest.mark.parametrize(
    ("mode", "note"),
    [("L", "grayscale"), ("RGBA", "alpha channel")],
)
def test_grayscale_and_rgba_are_converted_with_a_note(
    client, expected_result, tmp_path, mode, note
):
    image = Image.fromarray(colour_blocks(120, 150)).convert(mode)
    path = tmp_path / f"{mode}.png"
    image.save(path)
    overlay, _, status = segment(client, path)
    assert overlay.shape == (120, 150, 3)
    np.testing.assert_array_equal(overlay, expected_result(path.read_bytes())[0])
    assert note in status


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", b"not an image at all\n", "is not an image this app can read"),
        ("fake.png", b"GIF89a but not really" * 10, "is not an image this app can read"),
        ("dot.png", encode(Image.new("RGB", (1, 1)), "PNG"), "only 1x1 pixels"),
        ("huge.png", png_header_only(12_000, 9_000), "108 megapixels"),
    ],
)
def test_bad_input_gets_a_clear_error_and_the_app_keeps_serving(
    client, tmp_path, name, data, message
):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(path)), api_name="/segment")
    example = sorted((template_dir() / "examples").glob("*.jpg"))[0]
    overlay, _, _ = segment(client, example)
    assert overlay.shape == np.asarray(Image.open(example)).shape


def test_app_serves_the_pinned_revision_and_shows_it(app_url, published_model):
    # main now holds a broken saved_model.pb; the app would not have started from it.
    assert published_model.head != published_model.revision
    with urllib.request.urlopen(f"{app_url}/config") as response:
        config = json.load(response)
    texts = [c.get("props", {}).get("value") for c in config["components"]]
    info = next(t for t in texts if isinstance(t, str) and published_model.repo_id in t)
    assert published_model.revision[:12] in info


def test_upload_larger_than_the_limit_is_refused(client, tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(26 * 1024 * 1024))  # over the 25 MB limit
    with pytest.raises(ValueError, match="exceeds the maximum file size"):
        client.predict(handle_file(str(path)), api_name="/segment")
