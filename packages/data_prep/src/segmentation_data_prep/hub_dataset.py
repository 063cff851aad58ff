"""Download a Hugging Face dataset repo's parquet files at a pinned commit.

The revision asked for (branch, tag or commit) is resolved to a commit first and the files
are downloaded at that commit, so the report can name exactly what was read even if the
branch moves during the download. The token comes from huggingface_hub's own sources
(HF_TOKEN, the login cache): it is never an argument here, so it never reaches argv or logs.
"""

from __future__ import annotations

from dataclasses import dataclass

from segmentation_data_prep.inputs import InputError

PARQUET_PATTERNS = ["*.parquet", "**/*.parquet"]


@dataclass(frozen=True)
class HubDataset:
    repo_id: str
    revision: str  # as asked for
    commit: str  # what it resolved to, and what was downloaded
    endpoint: str | None
    local_dir: str

    def report(self) -> dict[str, str | None]:
        return {
            "repo_id": self.repo_id,
            "revision": self.revision,
            "commit": self.commit,
            "endpoint": self.endpoint,
        }


def download_hub_dataset(
    repo_id: str, revision: str, local_dir: str, *, endpoint: str | None = None
) -> HubDataset:
    """Resolve `revision`, download its parquet files into `local_dir`; InputError if absent."""
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"dataset repo {repo_id!r} on {endpoint or 'the Hugging Face Hub'}"
    try:
        info = HfApi(endpoint=endpoint).dataset_info(repo_id, revision=revision)
        commit = info.sha
        snapshot_download(
            repo_id,
            repo_type="dataset",
            revision=commit,
            local_dir=local_dir,
            endpoint=endpoint,
            allow_patterns=PARQUET_PATTERNS,
        )
    except RevisionNotFoundError:
        raise InputError(f"{where} has no revision {revision!r}: check --revision") from None
    except RepositoryNotFoundError:
        raise InputError(
            f"{where} does not exist or is private (set HF_TOKEN for a private repo)"
        ) from None
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else "no response"
        raise InputError(f"cannot download {where} at {revision!r}: HTTP {status}") from None
    return HubDataset(repo_id, revision, commit, endpoint, local_dir)
