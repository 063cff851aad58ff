"""A local, file-backed Hugging Face Hub-compatible HTTP server for tests and offline runs.

It speaks the HTTP endpoints the real ``huggingface_hub`` client (``HfApi``, ``hf_hub_download``,
``snapshot_download``) uses, so code under test runs the real client library, unpatched:

- ``GET  /api/whoami-v2``, ``POST /api/validate-yaml``
- ``POST /api/repos/create``, ``DELETE /api/repos/delete``
- ``GET  /api/{models|datasets|spaces}/{repo_id}[/revision/{rev}]``  (repo_info, ``?blobs=1``)
- ``GET  /api/{type}s/{repo_id}/refs``, ``POST|DELETE /api/{type}s/{repo_id}/branch/{branch}``
- ``GET  /api/{type}s/{repo_id}/tree/{rev}[/{path}]``, ``GET /api/{type}s/{repo_id}/commits/{rev}``
- ``POST /api/{type}s/{repo_id}/preupload/{rev}`` (answers ``regular`` or ``lfs``, never Xet)
- ``POST /api/{type}s/{repo_id}/commit/{rev}`` (NDJSON: ``file``, ``lfsFile``, ``deletedFile``,
  ``deletedFolder``; ``parentCommit`` checked)
- ``POST /{repo_id}.git/info/lfs/objects/batch`` + signed ``PUT`` upload + ``verify`` (basic LFS)
- ``GET|HEAD /[{type}s/]{repo_id}/resolve/{rev}/{path}`` with ``ETag``, ``X-Repo-Commit``,
  ``Content-Length`` and ``Range`` support.

Storage under ``root``: ``blobs/<sha256>`` holds every file content once (content-addressed);
``repos/<type>s/<namespace>/<name>/repo.json`` holds refs and settings and
``.../commits/<sha1>.json`` one immutable manifest per commit (path -> blob). A restarted server
over the same ``root`` sees the same repos. A new repo gets an ``initial commit`` with a
``.gitattributes`` on ``main``, like the real Hub.

Auth: every request with an ``Authorization: Bearer`` header must carry ``token`` (401 otherwise,
with the Hub's ``Invalid credentials in Authorization header`` message). Writes need the token
and a namespace the user owns (``user`` or one of ``orgs``; 403 otherwise). Private repos are
readable with the token only.

Fault injection (for retry tests): ``fault_rate`` of requests (seeded, reproducible) are answered
``503`` or have their connection dropped before being processed (``fault_kinds`` picks among
``"503"``, ``"429"`` and ``"drop"``); ``fault_rate`` is a plain
attribute, so a test can switch faults on after its setup. ``hub.stats`` counts requests/faults.

Xet: the client uses Xet storage for ``lfs`` files whenever ``hf_xet`` is installed, unless
``HF_HUB_DISABLE_XET=1`` is set *before* ``huggingface_hub`` is imported. This server answers the
Xet token endpoints with a 501 saying so. ``hub.client_env()`` returns the variables to set.

Python::

    os.environ["HF_HUB_DISABLE_XET"] = "1"  # before huggingface_hub is first imported
    from huggingface_hub import HfApi, snapshot_download
    from tfx_hf_pusher.local_hub import LocalHub

    with LocalHub(tmp_path / "hub", token="hf_test") as hub:  # user "local-user", a free port
        api = HfApi(endpoint=hub.url, token=hub.token)
        api.create_repo("local-user/my-model")
        snapshot_download("local-user/my-model", endpoint=hub.url, token=hub.token)
        hub.fault_rate = 0.3  # from now on 30% of requests fail
    # Code that reads HF_ENDPOINT instead: os.environ.update(hub.client_env()) inside the block.

Command line (serves until interrupted)::

    python -m tfx_hf_pusher.local_hub --root DIR --port 8765 --token T [--user U] [--fault-rate F]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fnmatch
import hashlib
import hmac
import http
import http.server
import json
import logging
import os
import random
import re
import secrets
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

logger = logging.getLogger(__name__)

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
FAULT_KINDS = ("503", "429", "drop")
SPACE_SDKS = ("gradio", "streamlit", "docker", "static")
DEFAULT_BRANCH = "main"
LFS_THRESHOLD_BYTES = 10 * 1024 * 1024  # The Hub's default: larger files go to LFS.
_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$")
_BRANCH_RE = re.compile(r"^(?!refs/)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$")
_SHA1_RE = re.compile(r"^[0-9a-f]{40}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# The `.gitattributes` the Hub puts in every new repo (abridged): these paths always go to LFS.
GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (
        "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib",
        "*.lfs.*", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot",
        "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors",
        "saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip",
        "*.zst", "*tfevents*",
    )
)  # fmt: skip


class HubError(Exception):
    """An HTTP error answer, shaped like the Hub's (JSON body, ``X-Error-*`` headers)."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def git_blob_oid(content: bytes) -> str:
    """The git object id of a blob, which the Hub reports as a regular file's ``oid``."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode(
        "ascii"
    )


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


@dataclass
class HubStats:
    """Request counters, for tests that need to see faults were really injected."""

    requests: int = 0
    faults: int = 0
    by_route: dict[str, int] = field(default_factory=dict)


class HubStore:
    """The file-backed repositories: content-addressed blobs plus per-commit JSON manifests."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()

    # -- blobs --------------------------------------------------------------------------------
    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256

    def has_blob(self, sha256: str, size: int | None = None) -> bool:
        path = self.blob_path(sha256)
        return path.is_file() and (size is None or path.stat().st_size == size)

    def put_blob(self, content: bytes) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        if not self.has_blob(sha256):
            _write_atomic(self.blob_path(sha256), content)
        return sha256

    # -- repos --------------------------------------------------------------------------------
    def repo_dir(self, repo_type: str, repo_id: str) -> Path:
        _check_repo_id(repo_id)  # the one gateway from URLs to paths: no traversal
        return self.root / "repos" / f"{repo_type}s" / repo_id

    def load_repo(self, repo_type: str, repo_id: str) -> dict[str, Any]:
        path = self.repo_dir(repo_type, repo_id) / "repo.json"
        if not path.is_file():
            raise HubError(404, f"Repository {repo_type}s/{repo_id} not found", "RepoNotFound")
        return json.loads(path.read_text())

    def save_repo(self, repo_type: str, repo_id: str, repo: dict[str, Any]) -> None:
        data = json.dumps(repo, indent=1, sort_keys=True).encode()
        _write_atomic(self.repo_dir(repo_type, repo_id) / "repo.json", data)

    def load_commit(self, repo_type: str, repo_id: str, sha: str) -> dict[str, Any]:
        path = self.repo_dir(repo_type, repo_id) / "commits" / f"{sha}.json"
        return json.loads(path.read_text())

    def resolve(self, repo_type: str, repo_id: str, revision: str) -> tuple[dict, str]:
        """Return (repo, commit sha) for a branch name, ``refs/heads/<b>`` or a full commit sha."""
        repo = self.load_repo(repo_type, repo_id)
        name = revision.removeprefix("refs/heads/")
        if name in repo["refs"]:
            return repo, repo["refs"][name]
        if (
            _SHA1_RE.match(revision)
            and (self.repo_dir(repo_type, repo_id) / "commits" / f"{revision}.json").is_file()
        ):
            return repo, revision
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def write_commit(
        self,
        repo_type: str,
        repo_id: str,
        *,
        parent: str | None,
        files: dict[str, dict[str, Any]],
        title: str,
        message: str,
        author: str,
    ) -> str:
        commit = {
            "parent": parent,
            "files": files,
            "title": title,
            "message": message,
            "author": author,
            "date": _now_iso(),
            "nonce": secrets.token_hex(8),  # two identical commits still get distinct ids
        }
        data = json.dumps(commit, indent=1, sort_keys=True).encode()
        sha = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        _write_atomic(self.repo_dir(repo_type, repo_id) / "commits" / f"{sha}.json", data)
        return sha

    def regular_entry(self, content: bytes) -> dict[str, Any]:
        """Manifest entry of a file committed inline (its git blob id is its ``oid``)."""
        sha256 = self.put_blob(content)
        return {"oid": git_blob_oid(content), "size": len(content), "sha256": sha256, "lfs": None}

    def lfs_entry(self, sha256: str) -> dict[str, Any]:
        """Manifest entry of an uploaded LFS object (git tracks its pointer file)."""
        size = self.blob_path(sha256).stat().st_size
        pointer = lfs_pointer(sha256, size)
        return {
            "oid": git_blob_oid(pointer),
            "size": size,
            "sha256": sha256,
            "lfs": {"oid": sha256, "size": size, "pointerSize": len(pointer)},
        }


