"""Downloads: ``GET|HEAD /[{type}s/]{repo}/resolve/{rev}/{path}`` with the Hub's headers."""

from __future__ import annotations

import re

from hf_local_hub.auth import read_snapshot
from hf_local_hub.messages import HubContext, HubError, Request, Response, json_response

_RANGE_RE = re.compile(r"bytes=(\d+)-(\d*)$")


def resolve(
    hub: HubContext, request: Request, repo_type: str, repo_id: str, revision: str, path: str
) -> Response:
    """A file at a revision, with ``ETag``, ``X-Repo-Commit`` and ``Range`` support."""
    snapshot = read_snapshot(hub.store, request, repo_type, repo_id, revision)
    entry = snapshot.files.get(path)
    if entry is None:
        # The commit header lets the client cache that the file does not exist at this commit.
        message = f"Entry not found: {path}"
        headers = {
            "X-Error-Code": "EntryNotFound",
            "X-Error-Message": message,
            "X-Repo-Commit": snapshot.sha,
        }
        return json_response(404, {"error": message}, headers)
    content = hub.store.read_blob(entry["sha256"])
    etag = entry["lfs"]["oid"] if entry["lfs"] else entry["oid"]
    headers = {"ETag": f'"{etag}"', "X-Repo-Commit": snapshot.sha, "Accept-Ranges": "bytes"}
    if entry["lfs"]:
        headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(entry["size"])})
    status = 200
    match = _RANGE_RE.match(request.headers.get("Range", ""))
    if match:
        start = int(match.group(1))
        end = int(match.group(2)) if match.group(2) else len(content) - 1
        if start >= len(content):
            raise HubError(416, "Requested range not satisfiable")
        headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
        content, status = content[start : end + 1], 206
    return Response(status, content, "application/octet-stream", headers)
