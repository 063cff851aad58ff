"""Git LFS: which files go to LFS, the batch API, and the signed upload/verify URLs.

Like the real Hub's pre-signed storage URLs, an upload URL carries an HMAC signature of the oid
instead of the bearer token. Only the ``basic`` transfer is spoken; Xet is refused elsewhere.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import json
import secrets
from typing import Any

from hf_local_hub.auth import require_user, require_write
from hf_local_hub.messages import (
    HubContext,
    HubError,
    Request,
    Response,
    json_int,
    json_list,
    json_response,
)
from hf_local_hub.store import HubStore, check_sha256, is_sha256


class UploadSigner:
    """Signs and checks upload URLs with a per-server random key."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def sign(self, oid: str) -> str:
        return hmac.new(self._key, oid.encode(), hashlib.sha256).hexdigest()

    def check(self, oid: str, signature: str) -> bool:
        return hmac.compare_digest(signature.encode(), self.sign(oid).encode())


def gitattributes_lfs_patterns(store: HubStore, files: dict[str, dict[str, Any]]) -> list[str]:
    entry = files.get(".gitattributes")
    if entry is None:
        return []
    text = store.read_blob(entry["sha256"]).decode(errors="replace")
    return [line.split()[0] for line in text.splitlines() if "filter=lfs" in line]


def is_lfs(path: str, size: int, sample: bytes, patterns: list[str], threshold: int) -> bool:
    """The Hub's rule: big files, binary files and `.gitattributes` LFS patterns go to LFS."""
    if size == 0:
        return False
    name = path.rsplit("/", 1)[-1]
    matches = any(
        fnmatch.fnmatch(path if "/" in pattern else name, pattern.replace("**/", "*"))
        for pattern in patterns
    )
    return matches or size >= threshold or b"\0" in sample


def preupload_sample(item: dict[str, Any]) -> bytes:
    try:
        return base64.b64decode(item.get("sample") or b"", validate=True)
    except ValueError as error:
        raise HubError(400, f"Invalid base64 sample for '{item.get('path')}'") from error


def batch(hub: HubContext, request: Request, repo_type: str, repo_id: str) -> Response:
    """``POST /{repo}.git/info/lfs/objects/batch``: where to upload each missing object."""
    require_write(hub.identity, request, repo_id)
    hub.store.load_repo(repo_type, repo_id)
    payload = request.json_object()
    if payload.get("operation") != "upload":
        raise HubError(400, "Only the LFS 'upload' operation is supported")
    objects = []
    for item in json_list(payload, "objects"):
        oid, size = item.get("oid"), json_int(item.get("size"), "size")
        answer: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
        if not is_sha256(oid):
            answer["error"] = {"code": 422, "message": f"Invalid oid {str(oid)[:80]}"}
        elif not hub.store.has_blob(oid, size):
            signature = hub.signer.sign(oid)
            answer["actions"] = {
                "upload": {"href": f"{hub.base_url}/_lfs/upload/{oid}?sig={signature}&size={size}"},
                "verify": {"href": f"{hub.base_url}/_lfs/verify/{oid}", "header": {}},
            }
        objects.append(answer)
    body = json.dumps({"transfer": "basic", "objects": objects}).encode()
    return Response(200, body, "application/vnd.git-lfs+json")


def transfer(hub: HubContext, request: Request, action: str, oid: str) -> Response:
    """The signed ``PUT /_lfs/upload/<oid>`` and the ``POST /_lfs/verify/<oid>`` after it."""
    check_sha256(oid)
    if action == "upload" and request.method == "PUT":
        if not hub.signer.check(oid, request.query.get("sig", [""])[0]):
            raise HubError(403, "Invalid or missing upload signature")
        if hashlib.sha256(request.body).hexdigest() != oid:
            raise HubError(400, f"Uploaded content does not match oid {oid}")
        hub.store.put_blob(request.body)
        return Response(200, b"", "text/plain", {"ETag": f'"{oid}"'})
    if action == "verify" and request.method == "POST":
        require_user(request)
        size = json_int(request.json_object().get("size", -1), "size")
        if not hub.store.has_blob(oid, size):
            raise HubError(404, f"Object {oid} of size {size} was not uploaded")
        return json_response(200, {"success": True})
    raise HubError(404, "Unknown LFS route")
