"""The running app through gradio_client: the model from the local Hub at the pinned revision.

The fast tests serve the colour-rule stand-in; the slow one the project's real UNet export.
"""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest
import segmentation_logic as logic
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from image_files import encode, png_header_only
from PIL import Image
from segmentation_space_app import template_dir


@pytest.fixture(scope="module")
def client(standin_app) -> Client:
    return Client(standin_app.url, verbose=False)


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


def test_example_image_is_segmented_exactly_as_the_model_says(client, standin_app):
    example = sorted((template_dir() / "examples").glob("*.jpg"))[0]
    overlay, shares, status = segment(client, example)
    expected_overlay, expected_shares = standin_app.expected(example.read_bytes())
    np.testing.assert_array_equal(overlay, expected_overlay)
    assert shares == pytest.approx(expected_shares, abs=1e-6)
    assert sum(shares.values()) == pytest.approx(1.0)
    height, width = expected_overlay.shape[:2]
    assert f"{width}x{height}" in status


def test_large_non_square_image_keeps_its_size(client, standin_app, palette, tmp_path):
    path = tmp_path / "wide.png"
    pixels = colour_blocks(700, 1024)
    path.write_bytes(encode(Image.fromarray(pixels), "PNG"))
    overlay, shares, _ = segment(client, path)
    expected_overlay, expected_shares = standin_app.expected(path.read_bytes())
    assert overlay.shape == (700, 1024, 3)
    np.testing.assert_array_equal(overlay, expected_overlay)
    assert shares == pytest.approx(expected_shares, abs=1e-6)
    # The stand-in labels red pet, blue background, green border: thirds, coloured as such.
    thirds = {"pet": 1 / 3, "background": 1 / 3, "border": 1 / 3}
    assert shares == pytest.approx(thirds, abs=0.03)  # edges snap to the 32 px model grid
    alpha = palette.overlay_alpha
    for column, class_index in ((100, 0), (512, 1), (900, 2)):
        blend = (1 - alpha) * pixels[350, column] + alpha * palette.colors[class_index]
        assert np.abs(overlay[350, column] - blend).max() <= 1


def test_image_over_the_working_limit_is_downscaled_with_a_note(client, tmp_path):
    # 4200 x 4200 = 17.6 megapixels, over the 16.8 megapixel working limit.
    ramp = np.linspace(0, 255, 4200, dtype=np.float32)
    pixels = np.stack(
        np.broadcast_arrays(ramp[None, :], ramp[:, None], 128 + 0 * ramp[None, :]), -1
    )
    path = tmp_path / "huge.jpg"
    Image.fromarray(pixels.astype(np.uint8)).save(path, quality=80)
    overlay, shares, status = segment(client, path)
    height, width = overlay.shape[:2]
    assert 4000 <= width == height < 4200
    assert width * height <= logic.MAX_WORKING_PIXELS
    assert f"Downscaled from 4200x4200 to {width}x{height}" in status
    assert sum(shares.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("mode", "note"),
    [("L", "grayscale"), ("RGBA", "alpha channel")],
)
def test_grayscale_and_rgba_are_converted_with_a_note(client, standin_app, tmp_path, mode, note):
    image = Image.fromarray(colour_blocks(120, 150)).convert(mode)
    path = tmp_path / f"{mode}.png"
    image.save(path)
    overlay, _, status = segment(client, path)
    assert overlay.shape == (120, 150, 3)
    np.testing.assert_array_equal(overlay, standin_app.expected(path.read_bytes())[0])
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


def test_app_serves_the_pinned_revision_and_shows_it(standin_app):
    # main now holds a broken saved_model.pb; the app would not have started from it.
    assert standin_app.head != standin_app.revision
    with urllib.request.urlopen(f"{standin_app.url}/config") as response:
        config = json.load(response)
    texts = [c.get("props", {}).get("value") for c in config["components"]]
    info = next(t for t in texts if isinstance(t, str) and standin_app.repo_id in t)
    assert standin_app.revision[:12] in info


def test_upload_larger_than_the_limit_is_refused(client, tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(26 * 1024 * 1024))  # over the 25 MB limit
    with pytest.raises(ValueError, match="exceeds the maximum file size"):
        client.predict(handle_file(str(path)), api_name="/segment")


def test_private_model_without_a_token_stops_the_app_with_a_clear_message(
    standin_app, local_hub, launch_app
):
    from huggingface_hub import HfApi

    api = HfApi(endpoint=local_hub.url, token=local_hub.token)
    api.create_repo("local-user/private-model", private=True)
    pushed = api.upload_folder(
        repo_id="local-user/private-model", folder_path=standin_app.model_dir
    )
    env = {
        **local_hub.client_env(),
        "MODEL_REPO_ID": "local-user/private-model",
        "MODEL_REVISION": pushed.oid,
        "HF_TOKEN": "",  # the Space secret was not set
    }
    message = r"(?s)exited with code 1.*Could not download model local-user/private-model.*HF_TOKEN"
    with pytest.raises(RuntimeError, match=message), launch_app(template_dir(), env):
        pass


@pytest.mark.slow
def test_published_space_serves_the_real_unet(unet_app, local_hub, tmp_path):
    """hf_pusher filled in the placeholders; the model package's serving signature (TFT layer
    included) runs with only the Space's packages; the HF_TOKEN secret stays out of the log."""
    client = Client(unet_app.url, verbose=False)
    path = tmp_path / "photo.jpg"
    path.write_bytes(encode(Image.fromarray(colour_blocks(300, 500)), "JPEG", quality=95))
    for image in (path, sorted((template_dir() / "examples").glob("*.jpg"))[0]):
        overlay, shares, _ = segment(client, image)
        expected_overlay, expected_shares = unet_app.expected(image.read_bytes())
        np.testing.assert_array_equal(overlay, expected_overlay)
        assert shares == pytest.approx(expected_shares, abs=1e-6)
    log = unet_app.log_path.read_text()
    assert f"Serving {unet_app.repo_id} at revision {unet_app.revision}" in log
    assert local_hub.token not in log
