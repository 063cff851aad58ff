"""UNet (MobileNetV2 encoder) for semantic segmentation: Transform preprocessing_fn, TFX run_fn, serving signatures."""
