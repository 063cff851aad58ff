"""Gradio demo of the pet segmentation model, published to a Hugging Face Space by tfx_hf_pusher.

The publisher replaces the placeholders below with the pushed model repo and commit, so the Space
serves exactly the model it was published with. Local runs override them with environment
variables: MODEL_REPO_ID, MODEL_REVISION, HF_ENDPOINT (another Hub), HF_TOKEN (private repos);
QUEUE_MAX_SIZE bounds the requests waiting (default 16; more are refused with "queue is full").
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Gradio summarises its per-event analytics with pandas after every request by default: CPU the
# next request needs (and on pandas 1.x it raises and leaks the finished event). Every 1000th.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")

import gradio as gr
import numpy as np
import segmentation_logic as logic
import tensorflow as tf
from gradio import processing_utils
from gradio.data_classes import ImageData
from huggingface_hub import snapshot_download

MODEL_REPO_ID = "%%MODEL_REPO_ID%%"
MODEL_REVISION = "%%MODEL_REVISION%%"
APP_DIR = Path(__file__).resolve().parent
MAX_UPLOAD_SIZE = "25mb"
logger = logging.getLogger("space_app")


class SegmentationModel:
    """The SavedModel's serving_default, loaded once at startup and shared by all requests."""

    def __init__(self, saved_model_dir: Path) -> None:
        self._loaded = tf.saved_model.load(str(saved_model_dir))  # owns the signature's variables
        signature = self._loaded.signatures.get("serving_default")
        if signature is None:
            raise logic.ConfigurationError(f"{saved_model_dir} has no serving_default signature")
        inputs = signature.structured_input_signature[1]
        if set(inputs) != {"image_bytes"} or "seg_mask" not in signature.structured_outputs:
            raise logic.ConfigurationError(
                f"{saved_model_dir}: serving_default takes {sorted(inputs)} and returns "
                f"{sorted(signature.structured_outputs)}; this app needs image_bytes -> seg_mask."
            )
        self._serve = signature

    def segment(self, image_bytes: bytes) -> np.ndarray:
        """Class index per pixel at the encoded image's own size (one model call)."""
        outputs = self._serve(image_bytes=tf.constant([image_bytes]))
        return outputs["seg_mask"].numpy()


def download_model(source: logic.ModelSource) -> Path:
    """Snapshot of the model repo at the pinned revision (cached by huggingface_hub)."""
    logger.info(
        "Downloading %s at revision %s from %s", source.repo_id, source.revision, source.endpoint
    )
    try:
        snapshot = snapshot_download(
            source.repo_id, revision=source.revision, endpoint=source.endpoint
        )
    except Exception as error:
        raise logic.ConfigurationError(
            f"Could not download model {source.repo_id} at revision {source.revision} from "
            f"{source.endpoint} ({type(error).__name__}: {error}). Check the repo id and "
            "revision, the network, and for a private repo the HF_TOKEN secret."
        ) from error
    return logic.find_saved_model_dir(snapshot)


class UploadedImage(gr.Image):
    """gr.Image that passes the uploaded file's path on unopened.

    gr.Image decodes uploads itself and answers a non-image with a bare "Error"; here
    segmentation_logic.prepare_image decodes once and explains what is wrong.
    """

    is_template = True  # rendered by the frontend as a plain Image

    def preprocess(self, payload: ImageData | None) -> str | None:
        if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
            return payload.path
        return super().preprocess(payload)


class OverlayImage(gr.Image):
    """Output gr.Image that encodes the overlay with segmentation_logic.encode_png.

    Gradio's own PNG encoding (Pillow, zlib level 6) took most of a large image's request time.
    """

    is_template = True  # rendered by the frontend as a plain Image

    def postprocess(self, value: np.ndarray | None) -> ImageData | None:
        if value is None:
            return None
        data = logic.encode_png(value)
        path = processing_utils.save_bytes_to_cache(data, "overlay.png", self.GRADIO_CACHE)
        return ImageData(path=path, orig_name="overlay.png")


