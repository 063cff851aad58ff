#!/usr/bin/env bash
# Removes what bootstrap.sh created: the GitHub federation, the service accounts and their
# project-level roles, and (unless --keep-data) the HF token secret, the registry with its images
# and the bucket with all its data. The APIs stay enabled: other things in the project may use
# them (disable them by hand with 'gcloud services disable' if the project is yours alone).
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: infra/teardown.sh --project ID [--region R] [--bucket NAME] [--keep-data] [--yes] [--dry-run]
  --keep-data   keep the bucket, the registry and the secret (their bindings are removed)
  --yes         do not ask to type the project id (needed without a terminal)
$COMMON_USAGE
USAGE
}

confirm() {
  [ "$DRY_RUN" = 1 ] || [ "$ASSUME_YES" = 1 ] && return 0
  [ -t 0 ] || die "teardown deletes resources: pass --yes to confirm when not on a terminal"
  local what="service accounts and GitHub federation"
  [ "$KEEP_DATA" = 1 ] || what="$what, bucket gs://$BUCKET with ALL its data, registry $AR_REPO with its images, secret $HF_SECRET"
  printf 'This deletes from project %s: %s.\nType the project id to continue: ' "$PROJECT" "$what" >&2
  local answer
  IFS= read -r answer || true
  [ "$answer" = "$PROJECT" ] || die "not confirmed; nothing was deleted"
}

# delete_if_exists DESCRIBE_ARGS... -- DELETE_ARGS...
delete_if_exists() {
  local describe=() delete=()
  while [ "$1" != -- ]; do describe+=("$1"); shift; done
  shift
  delete=("$@")
  if [ "$DRY_RUN" = 0 ] && ! exists "${describe[@]}"; then
    log "ok: nothing to delete: $(shell_quote "${describe[@]}") finds nothing"
    return 0
  fi
  [ "$DRY_RUN" = 1 ] && printf '# if present: %s\n' "$(shell_quote "${describe[@]}")" >&2
  run "${delete[@]}"
}

main() {
  parse_args "$@"
  validate project region bucket ar_repo hf_secret
  confirm
  require_gcloud
  local where=(--location=global "--project=$PROJECT") state
  state=$(read_value gcloud iam workload-identity-pools providers describe "$WIF_PROVIDER_ID" \
    "--workload-identity-pool=$WIF_POOL_ID" "${where[@]}" '--format=value(state)')
  if [ "$DRY_RUN" = 1 ] || [ "$state" = ACTIVE ]; then
    run gcloud iam workload-identity-pools providers delete "$WIF_PROVIDER_ID" \
      "--workload-identity-pool=$WIF_POOL_ID" "${where[@]}" --quiet
  fi
  state=$(read_value gcloud iam workload-identity-pools describe "$WIF_POOL_ID" "${where[@]}" '--format=value(state)')
  if [ "$DRY_RUN" = 1 ] || [ "$state" = ACTIVE ]; then
    run gcloud iam workload-identity-pools delete "$WIF_POOL_ID" "${where[@]}" --quiet
  fi

  # Project-level bindings outlive their service account (as "deleted:serviceAccount:..."), so
  # remove them first; bindings on resources that are deleted below go with the resource.
  local kind resource role member
  while IFS='|' read -r kind resource role member _; do
    if [ "$kind" = project ] || { [ "$KEEP_DATA" = 1 ] && [ "$kind" != sa ]; }; then
      apply_binding remove "$kind" "$resource" "$role" "$member"
    fi
  done < <(iam_bindings)

  local sa
  for sa in "$DEPLOYER_SA" "$WORKER_SA" "$RUNNER_SA"; do
    delete_if_exists gcloud iam service-accounts describe "$sa" "--project=$PROJECT" -- \
      gcloud iam service-accounts delete "$sa" "--project=$PROJECT" --quiet
  done

  if [ "$KEEP_DATA" = 1 ]; then
    log "kept (--keep-data): gs://$BUCKET, registry $AR_REPO, secret $HF_SECRET"
  else
    delete_if_exists gcloud secrets describe "$HF_SECRET" "--project=$PROJECT" -- \
      gcloud secrets delete "$HF_SECRET" "--project=$PROJECT" --quiet
    delete_if_exists gcloud artifacts repositories describe "$AR_REPO" "--location=$REGION" "--project=$PROJECT" -- \
      gcloud artifacts repositories delete "$AR_REPO" "--location=$REGION" "--project=$PROJECT" --quiet
    delete_if_exists gcloud storage buckets describe "gs://$BUCKET" "--project=$PROJECT" '--format=value(name)' -- \
      gcloud storage rm --recursive "gs://$BUCKET" "--project=$PROJECT"
  fi
  log "done; the APIs stay enabled, and the pool ID '$WIF_POOL_ID' stays reserved for 30 days (bootstrap.sh undeletes it)"
}

main "$@"
