"""What an endpoint receives and answers: the parsed request, the response, the Hub's errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hf_local_hub.auth import Identity
    from hf_local_hub.lfs import UploadSigner
    from hf_local_hub.store import HubStore


class HubError(Exception):
    """An HTTP error answer, shaped like the Hub's (JSON body, ``X-Error-*`` headers)."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    def response(self) -> Response:
        headers = {"X-Error-Message": self.message}
        if self.code:
            headers["X-Error-Code"] = self.code
        return json_response(self.status, {"error": self.message}, headers)


@dataclass(frozen=True)
class HubContext:
    """What endpoints share: the storage, who may write, where the hub is reachable."""

    store: HubStore
    identity: Identity
    base_url: str
    lfs_threshold: int
    signer: UploadSigner

    def repo_url(self, repo_type: str, repo_id: str) -> str:
        from hf_local_hub.store import URL_PREFIXES

        return f"{self.base_url}/{URL_PREFIXES[repo_type]}{repo_id}"


@dataclass
class Request:
    """One parsed HTTP request; ``user`` is the authenticated user, None when anonymous."""

    method: str
    parts: list[str]  # raw (still percent-encoded) path segments
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    user: str | None

    def flag(self, name: str) -> bool:
        """A boolean query parameter (``?name=1`` or ``?name=true``)."""
        return self.query.get(name, ["0"])[0].lower() in ("1", "true")

    def json(self, default: Any = None) -> Any:
        """The body as JSON (``default`` when empty); malformed JSON is the client's error."""
        if not self.body.strip():
            if default is None:
                raise HubError(400, "A JSON body is required")
            return default
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise HubError(400, f"Malformed JSON body: {error}") from error

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object (``{}`` when empty)."""
        value = self.json(default={})
        if not isinstance(value, dict):
            raise HubError(400, "The JSON body must be an object")
        return value


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json", dict(headers or {}))


def json_list(payload: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """``payload[key]`` as a list of JSON objects, else a 400 naming the key."""
    value = payload.get(key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise HubError(400, f"'{key}' must be a list of objects")
    return value


def json_int(value: Any, name: str) -> int:
    """A JSON number field as an int, else a 400 naming the field."""
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise HubError(400, f"'{name}' must be an integer, got {str(value)[:40]!r}") from error