@dataclass
class _Request:
    method: str
    parts: list[str]  # raw (still percent-encoded) path segments
    query: dict[str, list[str]]
    headers: Any
    body: bytes
    user: str | None  # authenticated user, None when anonymous


class LocalHub:
    """A Hub-compatible server on ``127.0.0.1``; a context manager that starts and stops it.

    Args:
        root: directory holding the repositories (created if missing; reused if it exists).
        token: the only accepted bearer token.
        user: the user the token belongs to (owns the ``user`` namespace).
        orgs: extra namespaces the user may write to.
        port: TCP port; 0 picks a free one (read ``url`` after ``start``).
        fault_rate: share of requests answered 503 or dropped (0 disables), seeded by ``seed``.
        fault_kinds: the faults drawn from: ``"503"``, ``"429"`` (rate limited), ``"drop"``.
        lfs_threshold: files at least this large are uploaded through LFS.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        token: str,
        user: str = "local-user",
        orgs: tuple[str, ...] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        fault_rate: float = 0.0,
        fault_kinds: tuple[str, ...] = ("503", "drop"),
        seed: int = 0,
        lfs_threshold: int = LFS_THRESHOLD_BYTES,
    ) -> None:
        if not token:
            raise ValueError("LocalHub needs a non-empty token.")
        self.store = HubStore(Path(root))
        self.token = token
        self.user = user
        self.namespaces = {user, *orgs}
        self.host = host
        self.port = port
        unknown = set(fault_kinds) - set(FAULT_KINDS)
        if unknown or not fault_kinds:
            raise ValueError(f"fault_kinds must be a non-empty subset of {FAULT_KINDS}.")
        self.fault_rate = fault_rate
        self.fault_kinds = tuple(fault_kinds)
        self.lfs_threshold = lfs_threshold
        self.stats = HubStats()
        self._rng = random.Random(seed)  # noqa: S311 (reproducible faults, not crypto)
        self._rng_lock = threading.Lock()
        self._signing_key = secrets.token_bytes(32)
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalHub is not started: use `with LocalHub(...) as hub`.")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def client_env(self) -> dict[str, str]:
        """Environment for a ``huggingface_hub`` client of this server; set it before import."""
        return {
            "HF_ENDPOINT": self.url,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HUB_OFFLINE": "0",
        }

    def start(self) -> LocalHub:
        handler = type("LocalHubHandler", (_Handler,), {"hub": self})
        self._server = http.server.ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-hub", daemon=True
        )
        self._thread.start()
        logger.info("Local Hub serving %s at %s", self.store.root, self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Start and block until interrupted (the command-line entry point)."""
        self.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    # -- helpers used by the handler ----------------------------------------------------------
    def draw_fault(self) -> str | None:
        with self._rng_lock:
            if self.fault_rate <= 0 or self._rng.random() >= self.fault_rate:
                return None
            return self._rng.choice(self.fault_kinds)

    def sign(self, oid: str) -> str:
        return hmac.new(self._signing_key, oid.encode(), hashlib.sha256).hexdigest()

    def repo_url(self, repo_type: str, repo_id: str) -> str:
        return f"{self.url}/{URL_PREFIXES[repo_type]}{repo_id}"


