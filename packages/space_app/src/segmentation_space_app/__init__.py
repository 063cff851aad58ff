"""Gradio demo app for the segmentation model, published to a Hugging Face Space."""