def build_demo(
    model: SegmentationModel,
    palette: logic.Palette,
    source: logic.ModelSource,
    description: str = "",
) -> gr.Blocks:
    """The UI: upload -> colour overlay at the original size, legend, area shares, examples.
    `description` (logic.model_description) says which architecture is served."""

    def segment(image_path: str | None) -> tuple[np.ndarray, dict[str, float], str]:
        if not image_path:
            raise gr.Error("Upload an image first, or click one of the examples.")
        started = time.perf_counter()
        try:
            prepared = logic.prepare_image(Path(image_path).read_bytes())
        except logic.InputImageError as error:
            raise gr.Error(str(error), title="Cannot segment this image", duration=30) from error
        for note in prepared.notes:
            gr.Warning(note)
        try:
            raw_mask = model.segment(prepared.model_bytes)
            mask = logic.check_mask(raw_mask, prepared.size, palette)
        except Exception as error:
            logger.exception("Inference failed on a %s image", prepared.size)
            first_line = (str(error).strip().splitlines() or [""])[0][:300]
            raise gr.Error(
                f"The model failed on this image ({type(error).__name__}: {first_line}). "
                "The full error is in the Space's logs.",
                title="Model error",
            ) from error
        overlay = logic.overlay_mask(prepared.pixels, mask, palette)
        shares = logic.class_shares(mask, palette.names)
        seconds = time.perf_counter() - started
        return overlay, shares, logic.summary_markdown(prepared, shares, seconds)

    examples = sorted(str(p) for p in (APP_DIR / "examples").iterdir() if p.is_file())
    # Uploads and overlays are temp files: drop those older than an hour, hourly.
    # The classes are the model's (its labels.json): the page names no dataset of its own.
    with gr.Blocks(title="Semantic segmentation", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# Semantic segmentation\n"
            f"Upload a photo: the model labels every pixel as one of {len(palette.names)} "
            f"classes: {', '.join(palette.names)}.\n\n"
            f"Model: [{source.repo_id}]({source.url}) at revision "
            f"[`{source.short_revision}`]({source.url}/tree/{source.revision})"
            + (f"\n\n{description}" if description else ""),
            elem_id="model-info",
        )
        with gr.Row():
            with gr.Column():
                image_input = UploadedImage(
                    label="Photo", type="filepath", image_mode=None, sources=["upload", "clipboard"]
                )
                run_button = gr.Button("Segment", variant="primary")
            with gr.Column():
                overlay_output = OverlayImage(
                    label="Predicted mask (overlay, original size)",
                    format="png",
                    interactive=False,
                    elem_id="overlay",
                )
                gr.HTML(logic.legend_html(palette), elem_id="legend")
                shares_output = gr.Label(label="Area share per class", show_heading=False)
                status_output = gr.Markdown(elem_id="status")
        outputs = [overlay_output, shares_output, status_output]
        gr.Examples(
            examples=[[path] for path in examples],
            inputs=[image_input],
            outputs=outputs,
            fn=segment,
            run_on_click=True,
            cache_examples=False,
        )
        gr.on(
            [run_button.click, image_input.upload],
            segment,
            inputs=[image_input],
            outputs=outputs,
            api_name="segment",
        )
    return demo


def main() -> None:
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logger.setLevel(logging.INFO)
    source = logic.resolve_model_source(MODEL_REPO_ID, MODEL_REVISION, os.environ)
    queue_max_size = logic.queue_max_size(os.environ)
    saved_model_dir = download_model(source)
    palette, palette_path = logic.palette_for_model(saved_model_dir, APP_DIR)
    logger.info("Class names and colours from %s: %s", palette_path.name, ", ".join(palette.names))
    model = SegmentationModel(saved_model_dir)
    logger.info("Serving %s at revision %s", source.repo_id, source.revision)
    description = logic.model_description(saved_model_dir)
    logger.info("Model: %s", description or f"no {logic.MODEL_INFO_FILE} published with it")
    demo = build_demo(model, palette, source, description).queue(max_size=queue_max_size)
    demo.launch(max_file_size=MAX_UPLOAD_SIZE)


if __name__ == "__main__":
    main()
