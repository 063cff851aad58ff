"""A request to the Space app the way its web page makes it: upload, queue join, SSE, download.

gradio_client waits for queue messages by polling with 50 ms sleeps
(`gradio_client.utils.stream_sse_v1plus`), so every request through it costs whole multiples of
50 ms of client time that a browser does not spend. This client speaks the same HTTP protocol as
Gradio's front end over one keep-alive connection, with no sleeps, so the benchmark can tell
the app's latency from gradio_client's.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx


class BrowserProtocolClient:
    """Calls one named event of a running Gradio app as its page does."""

    def __init__(self, url: str, api_name: str, timeout: float = 60.0) -> None:
        self._http = httpx.Client(base_url=url.rstrip("/") + "/", timeout=timeout)
        config = self._http.get("config").raise_for_status().json()
        self._prefix = config.get("api_prefix", "").strip("/") + "/"
        [self._fn_index] = [
            dependency["id"]
            for dependency in config["dependencies"]
            if dependency.get("api_name") == api_name
        ]
        self._session = uuid.uuid4().hex

    def predict(self, image: Path) -> list[bytes]:
        """Segments `image`; returns the bytes of every file output (the overlay PNG)."""
        with image.open("rb") as handle:
            upload = self._http.post(
                f"{self._prefix}upload", files=[("files", (image.name, handle))]
            )
        [server_path] = upload.raise_for_status().json()
        payload = {
            "path": server_path,
            "orig_name": image.name,
            "meta": {"_type": "gradio.FileData"},
        }
        joined = self._http.post(
            f"{self._prefix}queue/join",
            json={
                "data": [payload],
                "fn_index": self._fn_index,
                "session_hash": self._session,
                "event_data": None,
                "trigger_id": None,
            },
        )
        event_id = joined.raise_for_status().json()["event_id"]
        output = self._completed_output(event_id)
        return [
            self._http.get(item["url"]).raise_for_status().content
            for item in output
            if isinstance(item, dict) and item.get("url")
        ]

    def _completed_output(self, event_id: str) -> list:
        """Reads the session's SSE stream until this event's process_completed message."""
        with self._http.stream(
            "GET", f"{self._prefix}queue/data", params={"session_hash": self._session}
        ) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[len("data:") :])
                if message.get("event_id") != event_id:
                    continue
                if message.get("msg") == "process_completed":
                    if not message.get("success", False):
                        raise RuntimeError(f"the app failed: {message.get('output')}")
                    return message["output"]["data"]
        raise RuntimeError(f"the SSE stream closed before event {event_id} completed")
