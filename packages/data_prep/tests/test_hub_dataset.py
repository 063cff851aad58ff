"""--hf-dataset: a dataset repo on the local Hub-compatible server, read with the real client."""

from __future__ import annotations

import json
import os

import pytest

# The client must not use Xet storage, which the local server does not speak; set it before
# huggingface_hub is first imported.
os.environ["HF_HUB_DISABLE_XET"] = "1"

from data_prep_test_helpers import IN_PROCESS
from hf_local_hub import LocalHub
from huggingface_hub import HfApi
from segmentation_data_prep import cli
from segmentation_data_prep.hub_dataset import download_hub_dataset
from segmentation_data_prep.inputs import InputError
from segmentation_data_prep.synthetic_street import write_street_parquet

REPO = "local-user/street-scenes"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    with LocalHub(tmp_path / "hub", token="hf_dataset_test") as hub:
        monkeypatch.setenv("HF_TOKEN", hub.token)
        yield hub


def publish(hub, folder, message: str) -> str:
    api = HfApi(endpoint=hub.url, token=hub.token)
    api.create_repo(REPO, repo_type="dataset", exist_ok=True)
    api.upload_folder(
        repo_id=REPO, repo_type="dataset", folder_path=str(folder), commit_message=message
    )
    return api.dataset_info(REPO).sha


def test_download_pins_the_resolved_commit(hub, tmp_path):
    first = publish(hub, write_street_parquet(tmp_path / "v1", 3, seed=1), "three scenes")
    second = publish(hub, write_street_parquet(tmp_path / "v2", 5, seed=2), "five scenes")
    assert first != second
    latest = download_hub_dataset(REPO, "main", str(tmp_path / "dl_main"), endpoint=hub.url)
    assert latest.commit == second
    pinned = download_hub_dataset(REPO, first, str(tmp_path / "dl_first"), endpoint=hub.url)
    assert pinned.commit == first
    name = "data/train-00000-of-00001.parquet"
    assert (tmp_path / "dl_first" / name).read_bytes() == (tmp_path / "v1" / name).read_bytes()
    assert (tmp_path / "dl_main" / name).read_bytes() == (tmp_path / "v2" / name).read_bytes()
    with pytest.raises(InputError, match="has no revision 'no-such-branch'"):
        download_hub_dataset(REPO, "no-such-branch", str(tmp_path / "x"), endpoint=hub.url)
    with pytest.raises(InputError, match="does not exist or is private"):
        download_hub_dataset("local-user/absent", "main", str(tmp_path / "y"), endpoint=hub.url)


def test_cli_reads_a_hub_dataset_and_records_the_commit(hub, tmp_path, capsys):
    commit = publish(hub, write_street_parquet(tmp_path / "src", 6, seed=3), "six scenes")
    argv = ["--hf-dataset", REPO, "--hub-endpoint", hub.url, "--preset", "sidewalk"]
    argv += ["--output-dir", str(tmp_path / "out"), "--image-size", "32", "--no-progress"]
    assert cli.main([*argv, *IN_PROCESS]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["hub_dataset"] == {
        "repo_id": REPO,
        "revision": "main",
        "commit": commit,
        "endpoint": hub.url,
    }
    assert report["layout"] == "hf-parquet" and report["written"]["total"] == 6
    assert hub.token not in json.dumps(report) + capsys.readouterr().err