class _Handler(http.server.BaseHTTPRequestHandler):
    hub: LocalHub  # set on the subclass created by LocalHub.start
    protocol_version = "HTTP/1.1"
    server_version = "LocalHub/1.0"
    timeout = 60  # close idle keep-alive connections

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # -- plumbing -----------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        hub = self.hub
        split = urlsplit(self.path)
        parts = [p for p in split.path.split("/") if p]
        route = f"{self.command} /{'/'.join(parts[:2])}"
        with hub._rng_lock:
            hub.stats.requests += 1
            hub.stats.by_route[route] = hub.stats.by_route.get(route, 0) + 1
        fault = hub.draw_fault()
        if fault is not None:
            with hub._rng_lock:
                hub.stats.faults += 1
            if fault == "drop":
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._read_body_quietly()
            # Retry-After: 0 keeps the client's own backoff at its 1 s floor in fault tests.
            status = int(fault)
            error = {"error": f"Injected fault: {http.HTTPStatus(status).phrase}"}
            self._send_json(status, error, {"Retry-After": "0"})
            return
        try:
            body = self._read_body()
            request = _Request(
                method=self.command,
                parts=parts,
                query=parse_qs(split.query),
                headers=self.headers,
                body=body,
                user=self._authenticate(),
            )
            _route(hub, request, self)
        except HubError as error:
            self._send_error(error)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as error:  # a server bug must answer 500, not hang the client
            logger.exception("Local Hub failed on %s %s", self.command, split.path)
            self._send_error(HubError(500, f"Internal error: {type(error).__name__}"))

    def _read_body_quietly(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._read_body()

    def _authenticate(self) -> str | None:
        header = self.headers.get("Authorization")
        if header is None:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            value.strip().encode(), self.hub.token.encode()
        ):
            raise HubError(401, "Invalid credentials in Authorization header", "InvalidCredentials")
        return self.hub.user

    def _send_error(self, error: HubError) -> None:
        headers = {"X-Error-Message": error.message}
        if error.code:
            headers["X-Error-Code"] = error.code
        self._send_json(error.status, {"error": error.message}, headers)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def send_bytes(
        self,
        status: int,
        data: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data) if length is None else length))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


