"""Keeps TensorFlow's AutoGraph out of Keras 2's own code, as TF intends.

AutoGraph leaves the `keras` package alone (its DoNotConvert rules), but not `tf_keras`, the
name Keras 2 has under TF 2.16 with TF_USE_LEGACY_KERAS=1. Every train or serving function
traced then re-parses and recompiles the source of each Keras function it calls. Measured for
the UNet on this project's 2-core CPU: the first training step (tracing) went from 35 s to 15 s.
tf_keras is written for graph mode, so it needs no conversion: the rule TF applies to `keras`.
"""

from __future__ import annotations

from tensorflow.python.autograph.core import config as autograph_config

KERAS_2_MODULE = "tf_keras"


def skip_autograph_for_keras_2() -> None:
    """Adds a DoNotConvert rule for tf_keras (idempotent, process-wide)."""
    rules = autograph_config.CONVERSION_RULES
    if any(getattr(rule, "_prefix", None) == KERAS_2_MODULE for rule in rules):
        return
    autograph_config.CONVERSION_RULES = (autograph_config.DoNotConvert(KERAS_2_MODULE), *rules)
