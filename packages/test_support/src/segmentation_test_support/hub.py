"""The local Hub the tests publish to: a distinctive token and user, and a client isolated from
whatever Hugging Face login the developer's machine has."""

from __future__ import annotations

import os
import secrets
import tempfile

# A distinctive token: tests grep logs, metadata and files for it.
TOKEN = f"hf_{secrets.token_hex(20)}"
USER = "pet-lab"
# The variable whole-pipeline tests keep a local Hub's token in: the pipeline's HFPusher reads it
# by this name (hf_token_env_var).
PIPELINE_TOKEN_ENV_VAR = "PIPELINE_TEST_HF_TOKEN"  # noqa: S105 (a name, not a token)


def isolate_hub_client() -> None:
    """huggingface_hub reads these when imported: no Xet, telemetry, progress bars, cached login.

    HF_HOME points at a new temp dir so a token cached on the developer's machine is never used.
    """
    disabled = ("XET", "TELEMETRY", "PROGRESS_BARS", "IMPLICIT_TOKEN")
    os.environ.update({f"HF_HUB_DISABLE_{name}": "1" for name in disabled})
    os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="hf-home-")
    os.environ.pop("HF_TOKEN", None)
