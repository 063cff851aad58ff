"""Google Cloud client errors, said as what failed and how to fix it (one wording for every
GCP call of the pusher: Secret Manager, Cloud Storage)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

NO_CREDENTIALS = (
    "no GCP credentials found. Run `gcloud auth application-default login`, set "
    "GOOGLE_APPLICATION_CREDENTIALS, or run on GCP with a service account."
)


@contextlib.contextmanager
def gcp_errors(
    what: str,
    error_type: type[Exception],
    hints: Mapping[str, str] | None = None,
    with_detail: bool = True,
) -> Iterator[None]:
    """Raises `error_type` with "`what`: why" for a Google Cloud error raised inside.

    Args:
        what: the failed action, e.g. "Cannot read gs://b/p".
        error_type: the caller's own error class.
        hints: google.api_core exception class name (e.g. "NotFound") -> what to do about it.
        with_detail: append the client's message to an error without a hint (off where the
            message could carry more than the caller wants in its logs).
    """
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions

    try:
        yield
    except auth_exceptions.DefaultCredentialsError as error:
        raise error_type(f"{what}: {NO_CREDENTIALS}") from error
    except api_exceptions.GoogleAPIError as error:
        for name, hint in (hints or {}).items():
            if isinstance(error, getattr(api_exceptions, name)):
                raise error_type(f"{what}: {hint}") from error
        detail = f": {error}" if with_detail else ""
        raise error_type(f"{what}: {type(error).__name__}{detail}") from error
