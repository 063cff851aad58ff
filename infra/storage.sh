#!/usr/bin/env bash
# Creates the GCS bucket (pipeline root, data, Dataflow staging) and the Artifact Registry Docker
# repository (pipeline image), in the pipeline's region, unless they exist.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: infra/storage.sh --project ID [--region R] [--bucket NAME] [--ar-repo NAME] [--dry-run]
Bucket: uniform bucket-level access (IAM only, no ACLs), public access prevented, in --region.
$COMMON_USAGE
USAGE
}

main() {
  parse_args "$@"
  validate project region bucket ar_repo
  require_gcloud
  if exists gcloud storage buckets describe "gs://$BUCKET" "--project=$PROJECT" '--format=value(name)'; then
    log "ok: bucket gs://$BUCKET exists"
  else
    run gcloud storage buckets create "gs://$BUCKET" "--project=$PROJECT" "--location=$REGION" \
      --uniform-bucket-level-access --public-access-prevention --default-storage-class=STANDARD
  fi
  if exists gcloud artifacts repositories describe "$AR_REPO" "--location=$REGION" "--project=$PROJECT"; then
    log "ok: Artifact Registry repository $AR_REPO exists in $REGION"
  else
    run gcloud artifacts repositories create "$AR_REPO" --repository-format=docker \
      "--location=$REGION" "--project=$PROJECT" '--description=TFX segmentation pipeline images'
  fi
}

main "$@"
