"""Test environment (Keras 2 for TFX, quiet TensorFlow, no metadata-server probe) and the
module-scoped data and Hub that whole-pipeline tests share."""

import os
import secrets

import pytest
from segmentation_test_support.hub import PIPELINE_TOKEN_ENV_VAR

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# google.auth probes the GCE metadata server when it finds no credentials: off this machine's
# network, tests must not depend on how that probe ends (or how long it takes).
os.environ["NO_GCE_CHECK"] = "True"


@pytest.fixture(scope="module")
def pet_records(tmp_path_factory) -> str:
    """A data_prep output of 40 synthetic Pet-like images, shared by a module's pipeline runs."""
    from segmentation_data_prep import beam_job, synthetic

    root = tmp_path_factory.mktemp("data")
    synthetic.write_synthetic_pet_dataset(root / "raw", 40, seed=0)
    beam_job.run_data_prep(str(root / "raw"), str(root / "records"), show_progress=False)
    return str(root / "records")


@pytest.fixture(scope="module")
def pipeline_hub(tmp_path_factory):
    """A local Hub for a module's pipeline runs, its token in PIPELINE_TOKEN_ENV_VAR (the
    pipeline reads it by that name, as HFPusher does)."""
    from hf_local_hub import LocalHub

    token = f"hf_{secrets.token_hex(16)}"
    saved = dict(os.environ)
    with LocalHub(tmp_path_factory.mktemp("hub"), token=token) as server:
        os.environ.update(server.client_env())
        os.environ[PIPELINE_TOKEN_ENV_VAR] = token
        yield server
    os.environ.clear()
    os.environ.update(saved)
