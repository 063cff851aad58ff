"""A local, file-backed Hugging Face Hub-compatible HTTP server for tests and offline runs.

It speaks the HTTP endpoints the real ``huggingface_hub`` client (``HfApi``, ``hf_hub_download``,
``snapshot_download``) uses for model, dataset and Space repos (see :mod:`hf_local_hub.routes`),
so code under test runs the real client library, unpatched. Storage is described in
:mod:`hf_local_hub.store`, auth in :mod:`hf_local_hub.auth`, fault injection in
:mod:`hf_local_hub.faults`.

Python::

    os.environ["HF_HUB_DISABLE_XET"] = "1"  # before huggingface_hub is first imported
    from huggingface_hub import HfApi, snapshot_download
    from hf_local_hub import LocalHub

    with LocalHub(tmp_path / "hub", token="hf_test") as hub:  # user "local-user", a free port
        api = HfApi(endpoint=hub.url, token=hub.token)
        api.create_repo("local-user/my-model")
        snapshot_download("local-user/my-model", endpoint=hub.url, token=hub.token)
        hub.fault_rate = 0.3  # from now on 30% of requests fail
        hub.drop_response("POST", "/commit/")  # the next commit lands, its answer is lost
    # Code that reads HF_ENDPOINT instead: os.environ.update(hub.client_env()) inside the block.

Command line (serves until interrupted; the token from ``$LOCAL_HUB_TOKEN`` or a file)::

    LOCAL_HUB_TOKEN=... local-hf-hub --root DIR --port 8765 [--user U] [--fault-rate F]
"""

from hf_local_hub.faults import FAULT_KINDS, HubStats
from hf_local_hub.server import LocalHub

__all__ = ["FAULT_KINDS", "HubStats", "LocalHub"]
