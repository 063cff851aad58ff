"""HTTP plumbing: read a request safely, authenticate, route, answer; inject faults for tests.

Order matters for hostile input: the ``Authorization`` header is checked and the declared body
size validated (a number, not negative, under the cap) before a single body byte is read, so a
wrong token or an absurd ``Content-Length`` costs the server nothing. Every refusal is a JSON
error like the Hub's; an unexpected server bug answers 500 without a traceback.
"""

from __future__ import annotations

import contextlib
import http
import http.server
import logging
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from hf_local_hub.messages import HubError, Request, Response, json_response
from hf_local_hub.routes import route, route_name

if TYPE_CHECKING:
    from hf_local_hub.server import LocalHub

logger = logging.getLogger(__name__)


class Handler(http.server.BaseHTTPRequestHandler):
    hub: LocalHub  # set on the subclass LocalHub.start creates
    protocol_version = "HTTP/1.1"
    server_version = "LocalHub/1.0"
    timeout = 60  # close idle keep-alive connections and stalled uploads

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

    def _dispatch(self) -> None:
        hub = self.hub
        split = urlsplit(self.path)
        parts = [p for p in split.path.split("/") if p]
        fault = hub.faults.record_request(self.command, split.path, route_name(self.command, parts))
        try:
            if fault == "drop":
                return self._drop_connection()
            if fault is not None:
                self._read_body()
                # Retry-After: 0 keeps the client's own backoff at its floor in fault tests.
                status = int(fault)
                error = {"error": f"Injected fault: {http.HTTPStatus(status).phrase}"}
                return self._send(json_response(status, error, {"Retry-After": "0"}))
            user = hub.identity.authenticate(self.headers.get("Authorization"))
            request = Request(
                method=self.command,
                parts=parts,
                query=parse_qs(split.query),
                headers=self.headers,
                body=self._read_body(),
                user=user,
            )
            response = route(hub.context, request)
            if hub.faults.take_dropped_response(self.command, split.path):
                return self._drop_connection()  # applied, but the client never hears of it
            self._send(response)
        except HubError as error:
            self.close_connection = True  # the body may be unread: this connection is done
            self._send(error.response())
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception as error:  # a server bug must answer 500, not hang the client
            logger.exception("Local Hub failed on %s %s", self.command, split.path)
            self.close_connection = True
            self._send(HubError(500, f"Internal error: {type(error).__name__}").response())

    def _read_body(self) -> bytes:
        """The body, within ``hub.max_body_bytes``; 400/413 for a bad or too large size."""
        limit = self.hub.max_body_bytes
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked(limit)
        declared = (self.headers.get("Content-Length") or "0").strip()
        if not declared.isdigit():
            raise HubError(400, f"Invalid Content-Length header {declared[:40]!r}")
        length = int(declared)
        if length > limit:
            raise HubError(413, f"Request body of {length} bytes exceeds the {limit}-byte limit")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self, limit: int) -> bytes:
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(line or b"0", 16)
            except ValueError as error:
                raise HubError(400, "Malformed chunked transfer encoding") from error
            if size < 0:
                raise HubError(400, "Malformed chunked transfer encoding")
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > limit:
                raise HubError(413, f"Request body exceeds the {limit}-byte limit")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _drop_connection(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        for key, value in response.headers.items():
            self.send_header(key, _header_value(value))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


def _header_value(value: str) -> str:
    """A header value that cannot break the response: one line, Latin-1 (messages echo input)."""
    one_line = " ".join(str(value).splitlines())
    return one_line.encode("latin-1", "replace").decode("latin-1")[:1000]
