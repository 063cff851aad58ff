"""The pusher's errors: each message says which step failed and what to do about it."""

from __future__ import annotations


class PublishError(RuntimeError):
    """Publishing failed; the message says which step and what to do."""


class HubAuthError(PublishError):
    """The Hub rejected the token (401) or its permissions (403): retrying cannot help."""
