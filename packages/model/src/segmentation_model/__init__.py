"""Segmentation models (UNet, DeepLabV3+, SegFormer-B0): preprocessing_fn, run_fn, signatures."""
