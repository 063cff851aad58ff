#!/usr/bin/env bash
# From an empty GCP project to everything the pipeline and its CD workflow need, in order:
# APIs, bucket and registry, HF token secret, service accounts and roles, GitHub federation.
# Every step checks before it creates, so running it again changes nothing.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: HF_TOKEN=... infra/bootstrap.sh --project ID --github-repo OWNER/NAME [--region R] [--dry-run]
Runs enable_apis.sh, storage.sh, hf_secret.sh, service_accounts.sh and github_wif.sh with the same
flags. The token may also come from standard input (--token-from-stdin); see hf_secret.sh --help.
$COMMON_USAGE
USAGE
}

main() {
  parse_args "$@"
  # Check every input of every step before the first command runs.
  validate project region bucket ar_repo hf_secret github_repo github_deploy
  require_gcloud
  local here step
  here=$(dirname "${BASH_SOURCE[0]}")
  for step in enable_apis storage hf_secret service_accounts github_wif; do
    log "== $step"
    bash "$here/$step.sh" "$@"
  done
  log "done: project $PROJECT is ready; build and submit the pipeline with the CD workflow (README)"
}

main "$@"
