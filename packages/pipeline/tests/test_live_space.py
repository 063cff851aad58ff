"""The main job's last step: the Space the run published, served from the local Hub until Ctrl-C.

The step runs in its own process, as under `./dev.sh main`, on a local Hub that holds what
HFPusher publishes (a stand-in model, private, and the Space pinned to its commit): the test
fetches the printed URL, checks the app serves the pushed commit, then stops it with SIGINT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from segmentation_pipeline.config import PipelineConfig
from segmentation_pipeline.demo import with_demo_repos

pytestmark = pytest.mark.slow

SERVE_STEP = (
    "import sys\n"
    "from segmentation_pipeline.config import PipelineConfig\n"
    "from segmentation_pipeline.demo import serve_demo_space\n"
    "serve_demo_space(PipelineConfig(local_dir=sys.argv[1]))\n"
)
LIVE = "Space: the demo is live at "


def publish_as_the_pipeline_does(local_dir, model_dir) -> tuple[str, str]:
    """The demo's repos on the local Hub under `local_dir`; returns the model repo and commit."""
    from hf_local_hub import LocalHub
    from segmentation_space_app import template_dir
    from segmentation_test_support.hub import TOKEN
    from tfx_hf_pusher.publish import SpaceConfig, publish_model

    with LocalHub(local_dir / "hub", token=TOKEN) as hub:
        config = with_demo_repos(PipelineConfig(local_dir=str(local_dir)), hub.user)
        result = publish_model(
            model_dir,
            repo_id=config.hf_model_repo_id,
            token=hub.token,
            endpoint=hub.url,
            space=SpaceConfig(repo_id=config.hf_space_repo_id, template=str(template_dir())),
        )
    return result.repo_id, result.commit_id


def read_until_live(process: subprocess.Popen, timeout: float) -> tuple[str, list[str]]:
    """The URL the step prints once the app answers, and the lines printed until then."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith(LIVE):
            return line[len(LIVE) :].split()[0], lines
        if time.monotonic() > deadline:
            break
    process.kill()
    pytest.fail("The serve step never printed its URL:\n" + "\n".join(lines))


def test_the_published_space_is_served_until_ctrl_c(tmp_path):
    from segmentation_test_support.standin_model import export_thirds_model

    local_dir = tmp_path / "run"
    repo_id, commit = publish_as_the_pipeline_does(
        local_dir, export_thirds_model(tmp_path / "model")
    )

    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_STEP, str(local_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url, printed = read_until_live(process, timeout=600)
        assert url.startswith("http://127.0.0.1:"), printed
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200
            assert "gradio" in page.read().decode("utf-8", "replace").lower()
        app_log = (local_dir / "space" / "app.log").read_text()
        assert f"Serving {repo_id} at revision {commit}" in app_log

        process.send_signal(signal.SIGINT)  # only the step: it has to stop the app itself
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, rest
    assert rest.strip().endswith("Space: stopped."), rest
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=5)
