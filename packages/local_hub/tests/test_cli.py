"""`local-hf-hub`: serves until stopped; the token comes from the environment or a file."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx2
from huggingface_hub import HfApi
from segmentation_test_support.network import free_port


def _serve(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "hf_local_hub", *args, "--port", str(port), "--user", "pet-lab"],
        env={**os.environ, "PYTHONWARNINGS": "ignore", **env},
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, f"http://127.0.0.1:{port}"


def _wait_for(api: HfApi) -> dict:
    deadline = time.monotonic() + 30
    while True:
        try:
            return api.whoami()
        except httpx2.ConnectError:
            assert time.monotonic() < deadline, "local hub did not start"
            time.sleep(0.1)


def test_command_line_server_with_token_from_environment(tmp_path: Path) -> None:
    token = f"hf_{secrets.token_hex(16)}"
    process, url = _serve(["--root", str(tmp_path / "hub")], {"LOCAL_HUB_TOKEN": token})
    try:
        api = HfApi(endpoint=url, token=token)
        assert _wait_for(api)["name"] == "pet-lab"
        assert str(api.create_repo("pet-lab/cli")) == f"{url}/pet-lab/cli"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_command_line_token_from_file_never_from_argv(tmp_path: Path) -> None:
    token = f"hf_{secrets.token_hex(16)}"
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    no_env = {"LOCAL_HUB_TOKEN": ""}
    refused = subprocess.run(
        [sys.executable, "-m", "hf_local_hub", "--root", str(tmp_path), "--token", token],
        env={**os.environ, **no_env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "--token" in refused.stderr  # argv is visible in `ps`
    process, url = _serve(
        ["--root", str(tmp_path / "hub"), "--token-file", str(token_file)], no_env
    )
    try:
        assert _wait_for(HfApi(endpoint=url, token=token))["name"] == "pet-lab"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert token not in stderr
