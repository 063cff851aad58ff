"""The running app through gradio_client: the model from the local Hub at the pinned revision.

The app runs in its own process (Gradio + TensorFlow start-up: tens of seconds), so these are
`slow`. Most serve the thirds stand-in, whose masks are known by hand
(segmentation_test_support.standin_model), with its own labels.json; the last one the
project's real UNet export as tfx_hf_pusher publishes it.
"""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest
import segmentation_logic as logic
from expected_overlays import assert_overlay, shares_by_count
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from gradio_client.utils import QueueError
from image_files import encode, png_header_only, png_with_text_chunk_bomb
from PIL import Image
from segmentation_space_app import template_dir
from segmentation_test_support.standin_model import thirds_mask
from serving_models import STANDIN_LABELS, STANDIN_QUEUE_MAX_SIZE

pytestmark = pytest.mark.slow

LABEL_NAMES = [c["name"] for c in STANDIN_LABELS["classes"]]
LABEL_COLORS = np.array([c["color"] for c in STANDIN_LABELS["classes"]], np.uint8)


@pytest.fixture(scope="module")
def client(standin_app) -> Client:
    return Client(standin_app.url, verbose=False)


def segment(client: Client, path) -> tuple[np.ndarray, dict[str, float], str]:
    overlay_path, label, status = client.predict(handle_file(str(path)), api_name="/segment")
    with Image.open(overlay_path) as overlay:
        pixels = np.asarray(overlay.convert("RGB"))
    shares = {item["label"]: item["confidence"] for item in label["confidences"]}
    return pixels, shares, status


