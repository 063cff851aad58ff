"""Writing to a branch: the preupload check (regular or LFS?) and the atomic NDJSON commit."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from hf_local_hub.auth import require_write
from hf_local_hub.lfs import gitattributes_lfs_patterns, is_lfs, preupload_sample
from hf_local_hub.messages import (
    HubContext,
    HubError,
    Request,
    Response,
    json_int,
    json_list,
    json_response,
)
from hf_local_hub.store import check_sha256


def preupload(
    hub: HubContext, request: Request, repo_type: str, repo_id: str, revision: str
) -> Response:
    """``POST .../preupload/{rev}``: answers ``regular`` or ``lfs`` per file (never Xet)."""
    require_write(hub.identity, request, repo_id)
    _, sha = hub.store.resolve(repo_type, repo_id, revision)
    files = hub.store.load_commit(repo_type, repo_id, sha)["files"]
    patterns = gitattributes_lfs_patterns(hub.store, files)
    answers = []
    for item in json_list(request.json_object(), "files"):
        path = str(item.get("path", ""))
        size = json_int(item.get("size"), "size")
        lfs = is_lfs(path, size, preupload_sample(item), patterns, hub.lfs_threshold)
        existing = files.get(path)
        remote_oid = None
        if existing is not None:
            remote_oid = existing["lfs"]["oid"] if existing["lfs"] else existing["oid"]
        answers.append(
            {
                "path": path,
                "uploadMode": "lfs" if lfs else "regular",
                "shouldIgnore": False,
                "oid": remote_oid,
            }
        )
    return json_response(200, {"files": answers, "commitOid": sha})


def _operations(body: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The commit header and its operations, parsed from NDJSON (400 on anything malformed)."""
    lines = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise HubError(
                400, f"Malformed JSON on line {number} of the commit: {error}"
            ) from error
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
            raise HubError(400, f"Line {number} of the commit must be {{key, value}} objects")
        lines.append(item)
    if not lines or lines[0].get("key") != "header":
        raise HubError(400, "The commit payload must start with a header line")
    return lines[0]["value"], lines[1:]


def _commit_path(value: dict[str, Any]) -> str:
    raw = str(value.get("path", ""))
    path = raw.strip("/")
    if not path or any(part in ("", ".", "..", ".git") for part in path.split("/")):
        raise HubError(400, f"Invalid path in commit: '{raw[:200]}'")
    return path


def _file_content(value: dict[str, Any]) -> bytes:
    content = str(value.get("content", "")).encode()
    if value.get("encoding") != "base64":
        return content
    try:
        return base64.b64decode(content, validate=True)
    except binascii.Error as error:
        raise HubError(400, f"Invalid base64 content for '{value.get('path')}'") from error


def commit(
    hub: HubContext, request: Request, repo_type: str, repo_id: str, revision: str
) -> Response:
    """``POST .../commit/{rev}``: ``file``, ``lfsFile``, ``deletedFile``, ``deletedFolder``."""
    user = require_write(hub.identity, request, repo_id)
    if request.query.get("create_pr"):
        raise HubError(501, "LocalHub does not implement pull requests")
    header, operations = _operations(request.body)
    store = hub.store
    branch = revision.removeprefix("refs/heads/")
    with store.lock:
        repo = store.load_repo(repo_type, repo_id)
        if branch not in repo["refs"]:
            message = f"Invalid rev id: {revision} (commits go to an existing branch)"
            raise HubError(404, message, "RevisionNotFound")
        parent = repo["refs"][branch]
        expected_parent = header.get("parentCommit")
        if expected_parent and expected_parent != parent:
            message = f"A commit has happened since {expected_parent}. Refresh and try again."
            raise HubError(412, message)
        files = dict(store.load_commit(repo_type, repo_id, parent)["files"])
        for line in operations:
            key, value = line["key"], line["value"]
            path = _commit_path(value)
            if key == "file":
                files[path] = store.regular_entry(_file_content(value))
            elif key == "lfsFile":
                oid = check_sha256(value.get("oid"))
                if not store.has_blob(oid):
                    raise HubError(422, f"LFS object {oid} for '{path}' was never uploaded")
                files[path] = store.lfs_entry(oid)
            elif key == "deletedFile":
                if files.pop(path, None) is None:
                    message = f"A file with this name doesn't exist: {path}"
                    raise HubError(404, message, "EntryNotFound")
            elif key == "deletedFolder":
                for existing in [p for p in files if p.startswith(f"{path}/")]:
                    del files[existing]
            else:
                raise HubError(400, f"Unknown commit operation '{str(key)[:80]}'")
        sha = store.write_commit(
            repo_type, repo_id, parent=parent, files=files, title=str(header.get("summary", "")),
            message=str(header.get("description", "")), author=user,
        )  # fmt: skip
        repo["refs"][branch] = sha
        store.save_repo(repo_type, repo_id, repo)
    return json_response(
        200,
        {
            "success": True,
            "commitOid": sha,
            "commitUrl": f"{hub.repo_url(repo_type, repo_id)}/commit/{sha}",
            "hookOutput": "",
        },
    )
