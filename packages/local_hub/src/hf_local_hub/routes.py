"""URL -> endpoint: the subset of the Hub's HTTP API that ``huggingface_hub`` uses.

- ``GET  /api/whoami-v2``, ``POST /api/validate-yaml``
- ``POST /api/repos/create``, ``DELETE /api/repos/delete``
- ``GET  /api/{models|datasets|spaces}/{repo_id}[/revision/{rev}]``  (repo_info, ``?blobs=1``)
- ``GET  /api/{type}s/{repo_id}/refs``, ``POST|DELETE /api/{type}s/{repo_id}/branch/{branch}``
- ``GET  /api/{type}s/{repo_id}/tree/{rev}[/{path}]``, ``GET /api/{type}s/{repo_id}/commits/{rev}``
- ``POST /api/{type}s/{repo_id}/preupload/{rev}``, ``POST /api/{type}s/{repo_id}/commit/{rev}``
- ``POST /[{type}s/]{repo_id}.git/info/lfs/objects/batch`` + signed ``PUT`` upload + ``verify``
- ``GET|HEAD /[{type}s/]{repo_id}/resolve/{rev}/{path}``
"""

from __future__ import annotations

from urllib.parse import unquote

from hf_local_hub import commits, files, lfs, repos
from hf_local_hub.messages import HubContext, HubError, Request, Response
from hf_local_hub.store import DEFAULT_BRANCH, REPO_TYPE_OF_PLURAL

XET_REFUSAL = (
    "LocalHub does not implement Xet storage: set HF_HUB_DISABLE_XET=1 before importing "
    "huggingface_hub (see LocalHub.client_env()) so LFS files use the plain LFS protocol."
)


def route_name(method: str, parts: list[str]) -> str:
    """A request's route for counting: the method and the first two path segments."""
    return f"{method} /{'/'.join(parts[:2])}"


def route(hub: HubContext, request: Request) -> Response:
    parts, method = request.parts, request.method
    if parts[:1] == ["api"]:
        return _api(hub, request, parts[1:])
    if parts[:1] == ["_lfs"] and len(parts) == 3:
        return lfs.transfer(hub, request, parts[1], parts[2])
    repo_type, repo_id, rest = _web_repo(parts)
    if (
        repo_id.endswith(".git")
        and rest == ["info", "lfs", "objects", "batch"]
        and method == "POST"
    ):
        return lfs.batch(hub, request, repo_type, repo_id.removesuffix(".git"))
    if rest[:1] == ["resolve"] and len(rest) >= 3 and method in ("GET", "HEAD"):
        path = "/".join(unquote(p) for p in rest[2:])
        return files.resolve(hub, request, repo_type, repo_id, unquote(rest[1]), path)
    if not rest and method == "GET":
        return repos.repo_info(hub, request, repo_type, repo_id, DEFAULT_BRANCH)
    raise HubError(404, f"Unknown route /{'/'.join(parts)[:200]}")


def _web_repo(parts: list[str]) -> tuple[str, str, list[str]]:
    """Split ``[type-prefix?, namespace, name, rest...]`` of the web (non-API) routes."""
    repo_type = "model"
    if parts and parts[0] in ("datasets", "spaces"):
        repo_type, parts = REPO_TYPE_OF_PLURAL[parts[0]], parts[1:]
    if len(parts) < 2:
        raise HubError(404, "Not found")
    return repo_type, f"{unquote(parts[0])}/{unquote(parts[1])}", parts[2:]


def _api(hub: HubContext, request: Request, parts: list[str]) -> Response:
    method = request.method
    if parts == ["whoami-v2"] and method == "GET":
        return repos.whoami(hub, request)
    if parts == ["validate-yaml"] and method == "POST":
        return repos.validate_yaml(request)
    if parts == ["repos", "create"] and method == "POST":
        return repos.create_repo(hub, request)
    if parts == ["repos", "delete"] and method == "DELETE":
        return repos.delete_repo(hub, request)
    if len(parts) >= 3 and parts[0] in REPO_TYPE_OF_PLURAL:
        repo_type = REPO_TYPE_OF_PLURAL[parts[0]]
        repo_id = f"{unquote(parts[1])}/{unquote(parts[2])}"
        return _repo_api(hub, request, repo_type, repo_id, parts[3:])
    raise HubError(404, f"Unknown API route /api/{'/'.join(parts)[:200]}")


def _repo_api(
    hub: HubContext, request: Request, repo_type: str, repo_id: str, rest: list[str]
) -> Response:
    method = request.method
    if not rest and method == "GET":
        return repos.repo_info(hub, request, repo_type, repo_id, DEFAULT_BRANCH)
    action, args = rest[0], [unquote(p) for p in rest[1:]]
    if action == "revision" and len(args) == 1 and method == "GET":
        return repos.repo_info(hub, request, repo_type, repo_id, args[0])
    if action == "refs" and not args and method == "GET":
        return repos.refs(hub, request, repo_type, repo_id)
    if action == "branch" and len(args) == 1 and method in ("POST", "DELETE"):
        return repos.branch(hub, request, repo_type, repo_id, args[0])
    if action == "tree" and args and method == "GET":
        return repos.tree(hub, request, repo_type, repo_id, args[0], "/".join(args[1:]))
    if action == "commits" and len(args) == 1 and method == "GET":
        return repos.commits(hub, request, repo_type, repo_id, args[0])
    if action == "preupload" and len(args) == 1 and method == "POST":
        return commits.preupload(hub, request, repo_type, repo_id, args[0])
    if action == "commit" and len(args) == 1 and method == "POST":
        return commits.commit(hub, request, repo_type, repo_id, args[0])
    if action.startswith("xet-"):
        raise HubError(501, XET_REFUSAL)
    raise HubError(404, f"Unknown repo route {action[:80]}")
