#!/usr/bin/env bash
# Enables the Google Cloud APIs the pipeline needs (only those not enabled yet).
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: infra/enable_apis.sh --project ID [--dry-run]
Enables: ${REQUIRED_APIS[*]}
$COMMON_USAGE
USAGE
}

main() {
  parse_args "$@"
  validate project
  require_gcloud
  local enabled missing=() api
  enabled=$(read_value gcloud services list --enabled "--project=$PROJECT" '--format=value(config.name)')
  for api in "${REQUIRED_APIS[@]}"; do
    grep -qxF "$api" <<<"$enabled" || missing+=("$api")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "ok: all ${#REQUIRED_APIS[@]} APIs already enabled"
    return 0
  fi
  run gcloud services enable "${missing[@]}" "--project=$PROJECT"
}

main "$@"
