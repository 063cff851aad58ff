#!/usr/bin/env bash
# Creates the three service accounts and grants each the least-privilege roles listed in
# lib.sh:iam_bindings (the "why" of every role is there and in infra/README.md):
#   tfx-pipeline-runner  identity of the Vertex PipelineJob and its steps (Training, Pusher, HF push)
#   tfx-dataflow-worker  identity of the Dataflow worker VMs
#   tfx-github-deployer  identity GitHub Actions impersonates (Workload Identity Federation) to push
#                        the image and submit the pipeline; it cannot read the HF token
# Needs the bucket, the registry repository and the secret (storage.sh, hf_secret.sh) to exist.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: infra/service_accounts.sh --project ID [--region R] [--bucket NAME] [--ar-repo NAME] [--hf-secret NAME] [--dry-run]
$COMMON_USAGE
USAGE
}

ensure_service_account() {
  local id=$1 display=$2 description=$3
  local email="$id@$PROJECT.iam.gserviceaccount.com"
  if exists gcloud iam service-accounts describe "$email" "--project=$PROJECT"; then
    log "ok: service account $email exists"
  else
    run gcloud iam service-accounts create "$id" "--project=$PROJECT" "--display-name=$display" \
      "--description=$description"
  fi
}

# The resources the bindings sit on must exist; say which script creates a missing one.
require_resource() {
  local hint=$1
  shift
  [ "$DRY_RUN" = 1 ] && return 0
  "$@" >/dev/null 2>&1 || die "$(shell_quote "$@") failed: the resource does not exist yet; run $hint first (or infra/bootstrap.sh)"
}

main() {
  parse_args "$@"
  validate project region bucket ar_repo hf_secret
  require_gcloud
  require_resource infra/storage.sh gcloud storage buckets describe "gs://$BUCKET" "--project=$PROJECT" '--format=value(name)'
  require_resource infra/storage.sh gcloud artifacts repositories describe "$AR_REPO" "--location=$REGION" "--project=$PROJECT"
  require_resource infra/hf_secret.sh gcloud secrets describe "$HF_SECRET" "--project=$PROJECT"
  ensure_service_account "$RUNNER_SA_ID" "TFX pipeline runner" \
    "Runs the Vertex AI pipeline: training jobs, Dataflow jobs, model push, Hugging Face push"
  ensure_service_account "$WORKER_SA_ID" "TFX Dataflow worker" \
    "Identity of the Dataflow worker VMs of the TFX pipeline"
  ensure_service_account "$DEPLOYER_SA_ID" "TFX GitHub deployer" \
    "Impersonated by GitHub Actions (Workload Identity Federation) to push the image and submit the pipeline"
  local kind resource role member why
  while IFS='|' read -r kind resource role member why; do
    log "$member -> $role on $kind $resource: $why"
    apply_binding add "$kind" "$resource" "$role" "$member"
  done < <(iam_bindings)
}

main "$@"
