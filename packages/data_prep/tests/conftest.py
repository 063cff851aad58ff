"""Shared fixtures: a dataset in the Pet layout with every kind of bad input, and its run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from data_prep_test_helpers import IN_PROCESS, run_on_mixed_inputs, write_bad_inputs
from segmentation_data_prep.synthetic import write_synthetic_pet_dataset

# Offline: google-auth must not probe the GCE metadata server when Beam looks for credentials.
# It reads this once, on import: so conftest imports nothing that imports apache_beam.
os.environ.setdefault("NO_GCE_CHECK", "true")


@pytest.fixture(scope="session")
def mixed_dataset(tmp_path_factory) -> Path:
    """24 synthetic pairs plus every bad-input case."""
    root = write_synthetic_pet_dataset(tmp_path_factory.mktemp("mixed"), 24, seed=3)
    write_bad_inputs(root)
    return root


@pytest.fixture(scope="session")
def mixed_run(mixed_dataset, tmp_path_factory):
    """The job in one process on mixed_dataset: (report, output dir); other runs compare to it."""
    output_dir = tmp_path_factory.mktemp("mixed_out")
    return run_on_mixed_inputs(mixed_dataset, output_dir, IN_PROCESS, local_processes=1), output_dir
