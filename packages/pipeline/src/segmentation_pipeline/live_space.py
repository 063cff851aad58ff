"""The end of the main job: the Space it published, served from the local Hub on loopback.

The Space's files are downloaded from the Hub as published (app.py pinned to the pushed model
commit) and run as a Space runs them, so what the person at the terminal tries is what HFPusher
put on the Hub, not the template in this checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def serve_published_space(
    hub_url: str, token: str, space_repo_id: str, work_dir: str | Path
) -> None:
    """Download `space_repo_id` from the Hub at `hub_url` and serve it until Ctrl-C
    (KeyboardInterrupt, raised once the app is stopped).

    Args:
        hub_url: the Hub the Space and its model are on (the app downloads the model from it).
        token: read access to the (private) model repo; handed to the app in its environment.
        space_repo_id: the Space to serve, at its main branch.
        work_dir: the Space's files, its Hugging Face cache and its log go here.

    Raises:
        RuntimeError: the app exited during startup or while serving (with its log's tail).
    """
    from huggingface_hub import snapshot_download
    from segmentation_space_app.local import serve_until_interrupted

    work_dir = Path(work_dir)
    app_dir = work_dir / "app"
    shutil.rmtree(app_dir, ignore_errors=True)  # no file of an earlier version left behind
    snapshot_download(
        space_repo_id, repo_type="space", endpoint=hub_url, token=token, local_dir=app_dir
    )
    log_path = work_dir / "app.log"
    env = {
        "HF_ENDPOINT": hub_url,
        "HF_TOKEN": token,  # the model repo is private by default; a Space gets it as a secret
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "",  # and sends it, as a Space does, whatever ours says
        "HF_HOME": str(work_dir / "hf_home"),  # the app's model downloads, kept between runs
        "TF_USE_LEGACY_KERAS": "0",  # not set on a Space
    }
    print(f"Space: starting {space_repo_id} from {hub_url} (log: {log_path})", flush=True)
    serve_until_interrupted(
        app_dir,
        env,
        log_path=log_path,
        on_ready=lambda url: print(
            f"Space: the demo is live at {url} (serving until Ctrl-C)", flush=True
        ),
    )
