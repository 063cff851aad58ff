"""Run the Space app on this machine, as the Space runs it (`python app.py`), on a loopback port.

Used by the tests, the benchmark and anyone trying a model before publishing: point it at a Hub
(the real one or tfx_hf_pusher's local Hub) with MODEL_REPO_ID / MODEL_REVISION / HF_ENDPOINT.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

# Keep a local run off the network: no Gradio analytics or version checks, no Hub telemetry.
QUIET_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "PYTHONDONTWRITEBYTECODE": "1",  # no __pycache__ in the directory that gets published
    "PYTHONUNBUFFERED": "1",
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serve_space_app(
    app_dir: str | os.PathLike[str],
    env: Mapping[str, str],
    *,
    port: int = 0,
    log_path: str | os.PathLike[str] | None = None,
    startup_timeout: float = 300.0,
) -> Iterator[str]:
    """Start `python app.py` in `app_dir` with `env` added; yield its URL once it answers.

    The app's output goes to `log_path` (default: a temporary file); when the app exits
    during startup, RuntimeError carries the log's tail, which says why.
    """
    with _running_app(app_dir, env, port, log_path, startup_timeout) as (_process, url, _log):
        yield url


def serve_until_interrupted(
    app_dir: str | os.PathLike[str],
    env: Mapping[str, str],
    *,
    on_ready: Callable[[str], None],
    port: int = 0,
    log_path: str | os.PathLike[str] | None = None,
    startup_timeout: float = 300.0,
) -> None:
    """As `serve_space_app`, for a person at the terminal: calls `on_ready(url)` once the app
    answers, then serves until Ctrl-C (KeyboardInterrupt, raised once the app is stopped) or
    until the app exits (RuntimeError with the log's tail)."""
    with _running_app(app_dir, env, port, log_path, startup_timeout) as (process, url, log_path):
        on_ready(url)
        process.wait()
        raise RuntimeError(
            f"The Space app at {url} exited with code {process.returncode}; "
            f"end of its log:\n{_tail(log_path)}"
        )


@contextlib.contextmanager
def _running_app(
    app_dir: str | os.PathLike[str],
    env: Mapping[str, str],
    port: int,
    log_path: str | os.PathLike[str] | None,
    startup_timeout: float,
) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    """The app's process, URL and log once it answers; stopped (terminate, then kill) on exit."""
    app_dir = Path(app_dir)
    port = port or free_port()
    if log_path is None:
        handle, log_path = tempfile.mkstemp(prefix="space_app-", suffix=".log")
        os.close(handle)
    log_path = Path(log_path)
    child_env = {**os.environ, **QUIET_ENV, **env}
    child_env.update(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port))
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=app_dir,
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_ready(process, url, log_path, startup_timeout)
            yield process, url, log_path
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(process: subprocess.Popen, url: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"The Space app exited with code {process.returncode} during startup; "
                f"end of {log_path}:\n{_tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(f"{url}/config", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(
        f"The Space app did not answer at {url} within {timeout:.0f} s; "
        f"end of {log_path}:\n{_tail(log_path)}"
    )


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
