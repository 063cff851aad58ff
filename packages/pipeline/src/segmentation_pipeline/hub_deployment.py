"""The model in production on the Hugging Face Hub, and what it scored when it was blessed.

HFPusher publishes every blessed version on its own branch (`v<version>`) with a model card
whose `model-index` holds the Evaluator's metrics, so the model repo alone says what is deployed
and how good it was: the monitor can run wherever the Hub is reachable (a laptop, a scheduled
Vertex job) without the pipeline's ML Metadata. `latest` is the version branch whose head commit
is the newest: the last push.
"""

from __future__ import annotations

from segmentation_pipeline.deployment import Deployment, NoDeploymentError

LATEST = "latest"


def hub_deployment(
    repo_id: str, revision: str, *, endpoint: str | None, token: str | None
) -> Deployment:
    """Downloads `repo_id` at `revision` (a branch, a commit, or `latest`) with its card's metrics.

    Raises:
        NoDeploymentError: the repo, the revision or a card with metrics is missing, or the Hub
            cannot be reached or refuses the token (the message says which; never the token).
    """
    import httpx2
    from huggingface_hub import HfApi, ModelCard
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(endpoint=endpoint or None, token=token or False)
    where = f"{api.endpoint}/{repo_id}"
    try:
        if revision == LATEST:
            revision = _newest_version_branch(api, repo_id)
        commit = api.model_info(repo_id, revision=revision).sha
        model_dir = api.snapshot_download(repo_id, revision=commit)
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        hint = (
            " (private repo: is the token in the configured environment variable, with read "
            "access?)"
            if status in (401, 403)
            else ""
        )
        raise NoDeploymentError(
            f"cannot read {where} at {revision!r}: HTTP {status}{hint}"
        ) from None
    except (httpx2.HTTPError, OSError) as error:
        raise NoDeploymentError(
            f"cannot reach the Hub for {where}: {type(error).__name__}; check the network and "
            "hf_endpoint"
        ) from None
    card = ModelCard.load(f"{model_dir}/README.md")
    recorded = {
        result.metric_type: float(result.metric_value) for result in card.data.eval_results or ()
    }
    if not recorded:
        raise NoDeploymentError(
            f"{where} at {revision!r} has no metrics on its model card: was it pushed by HFPusher "
            "with the Evaluator's evaluation?"
        )
    return Deployment(
        model_dir=model_dir,
        version=str(card.data.to_dict().get("model_version", revision)),
        source=f"{where} @ {commit}",
        recorded=recorded,
    )


def _newest_version_branch(api, repo_id: str) -> str:
    """The version branch with the newest head commit; refuses to guess between equals."""
    from tfx_hf_pusher.publish import BRANCH_PREFIX

    branches = [
        branch.name
        for branch in api.list_repo_refs(repo_id).branches
        if branch.name.startswith(BRANCH_PREFIX)
    ]
    if not branches:
        raise NoDeploymentError(f"{api.endpoint}/{repo_id} has no model version branch yet")
    newest = {
        name: api.list_repo_commits(repo_id, revision=name)[0].created_at for name in branches
    }
    latest = max(newest.values())
    tied = sorted(name for name, created in newest.items() if created == latest)
    if len(tied) > 1:
        raise NoDeploymentError(
            f"version branches {tied} of {api.endpoint}/{repo_id} were pushed at the same time "
            f"({latest}); give the revision to monitor explicitly"
        )
    return tied[0]
