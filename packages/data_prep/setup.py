"""Shim so Beam's `--setup_file packages/data_prep/setup.py` can stage this package for Dataflow
workers; all metadata is in pyproject.toml."""

from setuptools import setup

setup()
