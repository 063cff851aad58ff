"""Repository endpoints: identity, create/delete, info, refs and branches, tree, history."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from hf_local_hub.auth import read_snapshot, require_user, require_write
from hf_local_hub.messages import HubContext, HubError, Request, Response, json_response
from hf_local_hub.store import (
    DEFAULT_BRANCH,
    GITATTRIBUTES,
    check_repo_type,
    now_iso,
)

SPACE_SDKS = ("gradio", "streamlit", "docker", "static")
_BRANCH_RE = re.compile(r"^(?!refs/)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$")
_FRONT_MATTER_RE = re.compile(r"^---\n(.*?)\n---\n", flags=re.S)


def whoami(hub: HubContext, request: Request) -> Response:
    user = require_user(request)
    orgs = [{"name": org, "type": "org"} for org in sorted(hub.identity.namespaces - {user})]
    return json_response(
        200,
        {
            "type": "user",
            "id": hashlib.sha1(user.encode(), usedforsecurity=False).hexdigest()[:24],
            "name": user,
            "fullname": user,
            "orgs": orgs,
            "auth": {
                "type": "access_token",
                "accessToken": {"displayName": "local", "role": "write"},
            },
        },
    )


def validate_yaml(request: Request) -> Response:
    content = str(request.json_object().get("content", ""))
    errors = []
    match = _FRONT_MATTER_RE.match(content)
    if match:
        try:
            import yaml
        except ImportError:  # PyYAML is optional: without it, the header is not checked
            yaml = None
        if yaml is not None:
            try:
                if not isinstance(yaml.safe_load(match.group(1)) or {}, dict):
                    errors.append({"message": "YAML metadata must be a mapping"})
            except yaml.YAMLError as error:
                errors.append({"message": f"Invalid YAML: {error}"})
    return json_response(400 if errors else 200, {"errors": errors, "warnings": []})


def create_repo(hub: HubContext, request: Request) -> Response:
    user = require_user(request)
    payload = request.json_object()
    name, organization = payload.get("name"), payload.get("organization")
    repo_type = check_repo_type(payload.get("type") or "model")
    if not name or not isinstance(name, str):
        raise HubError(400, "A repo name is required")
    repo_id = f"{organization or user}/{name}"
    require_write(hub.identity, request, repo_id)
    if repo_type == "space" and payload.get("sdk") not in SPACE_SDKS:
        raise HubError(400, f"A Space needs an sdk: one of {', '.join(SPACE_SDKS)}")
    store = hub.store
    url = hub.repo_url(repo_type, repo_id)
    with store.lock:
        if store.repo_exists(repo_type, repo_id):
            return json_response(
                409, {"error": f"You already created this {repo_type} repo", "url": url}
            )
        visibility = payload.get("visibility")
        private = visibility in ("private", "protected") or bool(payload.get("private"))
        files = {".gitattributes": store.regular_entry(GITATTRIBUTES.encode())}
        sha = store.write_commit(
            repo_type, repo_id, parent=None, files=files, title="initial commit", message="",
            author="system",
        )  # fmt: skip
        repo = {
            "id": repo_id,
            "type": repo_type,
            "private": private,
            "sdk": payload.get("sdk"),
            "createdAt": now_iso(),
            "refs": {DEFAULT_BRANCH: sha},
        }
        store.save_repo(repo_type, repo_id, repo)
    return json_response(200, {"url": url, "name": repo_id, "id": repo_id})


def delete_repo(hub: HubContext, request: Request) -> Response:
    user = require_user(request)
    payload = request.json_object()
    repo_type = check_repo_type(payload.get("type") or "model")
    repo_id = f"{payload.get('organization') or user}/{payload.get('name')}"
    require_write(hub.identity, request, repo_id)
    hub.store.delete_repo(repo_type, repo_id)
    return json_response(200, {})


def _sibling(path: str, entry: dict[str, Any], blobs: bool) -> dict[str, Any]:
    sibling: dict[str, Any] = {"rfilename": path}
    if blobs:
        sibling.update(size=entry["size"], blobId=entry["oid"])
        if entry["lfs"]:
            lfs = entry["lfs"]
            sibling["lfs"] = {
                "size": lfs["size"],
                "sha256": lfs["oid"],
                "pointerSize": lfs["pointerSize"],
            }
    return sibling


def _card_data(hub: HubContext, files: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    entry = files.get("README.md")
    if entry is None:
        return None
    match = _FRONT_MATTER_RE.match(hub.store.read_blob(entry["sha256"]).decode(errors="replace"))
    if not match:
        return None
    try:
        import yaml

        data = yaml.safe_load(match.group(1))
    except Exception:  # card data is informative only; a broken header just yields none
        return None
    return data if isinstance(data, dict) else None


def repo_info(
    hub: HubContext, request: Request, repo_type: str, repo_id: str, revision: str
) -> Response:
    snapshot = read_snapshot(hub.store, request, repo_type, repo_id, revision)
    repo, commit = snapshot.repo, snapshot.commit
    blobs = request.flag("blobs")
    info: dict[str, Any] = {
        "_id": hashlib.sha1(repo_id.encode(), usedforsecurity=False).hexdigest()[:24],
        "id": repo_id,
        "author": repo_id.split("/")[0],
        "sha": snapshot.sha,
        "private": repo["private"],
        "gated": False,
        "disabled": False,
        "createdAt": repo["createdAt"],
        "lastModified": commit["date"],
        "tags": [],
        "likes": 0,
        "downloads": 0,
        "siblings": [_sibling(p, e, blobs) for p, e in sorted(snapshot.files.items())],
    }
    card = _card_data(hub, snapshot.files)
    if card is not None:
        info["cardData"] = card
        tags = card.get("tags")
        info["tags"] = [str(t) for t in tags] if isinstance(tags, list) else []
        if repo_type == "model":
            info["library_name"] = card.get("library_name")
            info["pipeline_tag"] = card.get("pipeline_tag")
    if repo_type == "space":
        info.update(sdk=repo["sdk"], subdomain=repo_id.replace("/", "-").lower())
        stage = "BUILDING" if "app.py" in snapshot.files else "NO_APP_FILE"
        info["runtime"] = {"stage": stage}
    return json_response(200, info)


def refs(hub: HubContext, request: Request, repo_type: str, repo_id: str) -> Response:
    snapshot = read_snapshot(hub.store, request, repo_type, repo_id, DEFAULT_BRANCH)
    branches = [
        {"name": name, "ref": f"refs/heads/{name}", "targetCommit": sha}
        for name, sha in sorted(snapshot.repo["refs"].items())
    ]
    return json_response(
        200, {"branches": branches, "converts": [], "tags": [], "pullRequests": []}
    )


def branch(hub: HubContext, request: Request, repo_type: str, repo_id: str, name: str) -> Response:
    require_write(hub.identity, request, repo_id)
    if not _BRANCH_RE.match(name) or name.endswith(("/", ".lock")):
        raise HubError(400, f"Invalid branch name '{name[:200]}'")
    store = hub.store
    with store.lock:
        repo = store.load_repo(repo_type, repo_id)
        if request.method == "DELETE":
            if name == DEFAULT_BRANCH:
                raise HubError(403, f"Cannot delete the default branch '{name}'")
            if name not in repo["refs"]:
                raise HubError(404, f"Branch '{name}' not found", "RevisionNotFound")
            del repo["refs"][name]
        else:
            if name in repo["refs"]:
                raise HubError(409, f"Reference already exists: refs/heads/{name}")
            start = request.json_object().get("startingPoint") or DEFAULT_BRANCH
            _, sha = store.resolve(repo_type, repo_id, str(start))
            repo["refs"][name] = sha
        store.save_repo(repo_type, repo_id, repo)
    return json_response(200, {})


def tree_entries(files: dict[str, dict[str, Any]], prefix: str, recursive: bool) -> list[dict]:
    """The Hub's tree listing of ``prefix``: folders on the way, then files."""
    prefix = prefix.strip("/")
    base = f"{prefix}/" if prefix else ""
    entries: dict[str, dict[str, Any]] = {}
    for path, entry in sorted(files.items()):
        if not path.startswith(base):
            continue
        relative = path[len(base) :].split("/")
        # Folders on the way to the file: all of them when recursive, else the first level only.
        folder_depth = len(relative) - 1 if recursive else min(1, len(relative) - 1)
        for depth in range(folder_depth):
            folder = base + "/".join(relative[: depth + 1])
            oid = hashlib.sha1(folder.encode(), usedforsecurity=False).hexdigest()
            entries.setdefault(folder, {"type": "directory", "oid": oid, "size": 0, "path": folder})
        if recursive or len(relative) == 1:
            item = {"type": "file", "oid": entry["oid"], "size": entry["size"], "path": path}
            if entry["lfs"]:
                item["lfs"] = entry["lfs"]
            entries[path] = item
    return [entries[key] for key in sorted(entries)]


def tree(
    hub: HubContext, request: Request, repo_type: str, repo_id: str, revision: str, path: str
) -> Response:
    snapshot = read_snapshot(hub.store, request, repo_type, repo_id, revision)
    entries = tree_entries(snapshot.files, path, request.flag("recursive"))
    if path and not entries and path not in snapshot.files:
        raise HubError(404, f"Path {path} not found at {revision}", "EntryNotFound")
    return json_response(200, entries)


def commits(
    hub: HubContext, request: Request, repo_type: str, repo_id: str, revision: str
) -> Response:
    snapshot = read_snapshot(hub.store, request, repo_type, repo_id, revision)
    history = []
    sha: str | None = snapshot.sha
    while sha is not None:
        commit = hub.store.load_commit(repo_type, repo_id, sha)
        history.append(
            {
                "id": sha,
                "title": commit["title"],
                "message": commit["message"],
                "authors": [{"user": commit["author"]}],
                "date": commit["date"],
            }
        )
        sha = commit["parent"]
    return json_response(200, history)
