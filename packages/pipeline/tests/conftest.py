"""Test environment: Keras 2 for TFX, quiet TensorFlow, no metadata-server probe."""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# google.auth probes the GCE metadata server when it finds no credentials: off this machine's
# network, tests must not depend on how that probe ends (or how long it takes).
os.environ["NO_GCE_CHECK"] = "True"