# -- routing ----------------------------------------------------------------------------------
def _repo_from(parts: list[str]) -> tuple[str, str, list[str]]:
    """Split ``[type-prefix?, namespace, name, rest...]`` for the web (non-API) routes."""
    repo_type = "model"
    if parts and parts[0] in ("datasets", "spaces"):
        repo_type, parts = REPO_TYPES[parts[0]], parts[1:]
    if len(parts) < 2:
        raise HubError(404, "Not found")
    return repo_type, f"{unquote(parts[0])}/{unquote(parts[1])}", parts[2:]


def _check_repo_id(repo_id: str) -> None:
    namespace, _, name = repo_id.partition("/")
    for part in (namespace, name):
        if not _NAME_RE.match(part) or "--" in part or ".." in part:
            raise HubError(400, f"Invalid repo id '{repo_id}'")


def _route(hub: LocalHub, request: _Request, handler: _Handler) -> None:
    parts, method = request.parts, request.method
    if parts[:1] == ["api"]:
        if parts[1:] == ["whoami-v2"] and method == "GET":
            return _whoami(hub, request, handler)
        if parts[1:] == ["validate-yaml"] and method == "POST":
            return _validate_yaml(request, handler)
        if parts[1:] == ["repos", "create"] and method == "POST":
            return _create_repo(hub, request, handler)
        if parts[1:] == ["repos", "delete"] and method == "DELETE":
            return _delete_repo(hub, request, handler)
        if len(parts) >= 4 and parts[1] in REPO_TYPES:
            repo_type = REPO_TYPES[parts[1]]
            repo_id = f"{unquote(parts[2])}/{unquote(parts[3])}"
            return _repo_api(hub, request, handler, repo_type, repo_id, parts[4:])
        raise HubError(404, f"Unknown API route /{'/'.join(parts)}")
    if parts[:1] == ["_lfs"] and len(parts) == 3:
        return _lfs_transfer(hub, request, handler, parts[1], parts[2])
    repo_type, repo_id, rest = _repo_from(parts)
    is_lfs_batch = rest == ["info", "lfs", "objects", "batch"] and method == "POST"
    if repo_id.endswith(".git") and is_lfs_batch:
        return _lfs_batch(hub, request, handler, repo_type, repo_id.removesuffix(".git"))
    if rest[:1] == ["resolve"] and len(rest) >= 3 and method in ("GET", "HEAD"):
        path = "/".join(unquote(p) for p in rest[2:])
        return _resolve(hub, request, handler, repo_type, repo_id, unquote(rest[1]), path)
    if not rest and method == "GET":
        return _repo_info(hub, request, handler, repo_type, repo_id, DEFAULT_BRANCH)
    raise HubError(404, f"Unknown route /{'/'.join(parts)}")