def photo_pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def colour_blocks(height: int, width: int) -> np.ndarray:
    """Left third red, middle blue, right green."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    third = width // 3
    pixels[:, :third, 0] = 220
    pixels[:, third : 2 * third, 2] = 220
    pixels[:, 2 * third :, 1] = 220
    return pixels


def test_example_image_overlay_is_the_hand_computed_blend(client):
    example = sorted((template_dir() / "examples").glob("*.jpg"))[0]
    overlay, shares, status = segment(client, example)
    pixels = photo_pixels(example)
    height, width = pixels.shape[:2]
    mask = thirds_mask(height, width)
    assert_overlay(overlay, pixels, mask, LABEL_COLORS, alpha=0.5)
    assert shares == pytest.approx(shares_by_count(mask, LABEL_NAMES), abs=1e-6)
    assert f"{width}x{height}" in status


def test_app_reads_class_names_and_colours_from_the_model_repo(client, standin_app):
    """labels.json next to saved_model.pb wins over the template's palette.json (names in the
    area shares and the legend, colours in the overlay)."""
    path = standin_app.log_path.parent / "flat.png"
    path.write_bytes(encode(Image.new("RGB", (90, 60), (100, 100, 100)), "PNG"))
    overlay, shares, _ = segment(client, path)
    assert set(shares) == set(LABEL_NAMES)
    assert tuple(overlay[30, 10]) == (50, 150, 50)  # 100 + 0.5 * ([0, 200, 0] - 100)
    assert tuple(overlay[30, 45]) == (175, 50, 175)  # 100 + 0.5 * ([250, 0, 250] - 100)
    assert tuple(overlay[30, 80]) == (55, 60, 65)  # 100 + 0.5 * ([10, 20, 30] - 100)
    with urllib.request.urlopen(f"{standin_app.url}/config") as response:
        config = json.dumps(json.load(response))
    for name in LABEL_NAMES:
        assert f'data-class=\\"{name}\\"' in config
    assert "labels.json: left, middle, right" in standin_app.log_path.read_text()


def test_large_non_square_image_keeps_its_size(client, tmp_path):
    path = tmp_path / "wide.png"
    pixels = colour_blocks(700, 1024)
    path.write_bytes(encode(Image.fromarray(pixels), "PNG"))
    overlay, shares, _ = segment(client, path)
    assert overlay.shape == (700, 1024, 3)
    assert_overlay(overlay, pixels, thirds_mask(700, 1024), LABEL_COLORS, alpha=0.5)
    # Columns 0..341 are class 0, 342..682 class 1, 683..1023 class 2 (x // (1024 / 3)).
    assert shares == pytest.approx(
        {"left": 342 / 1024, "middle": 341 / 1024, "right": 341 / 1024}, abs=1e-6
    )


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
    assert shares == pytest.approx(shares_by_count(thirds_mask(height, width), LABEL_NAMES))


@pytest.mark.parametrize(
    ("mode", "note"),
    [("L", "grayscale"), ("RGBA", "alpha channel")],
)
def test_grayscale_and_rgba_are_converted_with_a_note(client, tmp_path, mode, note):
    pixels = colour_blocks(120, 150)
    image = Image.fromarray(pixels).convert(mode)
    path = tmp_path / f"{mode}.png"
    image.save(path)
    overlay, _, status = segment(client, path)
    # Opaque RGBA keeps its colours; L has three equal channels of Pillow's luma.
    rgb = np.repeat(np.asarray(image)[..., None], 3, axis=2) if mode == "L" else pixels
    assert_overlay(overlay, rgb, thirds_mask(120, 150), LABEL_COLORS, alpha=0.5)
    assert note in status


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", b"not an image at all\n", "is not an image this app can read"),
        ("fake.png", b"GIF89a but not really" * 10, "is not an image this app can read"),
        ("dot.png", encode(Image.new("RGB", (1, 1)), "PNG"), "only 1x1 pixels"),
        ("huge.png", png_header_only(12_000, 9_000), "108 megapixels"),
        # Issue 12 item 7: undocumented formats and every Pillow error get the app's message.
        ("photo.ppm", b"P6 64 64 255\n" + bytes(64 * 64 * 3), "supported: JPEG, PNG, WebP"),
        ("bomb.png", png_with_text_chunk_bomb(), "malformed header"),
    ],
)
def test_issue12_item7_bad_input_gets_a_clear_error_and_the_app_keeps_serving(
    client, tmp_path, name, data, message
):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(path)), api_name="/segment")
    example = sorted((template_dir() / "examples").glob("*.jpg"))[0]
    overlay, _, _ = segment(client, example)
    assert overlay.shape == photo_pixels(example).shape


def test_issue12_item7_queue_max_size_refuses_requests_beyond_it(client, tmp_path):
    """QUEUE_MAX_SIZE=2 (conftest): of many requests sent at once, those that find two waiting
    are refused with "queue is full" while the others are served."""
    path = tmp_path / "slow.jpg"  # over the working limit: seconds per request, so they queue
    Image.fromarray(colour_blocks(4200, 4200)).save(path, quality=80)
    upload = handle_file(str(path))
    jobs = [
        client.submit(upload, api_name="/segment") for _ in range(3 + 2 * STANDIN_QUEUE_MAX_SIZE)
    ]
    served, refused = 0, []
    for job in jobs:
        try:
            job.result(timeout=600)
            served += 1
        except QueueError as error:  # the join request was answered 503
            refused.append(str(error))
    assert served >= 1 and refused, (served, refused)
    assert all("queue is full" in message.lower() for message in refused), refused


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


def test_published_space_serves_the_real_unet(unet_app, local_hub, palette, tmp_path):
    """hf_pusher filled in the placeholders; the model package's serving signature (TFT layer
    included) runs with only the Space's packages; no labels.json, so palette.json's classes;
    the HF_TOKEN secret stays out of the log. Expected: the SavedModel's own mask (called here on
    the same bytes) blended by hand over the photo decoded here."""
    import tensorflow as tf

    serve = tf.saved_model.load(str(unet_app.model_dir)).signatures["serving_default"]
    client = Client(unet_app.url, verbose=False)
    path = tmp_path / "photo.jpg"
    path.write_bytes(encode(Image.fromarray(colour_blocks(300, 500)), "JPEG", quality=95))
    for image in (path, sorted((template_dir() / "examples").glob("*.jpg"))[0]):
        overlay, shares, _ = segment(client, image)
        mask = serve(image_bytes=tf.constant([image.read_bytes()]))["seg_mask"].numpy()[0]
        pixels = photo_pixels(image)
        assert_overlay(overlay, pixels, mask, palette.colors, palette.overlay_alpha)
        assert shares == pytest.approx(shares_by_count(mask, palette.names), abs=1e-6)
    log = unet_app.log_path.read_text()
    assert f"Serving {unet_app.repo_id} at revision {unet_app.revision}" in log
    assert "palette.json: pet, background, border" in log
    assert local_hub.token not in log


def test_published_labels_give_legend_palette_and_shares(sidewalk_app, palette, tmp_path):
    """tfx_hf_pusher published the dataset spec's labels.json beside the 35-class model: the
    Space's legend, overlay colours and area shares are the spec's classes, void pixels left
    unpainted. Expected: the SavedModel's own mask (called here on the same bytes) blended by
    hand with the spec's colours over the photo decoded here."""
    import tensorflow as tf
    from expected_overlays import blend
    from segmentation_data_prep.presets import SIDEWALK

    serve = tf.saved_model.load(str(sidewalk_app.model_dir)).signatures["serving_default"]
    client = Client(sidewalk_app.url, verbose=False)
    path = tmp_path / "street.jpg"
    path.write_bytes(encode(Image.fromarray(colour_blocks(240, 320)), "JPEG", quality=95))
    overlay, shares, _ = segment(client, path)
    mask = serve(image_bytes=tf.constant([path.read_bytes()]))["seg_mask"].numpy()[0]
    pixels = photo_pixels(path)
    expected = blend(pixels, mask, np.array(SIDEWALK.colors), palette.overlay_alpha)
    expected[mask == SIDEWALK.void_label] = pixels[mask == SIDEWALK.void_label]
    assert np.abs(overlay.astype(float) - expected).max() <= 1.0
    assert shares == pytest.approx(shares_by_count(mask, SIDEWALK.class_names), abs=1e-6)
    with urllib.request.urlopen(f"{sidewalk_app.url}/config") as response:
        config = json.dumps(json.load(response))
    for name in SIDEWALK.class_names:
        assert f'data-class=\\"{name}\\"' in config, name
    assert "labels.json: unlabeled, flat-road, flat-sidewalk" in sidewalk_app.log_path.read_text()
