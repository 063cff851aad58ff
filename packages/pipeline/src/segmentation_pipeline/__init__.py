"""TFX pipeline for segmentation: one create_pipeline for the local and the Vertex AI runners."""