def _repo_api(
    hub: LocalHub,
    request: _Request,
    handler: _Handler,
    repo_type: str,
    repo_id: str,
    rest: list[str],
) -> None:
    method = request.method
    if not rest and method == "GET":
        return _repo_info(hub, request, handler, repo_type, repo_id, DEFAULT_BRANCH)
    action, args = rest[0], [unquote(p) for p in rest[1:]]
    if action == "revision" and len(args) == 1 and method == "GET":
        return _repo_info(hub, request, handler, repo_type, repo_id, args[0])
    if action == "refs" and not args and method == "GET":
        return _refs(hub, request, handler, repo_type, repo_id)
    if action == "branch" and len(args) == 1 and method in ("POST", "DELETE"):
        return _branch(hub, request, handler, repo_type, repo_id, args[0])
    if action == "tree" and args and method == "GET":
        return _tree(hub, request, handler, repo_type, repo_id, args[0], "/".join(args[1:]))
    if action == "commits" and len(args) == 1 and method == "GET":
        return _commits(hub, request, handler, repo_type, repo_id, args[0])
    if action == "preupload" and len(args) == 1 and method == "POST":
        return _preupload(hub, request, handler, repo_type, repo_id, args[0])
    if action == "commit" and len(args) == 1 and method == "POST":
        return _commit(hub, request, handler, repo_type, repo_id, args[0])
    if action.startswith("xet-"):
        raise HubError(
            501,
            "LocalHub does not implement Xet storage: set HF_HUB_DISABLE_XET=1 before importing "
            "huggingface_hub (see LocalHub.client_env()) so LFS files use the plain LFS protocol.",
        )
    raise HubError(404, f"Unknown repo route {action}")


# -- auth helpers -----------------------------------------------------------------------------
def _require_user(request: _Request) -> str:
    if request.user is None:
        raise HubError(401, "You must be authenticated to do this (Authorization: Bearer <token>).")
    return request.user


def _require_write(hub: LocalHub, request: _Request, repo_id: str) -> str:
    user = _require_user(request)
    namespace = repo_id.split("/")[0]
    if namespace not in hub.namespaces:
        raise HubError(403, f"You don't have the rights to write to the namespace '{namespace}'")
    return user


def _load_readable(hub: LocalHub, request: _Request, repo_type: str, repo_id: str) -> dict:
    repo = hub.store.load_repo(repo_type, repo_id)
    if repo["private"] and request.user is None:
        # The Hub hides private repos from anonymous callers.
        raise HubError(401, f"Repository {repo_type}s/{repo_id} not found", "RepoNotFound")
    return repo


