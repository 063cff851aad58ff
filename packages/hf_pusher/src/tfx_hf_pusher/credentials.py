"""Resolve the Hugging Face token at execution time, never from pipeline parameters.

The token comes from an environment variable of the process running the executor (default
``HF_TOKEN``) or from a GCP Secret Manager secret (on Vertex, give the pipeline's service
account ``roles/secretmanager.secretAccessor`` on it). Only the *names* of the variable or
secret travel through the pipeline definition and ML Metadata; the value never does.
"""

from __future__ import annotations

import os
import re

from tfx_hf_pusher.gcp_errors import gcp_errors

DEFAULT_TOKEN_ENV_VAR = "HF_TOKEN"  # noqa: S105 (a variable name, not a secret)
_SECRET_RE = re.compile(r"^projects/[^/]+/secrets/[^/]+(/versions/[^/]+)?$")
_SHORT_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


class TokenNotFoundError(RuntimeError):
    """No usable token: the message says where it was looked for and how to provide it."""


def resolve_token(env_var: str = DEFAULT_TOKEN_ENV_VAR, secret: str | None = None) -> str:
    """Return the token from Secret Manager when ``secret`` is given, else from ``env_var``."""
    if secret:
        return read_secret(secret)
    token = os.environ.get(env_var, "").strip()
    if not token:
        raise TokenNotFoundError(
            f"No Hugging Face token: the environment variable {env_var} is not set or empty in the "
            "process running the HFPusher executor. Set it (a token with write access from "
            "https://huggingface.co/settings/tokens), or give token_secret='projects/<project>/"
            "secrets/<name>' to read it from GCP Secret Manager."
        )
    return token


def secret_version_name(secret: str, project: str | None = None) -> str:
    """Full Secret Manager version name for ``projects/p/secrets/s[/versions/v]`` or ``s``."""
    if _SECRET_RE.match(secret):
        return secret if "/versions/" in secret else f"{secret}/versions/latest"
    project = project or os.environ.get("GOOGLE_CLOUD_PROJECT")
    if _SHORT_SECRET_RE.match(secret) and project:
        return f"projects/{project}/secrets/{secret}/versions/latest"
    raise TokenNotFoundError(
        f"Invalid token secret name '{secret}': use 'projects/<project>/secrets/<name>"
        "[/versions/<version>]', or a bare secret name with GOOGLE_CLOUD_PROJECT set."
    )


def read_secret(secret: str) -> str:
    """Read a secret's payload (google-cloud-secret-manager); errors say what to fix."""
    name = secret_version_name(secret)
    try:
        from google.cloud import secretmanager
    except ImportError as error:
        raise TokenNotFoundError(
            "Reading the token from Secret Manager needs google-cloud-secret-manager: "
            "pip install google-cloud-secret-manager"
        ) from error
    hints = {
        "PermissionDenied": "permission denied. Grant the caller's service account "
        "roles/secretmanager.secretAccessor on the secret.",
        "NotFound": "it does not exist: create it with `gcloud secrets create` and add the "
        "token as a version.",
    }
    with gcp_errors(f"Cannot read secret {name}", TokenNotFoundError, hints, with_detail=False):
        client = secretmanager.SecretManagerServiceClient()
        response = client.access_secret_version(request={"name": name}, timeout=30)
    token = response.payload.data.decode("utf-8").strip()
    if not token:
        raise TokenNotFoundError(f"Secret {name} is empty: add a version holding the HF token.")
    return token
