"""Gradio demo app for the segmentation model, published to a Hugging Face Space."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def template_dir() -> Path:
    """The directory tfx_hf_pusher publishes as the Space (app.py, requirements.txt, README...)."""
    return Path(str(resources.files(__package__) / "template"))
