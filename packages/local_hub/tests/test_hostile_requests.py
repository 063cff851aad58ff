"""Hostile and malformed requests (issue 12, items 1 and 10): refused with 4xx JSON errors,
before any body is read or any path outside the hub's root is touched."""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path

import httpx2
import pytest
from hf_local_hub import LocalHub
from huggingface_hub import HfApi


def _raw_request(hub: LocalHub, head: str, body: bytes = b"") -> tuple[int, dict]:
    """Send ``head`` (request line + headers) and ``body`` as-is; the status and JSON answer.

    The socket times out after 5 s: a server that waits for a body it was promised but will
    never get fails the test instead of hanging it.
    """
    host, port = hub.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed without an answer: {data!r}"
            data += chunk
        header_block, _, rest = data.partition(b"\r\n\r\n")
        headers = dict(
            line.split(": ", 1) for line in header_block.decode("latin-1").split("\r\n")[1:]
        )
        length = int(headers["Content-Length"])
        while len(rest) < length:
            chunk = sock.recv(65536)
            assert chunk
            rest += chunk
    status = int(header_block.split()[1])
    assert headers["Content-Type"] == "application/json", headers
    payload = json.loads(rest[:length])
    assert "Traceback" not in json.dumps(payload)
    return status, payload


def _commit_lines(*operations: dict) -> bytes:
    header = {"key": "header", "value": {"summary": "attack", "description": ""}}
    return b"\n".join(json.dumps(line).encode() for line in (header, *operations))


def test_local_hub_path_traversal_lfs_oid_cannot_read_outside_the_root(
    hub: LocalHub, api: HfApi, tmp_path: Path
) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("TOP SECRET")
    repo = f"{hub.user}/public-model"
    api.create_repo(repo)
    head = api.model_info(repo).sha
    oid = os.path.relpath(secret, hub.root / "blobs")  # ../../outside.txt
    body = _commit_lines(
        {"key": "lfsFile", "value": {"path": "leak.txt", "algo": "sha256", "oid": oid}}
    )
    answer = httpx2.post(
        f"{hub.url}/api/models/{repo}/commit/main",
        content=body,
        headers={"Authorization": f"Bearer {hub.token}", "Content-Type": "application/x-ndjson"},
    )
    assert 400 <= answer.status_code < 500 and "sha256" in answer.json()["error"]
    assert api.model_info(repo).sha == head  # nothing committed
    leak = httpx2.get(f"{hub.url}/{repo}/resolve/main/leak.txt")  # anonymous, as an attacker
    assert leak.status_code == 404 and "TOP SECRET" not in leak.text


def test_local_hub_path_traversal_repo_type_cannot_move_outside_the_root(
    hub: LocalHub, tmp_path: Path
) -> None:
    # A directory outside the hub's root shaped like a repo, where `type` would lead.
    victim = tmp_path / "victims" / hub.user / "thing"
    victim.mkdir(parents=True)
    (victim / "repo.json").write_text("{}")
    before = sorted(p.name for p in victim.parent.iterdir())
    answer = httpx2.request(
        "DELETE",
        f"{hub.url}/api/repos/delete",
        json={"name": "thing", "type": "../../victim"},
        headers={"Authorization": f"Bearer {hub.token}"},
    )
    assert 400 <= answer.status_code < 500 and "repo type" in answer.json()["error"]
    assert (victim / "repo.json").read_text() == "{}"  # nothing moved
    assert sorted(p.name for p in victim.parent.iterdir()) == before


def test_local_hub_request_handling_auth_before_body(hub: LocalHub) -> None:
    # A wrong token with a promised (never sent) 1 GB body: 401 at once, nothing read.
    status, payload = _raw_request(
        hub,
        "POST /api/repos/create HTTP/1.1\nHost: x\nAuthorization: Bearer hf_wrong\n"
        "Content-Length: 1000000000\n",
    )
    assert status == 401 and payload["error"] == "Invalid credentials in Authorization header"


@pytest.mark.parametrize(
    ("content_length", "status"),
    [("-1", 400), ("abc", 400), ("1099511627776", 413)],  # 1 TiB: over the cap
)
def test_local_hub_request_handling_bad_content_length(
    hub: LocalHub, content_length: str, status: int
) -> None:
    answer = _raw_request(
        hub,
        f"POST /api/repos/create HTTP/1.1\nHost: x\nAuthorization: Bearer {hub.token}\n"
        f"Content-Length: {content_length}\n",
    )
    assert answer[0] == status and answer[1]["error"]


def test_local_hub_request_handling_body_size_cap(tmp_path: Path) -> None:
    with LocalHub(tmp_path / "hub", token="hf_t", max_body_bytes=1000) as hub:
        status, payload = _raw_request(
            hub,
            "POST /api/repos/create HTTP/1.1\nHost: x\nAuthorization: Bearer hf_t\n"
            "Content-Length: 1001\n",
            b"x" * 1001,
        )
    assert status == 413 and "1000-byte limit" in payload["error"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/repos/create", b"{not json"),
        ("/api/repos/create", b"[1, 2]"),
        ("/api/repos/create", b'{"name": "x", "type": "../../x"}'),
        ("/api/models/pet-lab/m/commit/main", b'{"key": "header", "value": {}}\n{oops'),
        ("/api/models/pet-lab/m/commit/main", b'{"key": "header", "value": {}}\n[]'),
        ("/api/models/pet-lab/m/preupload/main", b'{"files": [{"path": "a", "size": "x"}]}'),
        ("/api/models/pet-lab/m/preupload/main", b'{"files": 3}'),
        ("/pet-lab/m.git/info/lfs/objects/batch", b'{"operation": "upload", "objects": [{}]}'),
    ],
)
def test_local_hub_request_handling_malformed_json_is_400(
    hub: LocalHub, api: HfApi, path: str, body: bytes
) -> None:
    api.create_repo(f"{hub.user}/m")
    status, payload = _raw_request(
        hub,
        f"POST {path} HTTP/1.1\nHost: x\nAuthorization: Bearer {hub.token}\n"
        f"Content-Length: {len(body)}\n",
        body,
    )
    assert status == 400 and payload["error"]


def test_local_hub_request_handling_malformed_authorization_is_401(hub: LocalHub) -> None:
    for header in ("Bearer", "Basic abc", "Bearer \u00e9t\u00e9".encode().decode("latin-1")):
        status, payload = _raw_request(
            hub, f"GET /api/whoami-v2 HTTP/1.1\nHost: x\nAuthorization: {header}\n"
        )
        assert status == 401 and payload["error"]


def test_local_hub_request_handling_warns_when_not_on_loopback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with LocalHub(tmp_path / "hub", token="hf_t", host="0.0.0.0"):
        pass
    assert "NOT LOOPBACK" in caplog.text and "hf_t" not in caplog.text
    for loopback in ("127.0.0.1", "localhost"):  # a name counts by what it resolves to
        caplog.clear()
        with LocalHub(tmp_path / "hub", token="hf_t", host=loopback):
            pass
        assert "NOT LOOPBACK" not in caplog.text
