"""The app serving the real UNet export in a real browser (Debian chromium, Playwright)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from expected_overlays import assert_overlay, shares_by_count
from PIL import Image
from segmentation_space_app import template_dir

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS_DIR = Path(os.environ.get("TEST_ARTIFACTS_DIR", REPO_ROOT / "test-artifacts"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; "
        "./dev.sh test does it when run as root)",
    ),
]


@pytest.fixture
def page(unet_app):
    """A headless chromium page that may reach the app only: every other request is aborted
    and recorded, so a UI that needs the internet fails the test."""
    from playwright.sync_api import sync_playwright

    outside_requests: list[str] = []

    def only_the_app(route) -> None:
        url = route.request.url
        if url.startswith((unet_app.url, "data:", "blob:")):
            route.continue_()
        else:
            outside_requests.append(url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.route("**/*", only_the_app)
            yield page
        finally:
            browser.close()
    assert outside_requests == [], f"the page tried to reach the internet: {outside_requests}"


def test_upload_shows_the_overlay(page, unet_app, palette):
    import tensorflow as tf
    from playwright.sync_api import expect

    page.goto(unet_app.url)
    model_info = page.locator("#model-info")
    expect(model_info).to_contain_text(unet_app.repo_id)
    expect(model_info).to_contain_text(unet_app.revision[:12])
    for name in palette.names:
        expect(page.locator(f'#legend [data-class="{name}"]')).to_be_visible()

    example = sorted((template_dir() / "examples").glob("*.jpg"))[-1]
    page.locator("input[type=file]").first.set_input_files(str(example))
    overlay = page.locator("#overlay img")
    expect(overlay).to_be_visible(timeout=120_000)
    expect(page.locator("#status")).to_contain_text("Segmented a", timeout=60_000)

    shown = page.request.get(overlay.get_attribute("src"))
    assert shown.ok, shown.status
    with Image.open(io.BytesIO(shown.body())) as image:
        overlay = np.asarray(image.convert("RGB"))
    # Expected: the SavedModel's own mask for these bytes, blended by hand over the photo.
    serve = tf.saved_model.load(str(unet_app.model_dir)).signatures["serving_default"]
    mask = serve(image_bytes=tf.constant([example.read_bytes()]))["seg_mask"].numpy()[0]
    with Image.open(example) as image:
        photo = np.asarray(image.convert("RGB"))
    assert_overlay(overlay, photo, mask, palette.colors, palette.overlay_alpha)
    status = page.locator("#status").inner_text()
    height, width = photo.shape[:2]
    assert f"{width}x{height}" in status
    for name, share in shares_by_count(mask, palette.names).items():
        assert f"{name} {share:.1%}" in status
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS_DIR / "space_app_overlay.png", full_page=True)


def test_bad_upload_shows_a_message_and_the_app_keeps_serving(page, unet_app, tmp_path):
    from playwright.sync_api import expect

    page.goto(unet_app.url)
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1), (255, 0, 0)).save(tiny)
    page.locator("input[type=file]").first.set_input_files(str(tiny))
    toast = page.locator(".toast-body").filter(has_text="only 1x1 pixels")
    expect(toast).to_be_visible(timeout=60_000)
    expect(toast).to_contain_text("at least 32x32")
    page.wait_for_timeout(1000)  # let the toast finish fading in
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS_DIR / "space_app_bad_input.png")

    page.locator("button.gallery-item").first.click()  # an example: the app still serves
    expect(page.locator("#status")).to_contain_text("Segmented a", timeout=120_000)
