"""Who may do what: the bearer token, namespace ownership, private repos.

Every request with an ``Authorization`` header must carry the hub's token (401 otherwise, with
the Hub's ``Invalid credentials in Authorization header`` message). Writes need the token and a
namespace the user owns (403 otherwise). Private repos are readable with the token only.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from hf_local_hub.messages import HubError, Request
from hf_local_hub.store import HubStore


@dataclass(frozen=True)
class Identity:
    """The one user of a local hub: its token and the namespaces it may write to."""

    token: str
    user: str
    namespaces: frozenset[str]

    def authenticate(self, header: str | None) -> str | None:
        """The user an ``Authorization`` header proves, None without one; 401 if it is wrong."""
        if header is None:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            value.strip().encode("utf-8", "replace"), self.token.encode()
        ):
            raise HubError(401, "Invalid credentials in Authorization header", "InvalidCredentials")
        return self.user


def require_user(request: Request) -> str:
    if request.user is None:
        raise HubError(401, "You must be authenticated to do this (Authorization: Bearer <token>).")
    return request.user


def require_write(identity: Identity, request: Request, repo_id: str) -> str:
    user = require_user(request)
    namespace = repo_id.split("/")[0]
    if namespace not in identity.namespaces:
        raise HubError(403, f"You don't have the rights to write to the namespace '{namespace}'")
    return user


def load_readable(store: HubStore, request: Request, repo_type: str, repo_id: str) -> dict:
    repo = store.load_repo(repo_type, repo_id)
    if repo["private"] and request.user is None:
        # The Hub hides private repos from anonymous callers.
        raise HubError(401, f"Repository {repo_type}s/{repo_id} not found", "RepoNotFound")
    return repo


@dataclass(frozen=True)
class Snapshot:
    """A readable repo at a resolved revision: what every read endpoint starts from."""

    repo: dict[str, Any]
    sha: str
    commit: dict[str, Any]

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return self.commit["files"]


def read_snapshot(
    store: HubStore, request: Request, repo_type: str, repo_id: str, revision: str
) -> Snapshot:
    """Check the repo is readable by the caller, resolve ``revision``, load its commit."""
    load_readable(store, request, repo_type, repo_id)
    repo, sha = store.resolve(repo_type, repo_id, revision)
    return Snapshot(repo, sha, store.load_commit(repo_type, repo_id, sha))