# -- endpoints --------------------------------------------------------------------------------
def _whoami(hub: LocalHub, request: _Request, handler: _Handler) -> None:
    user = _require_user(request)
    orgs = [{"name": org, "type": "org"} for org in sorted(hub.namespaces - {user})]
    handler._send_json(
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


def _validate_yaml(request: _Request, handler: _Handler) -> None:
    content = json.loads(request.body or b"{}").get("content", "")
    errors = []
    match = re.match(r"^---\n(.*?)\n---\n", content, flags=re.S)
    if match:
        try:
            import yaml

            if not isinstance(yaml.safe_load(match.group(1)) or {}, dict):
                errors.append({"message": "YAML metadata must be a mapping"})
        except ImportError:
            pass
        except yaml.YAMLError as error:
            errors.append({"message": f"Invalid YAML: {error}"})
    handler._send_json(400 if errors else 200, {"errors": errors, "warnings": []})


def _create_repo(hub: LocalHub, request: _Request, handler: _Handler) -> None:
    payload = json.loads(request.body or b"{}")
    name, organization = payload.get("name"), payload.get("organization")
    repo_type = payload.get("type") or "model"
    if repo_type not in URL_PREFIXES or not name:
        raise HubError(400, f"Invalid repo type '{repo_type}' or missing name")
    user = _require_user(request)
    repo_id = f"{organization or user}/{name}"
    _require_write(hub, request, repo_id)
    if repo_type == "space" and payload.get("sdk") not in SPACE_SDKS:
        raise HubError(400, "A Space needs an sdk: gradio, streamlit, docker or static")
    store = hub.store
    url = hub.repo_url(repo_type, repo_id)
    with store.lock:
        if (store.repo_dir(repo_type, repo_id) / "repo.json").is_file():
            error = f"You already created this {repo_type} repo"
            handler._send_json(409, {"error": error, "url": url})
            return
        visibility = payload.get("visibility")
        private = visibility in ("private", "protected") or bool(payload.get("private"))
        files = {".gitattributes": store.regular_entry(GITATTRIBUTES.encode())}
        sha = store.write_commit(
            repo_type,
            repo_id,
            parent=None,
            files=files,
            title="initial commit",
            message="",
            author="system",
        )
        repo = {
            "id": repo_id,
            "type": repo_type,
            "private": private,
            "sdk": payload.get("sdk"),
            "createdAt": _now_iso(),
            "refs": {DEFAULT_BRANCH: sha},
        }
        store.save_repo(repo_type, repo_id, repo)
    handler._send_json(200, {"url": url, "name": repo_id, "id": repo_id})


def _delete_repo(hub: LocalHub, request: _Request, handler: _Handler) -> None:
    payload = json.loads(request.body or b"{}")
    user = _require_user(request)
    repo_type = payload.get("type") or "model"
    repo_id = f"{payload.get('organization') or user}/{payload.get('name')}"
    _require_write(hub, request, repo_id)
    with hub.store.lock:
        hub.store.load_repo(repo_type, repo_id)
        repo_dir = hub.store.repo_dir(repo_type, repo_id)
        (repo_dir / "repo.json").unlink()
        # Keep commit manifests and blobs: cheap, and a deleted repo is then simply gone.
        os.replace(repo_dir, repo_dir.with_name(f".deleted-{repo_dir.name}-{secrets.token_hex(4)}"))
    handler._send_json(200, {})


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


def _card_data(hub: LocalHub, files: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    entry = files.get("README.md")
    if entry is None:
        return None
    text = hub.store.blob_path(entry["sha256"]).read_text(errors="replace")
    match = re.match(r"^---\n(.*?)\n---\n", text, flags=re.S)
    if not match:
        return None
    try:
        import yaml

        data = yaml.safe_load(match.group(1))
    except Exception:  # card data is informative only; a broken header just yields none
        return None
    return data if isinstance(data, dict) else None


def _repo_info(
    hub: LocalHub, request: _Request, handler: _Handler, repo_type: str, repo_id: str, revision: str
) -> None:
    _load_readable(hub, request, repo_type, repo_id)
    repo, sha = hub.store.resolve(repo_type, repo_id, revision)
    commit = hub.store.load_commit(repo_type, repo_id, sha)
    blobs = request.query.get("blobs", ["0"])[0].lower() in ("1", "true")
    info: dict[str, Any] = {
        "_id": hashlib.sha1(repo_id.encode(), usedforsecurity=False).hexdigest()[:24],
        "id": repo_id,
        "author": repo_id.split("/")[0],
        "sha": sha,
        "private": repo["private"],
        "gated": False,
        "disabled": False,
        "createdAt": repo["createdAt"],
        "lastModified": commit["date"],
        "tags": [],
        "likes": 0,
        "downloads": 0,
        "siblings": [_sibling(p, e, blobs) for p, e in sorted(commit["files"].items())],
    }
    card = _card_data(hub, commit["files"])
    if card is not None:
        info["cardData"] = card
        tags = card.get("tags")
        info["tags"] = [str(t) for t in tags] if isinstance(tags, list) else []
        if repo_type == "model":
            info["library_name"] = card.get("library_name")
            info["pipeline_tag"] = card.get("pipeline_tag")
    if repo_type == "space":
        info.update(sdk=repo["sdk"], subdomain=repo_id.replace("/", "-").lower())
        stage = "BUILDING" if "app.py" in commit["files"] else "NO_APP_FILE"
        info["runtime"] = {"stage": stage}
    handler._send_json(200, info)


def _refs(
    hub: LocalHub, request: _Request, handler: _Handler, repo_type: str, repo_id: str
) -> None:
    repo = _load_readable(hub, request, repo_type, repo_id)
    branches = [
        {"name": name, "ref": f"refs/heads/{name}", "targetCommit": sha}
        for name, sha in sorted(repo["refs"].items())
    ]
    handler._send_json(200, {"branches": branches, "converts": [], "tags": [], "pullRequests": []})


def _branch(
    hub: LocalHub, request: _Request, handler: _Handler, repo_type: str, repo_id: str, branch: str
) -> None:
    _require_write(hub, request, repo_id)
    if not _BRANCH_RE.match(branch) or branch.endswith(("/", ".lock")):
        raise HubError(400, f"Invalid branch name '{branch}'")
    store = hub.store
    with store.lock:
        repo = store.load_repo(repo_type, repo_id)
        if request.method == "DELETE":
            if branch == DEFAULT_BRANCH:
                raise HubError(403, f"Cannot delete the default branch '{branch}'")
            if branch not in repo["refs"]:
                raise HubError(404, f"Branch '{branch}' not found", "RevisionNotFound")
            del repo["refs"][branch]
        else:
            if branch in repo["refs"]:
                raise HubError(409, f"Reference already exists: refs/heads/{branch}")
            start = json.loads(request.body or b"{}").get("startingPoint") or DEFAULT_BRANCH
            _, sha = store.resolve(repo_type, repo_id, start)
            repo["refs"][branch] = sha
        store.save_repo(repo_type, repo_id, repo)
    handler._send_json(200, {})


def _tree_entries(files: dict[str, dict[str, Any]], prefix: str, recursive: bool) -> list[dict]:
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


def _tree(
    hub: LocalHub,
    request: _Request,
    handler: _Handler,
    repo_type: str,
    repo_id: str,
    revision: str,
    path: str,
) -> None:
    _load_readable(hub, request, repo_type, repo_id)
    _, sha = hub.store.resolve(repo_type, repo_id, revision)
    files = hub.store.load_commit(repo_type, repo_id, sha)["files"]
    recursive = request.query.get("recursive", ["false"])[0].lower() in ("1", "true")
    entries = _tree_entries(files, path, recursive)
    if path and not entries and path not in files:
        raise HubError(404, f"Path {path} not found at {revision}", "EntryNotFound")
    handler._send_json(200, entries)


def _commits(
    hub: LocalHub, request: _Request, handler: _Handler, repo_type: str, repo_id: str, revision: str
) -> None:
    _load_readable(hub, request, repo_type, repo_id)
    _, sha = hub.store.resolve(repo_type, repo_id, revision)
    history = []
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
    handler._send_json(200, history)


def _gitattributes_lfs_patterns(hub: LocalHub, files: dict[str, dict[str, Any]]) -> list[str]:
    entry = files.get(".gitattributes")
    if entry is None:
        return []
    text = hub.store.blob_path(entry["sha256"]).read_text(errors="replace")
    return [line.split()[0] for line in text.splitlines() if "filter=lfs" in line]


def _is_lfs(path: str, size: int, sample: bytes, patterns: list[str], threshold: int) -> bool:
    """The Hub's rule: big files, binary files and `.gitattributes` LFS patterns go to LFS."""
    if size == 0:
        return False
    name = path.rsplit("/", 1)[-1]
    matches = any(
        fnmatch.fnmatch(path if "/" in pattern else name, pattern.replace("**/", "*"))
        for pattern in patterns
    )
    return matches or size >= threshold or b"\0" in sample


def _preupload(
    hub: LocalHub, request: _Request, handler: _Handler, repo_type: str, repo_id: str, revision: str
) -> None:
    _require_write(hub, request, repo_id)
    _, sha = hub.store.resolve(repo_type, repo_id, revision)
    files = hub.store.load_commit(repo_type, repo_id, sha)["files"]
    patterns = _gitattributes_lfs_patterns(hub, files)
    answers = []
    for item in json.loads(request.body)["files"]:
        path = item["path"]
        sample = base64.b64decode(item.get("sample") or b"")
        lfs = _is_lfs(path, int(item["size"]), sample, patterns, hub.lfs_threshold)
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
    handler._send_json(200, {"files": answers, "commitOid": sha})


def _lfs_batch(
    hub: LocalHub, request: _Request, handler: _Handler, repo_type: str, repo_id: str
) -> None:
    _require_write(hub, request, repo_id)
    hub.store.load_repo(repo_type, repo_id)
    payload = json.loads(request.body)
    if payload.get("operation") != "upload":
        raise HubError(400, "Only the LFS 'upload' operation is supported")
    objects = []
    for item in payload["objects"]:
        oid, size = item["oid"], int(item["size"])
        answer: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
        if not _SHA256_RE.match(oid):
            answer["error"] = {"code": 422, "message": f"Invalid oid {oid}"}
        elif not hub.store.has_blob(oid, size):
            answer["actions"] = {
                "upload": {"href": f"{hub.url}/_lfs/upload/{oid}?sig={hub.sign(oid)}&size={size}"},
                "verify": {"href": f"{hub.url}/_lfs/verify/{oid}", "header": {}},
            }
        objects.append(answer)
    handler.send_bytes(
        200,
        json.dumps({"transfer": "basic", "objects": objects}).encode(),
        "application/vnd.git-lfs+json",
    )


def _lfs_transfer(
    hub: LocalHub, request: _Request, handler: _Handler, action: str, oid: str
) -> None:
    if not _SHA256_RE.match(oid):
        raise HubError(400, f"Invalid oid {oid}")
    if action == "upload" and request.method == "PUT":
        # Like an S3 pre-signed URL: the signature, not a bearer token, authorizes the upload.
        signature = request.query.get("sig", [""])[0]
        if not hmac.compare_digest(signature, hub.sign(oid)):
            raise HubError(403, "Invalid or missing upload signature")
        if hashlib.sha256(request.body).hexdigest() != oid:
            raise HubError(400, f"Uploaded content does not match oid {oid}")
        hub.store.put_blob(request.body)
        handler.send_bytes(200, b"", "text/plain", {"ETag": f'"{oid}"'})
        return
    if action == "verify" and request.method == "POST":
        _require_user(request)
        size = int(json.loads(request.body or b"{}").get("size", -1))
        if not hub.store.has_blob(oid, size):
            raise HubError(404, f"Object {oid} of size {size} was not uploaded")
        handler._send_json(200, {"success": True})
        return
    raise HubError(404, "Unknown LFS route")


def _commit(
    hub: LocalHub, request: _Request, handler: _Handler, repo_type: str, repo_id: str, revision: str
) -> None:
    user = _require_write(hub, request, repo_id)
    if request.query.get("create_pr"):
        raise HubError(501, "LocalHub does not implement pull requests")
    lines = [json.loads(line) for line in request.body.splitlines() if line.strip()]
    if not lines or lines[0].get("key") != "header":
        raise HubError(400, "The commit payload must start with a header line")
    header = lines[0]["value"]
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
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            path = value["path"].strip("/")
            if not path or any(part in ("", ".", "..", ".git") for part in path.split("/")):
                raise HubError(400, f"Invalid path in commit: '{value['path']}'")
            if key == "file":
                content = value["content"].encode()
                if value.get("encoding") == "base64":
                    content = base64.b64decode(content)
                files[path] = store.regular_entry(content)
            elif key == "lfsFile":
                oid = value["oid"]
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
                raise HubError(400, f"Unknown commit operation '{key}'")
        sha = store.write_commit(
            repo_type, repo_id, parent=parent, files=files, title=header.get("summary", ""),
            message=header.get("description", ""), author=user,
        )  # fmt: skip
        repo["refs"][branch] = sha
        store.save_repo(repo_type, repo_id, repo)
    handler._send_json(
        200,
        {
            "success": True,
            "commitOid": sha,
            "commitUrl": f"{hub.repo_url(repo_type, repo_id)}/commit/{sha}",
            "hookOutput": "",
        },
    )


def _resolve(
    hub: LocalHub,
    request: _Request,
    handler: _Handler,
    repo_type: str,
    repo_id: str,
    revision: str,
    path: str,
) -> None:
    _load_readable(hub, request, repo_type, repo_id)
    _, sha = hub.store.resolve(repo_type, repo_id, revision)
    entry = hub.store.load_commit(repo_type, repo_id, sha)["files"].get(path)
    if entry is None:
        # The commit header lets the client cache that the file does not exist at this commit.
        message = f"Entry not found: {path}"
        headers = {
            "X-Error-Code": "EntryNotFound",
            "X-Error-Message": message,
            "X-Repo-Commit": sha,
        }
        handler._send_json(404, {"error": message}, headers)
        return
    content = hub.store.blob_path(entry["sha256"]).read_bytes()
    etag = entry["lfs"]["oid"] if entry["lfs"] else entry["oid"]
    headers = {"ETag": f'"{etag}"', "X-Repo-Commit": sha, "Accept-Ranges": "bytes"}
    if entry["lfs"]:
        headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(entry["size"])})
    status = 200
    match = re.match(r"bytes=(\d+)-(\d*)$", request.headers.get("Range", ""))
    if match:
        start = int(match.group(1))
        end = int(match.group(2)) if match.group(2) else len(content) - 1
        if start >= len(content):
            raise HubError(416, "Requested range not satisfiable")
        headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
        content, status = content[start : end + 1], 206
    handler.send_bytes(status, content, "application/octet-stream", headers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="directory holding the repositories")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--token",
        default=os.environ.get("LOCAL_HUB_TOKEN"),
        help="accepted bearer token (default: $LOCAL_HUB_TOKEN)",
    )
    parser.add_argument("--user", default="local-user")
    parser.add_argument("--org", action="append", default=[], help="extra writable namespace")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("a token is required: --token or $LOCAL_HUB_TOKEN")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    hub = LocalHub(
        args.root,
        token=args.token,
        user=args.user,
        orgs=tuple(args.org),
        host=args.host,
        port=args.port,
        fault_rate=args.fault_rate,
        seed=args.seed,
    )
    hub.serve_forever()


if __name__ == "__main__":
    main()
