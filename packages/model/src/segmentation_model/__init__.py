"""UNet (MobileNetV2 encoder) for segmentation: preprocessing_fn, run_fn, serving signatures."""
