"""LocalHub: the server object tests and demos start, stop and point clients at."""

from __future__ import annotations

import http.server
import ipaddress
import logging
import os
import socket
import threading
import time
from pathlib import Path

from hf_local_hub.auth import Identity
from hf_local_hub.faults import FaultInjector, HubStats
from hf_local_hub.handler import Handler
from hf_local_hub.lfs import UploadSigner
from hf_local_hub.messages import HubContext
from hf_local_hub.store import HubStore

logger = logging.getLogger(__name__)

LFS_THRESHOLD_BYTES = 10 * 1024 * 1024  # The Hub's default: larger files go to LFS.
MAX_BODY_BYTES = 1024 * 1024 * 1024  # One request body (an LFS upload) at most 1 GiB.
# `stop` waits for the serving loop's next poll: the stdlib's 0.5 s made every test's teardown
# half a second long.
POLL_SECONDS = 0.02


def reachable_from_other_machines(host: str) -> bool:
    """Whether a server bound to `host` listens beyond this machine: any address the name
    resolves to (as bind resolves it) is not a loopback address."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return True  # bind will fail on it; until then, assume the worst
    return any(not ipaddress.ip_address(address).is_loopback for address in addresses)


class LocalHub:
    """A Hub-compatible server; a context manager that starts and stops it.

    Args:
        root: directory holding the repositories (created if missing; reused if it exists).
        token: the only accepted bearer token.
        user: the user the token belongs to (owns the ``user`` namespace).
        orgs: extra namespaces the user may write to.
        host: address to bind; anything but loopback is logged as a warning (the token then
            travels in clear over the network: plain HTTP).
        port: TCP port; 0 picks a free one (read ``url`` after ``start``).
        fault_rate: share of requests answered 503/429 or dropped (0 disables), seeded by ``seed``.
        fault_kinds: the faults drawn from: ``"503"``, ``"429"`` (rate limited), ``"drop"``.
        lfs_threshold: files at least this large are uploaded through LFS.
        max_body_bytes: larger request bodies are refused with 413 before being read.

    Raises:
        ValueError: empty token, or fault settings out of range.
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
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if not token:
            raise ValueError("LocalHub needs a non-empty token.")
        self.store = HubStore(Path(root))
        self.identity = Identity(token, user, frozenset({user, *orgs}))
        self.host = host
        self.port = port
        self.lfs_threshold = lfs_threshold
        self.max_body_bytes = max_body_bytes
        self.faults = FaultInjector(fault_rate, tuple(fault_kinds), seed)
        self._signer = UploadSigner()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._context: HubContext | None = None

    # -- what clients need --------------------------------------------------------------------
    @property
    def token(self) -> str:
        return self.identity.token

    @property
    def user(self) -> str:
        return self.identity.user

    @property
    def root(self) -> Path:
        return self.store.root

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalHub is not started: use `with LocalHub(...) as hub`.")
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def context(self) -> HubContext:
        """What the endpoints share (set by ``start``)."""
        if self._context is None:
            raise RuntimeError("LocalHub is not started: use `with LocalHub(...) as hub`.")
        return self._context

    def client_env(self) -> dict[str, str]:
        """Environment for a ``huggingface_hub`` client of this server; set it before import.

        The client uses Xet storage for LFS files whenever ``hf_xet`` is installed, unless
        ``HF_HUB_DISABLE_XET=1`` is set before ``huggingface_hub`` is imported; this server
        answers the Xet endpoints with a 501 saying so.
        """
        return {
            "HF_ENDPOINT": self.url,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HUB_OFFLINE": "0",
        }

    # -- fault injection ----------------------------------------------------------------------
    @property
    def stats(self) -> HubStats:
        return self.faults.stats

    @property
    def fault_rate(self) -> float:
        return self.faults.rate

    @fault_rate.setter
    def fault_rate(self, rate: float) -> None:
        self.faults.configure(rate, self.faults.kinds)

    @property
    def fault_kinds(self) -> tuple[str, ...]:
        return self.faults.kinds

    @fault_kinds.setter
    def fault_kinds(self, kinds: tuple[str, ...]) -> None:
        self.faults.configure(self.faults.rate, tuple(kinds))

    def refuse(self, method: str, path_contains: str, fault: str = "503", times: int = 1) -> None:
        """Answer the next matching request(s) with ``fault`` (in ``FAULT_KINDS``), unprocessed."""
        self.faults.refuse(method, path_contains, fault, times)

    def drop_response(self, method: str, path_contains: str, times: int = 1) -> None:
        """Process the next matching request(s), then drop the connection without answering."""
        self.faults.drop_response(method, path_contains, times)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> LocalHub:
        if reachable_from_other_machines(self.host):
            logger.warning(
                "LOCAL HUB BOUND TO %s, NOT LOOPBACK: anyone who can reach this address can try "
                "the token, and it travels in clear text (plain HTTP). Use 127.0.0.1 unless you "
                "really mean to share it.",
                self.host,
            )
        handler = type("LocalHubHandler", (Handler,), {"hub": self})
        self._server = http.server.ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._context = HubContext(
            self.store, self.identity, self.url, self.lfs_threshold, self._signer
        )
        thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name="local-hub",
            daemon=True,
        )
        thread.start()
        logger.info("Local Hub serving %s at %s", self.store.root, self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self._context = None

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
