#!/usr/bin/env bash
# Creates the Secret Manager secret for the Hugging Face token and stores the token as its first
# version. The token is read from HF_TOKEN or, with --token-from-stdin, from standard input; it
# goes to gcloud on stdin only: never an argument, a file or a log line.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: HF_TOKEN=... infra/hf_secret.sh --project ID [--hf-secret NAME] [--rotate] [--dry-run]
       infra/hf_secret.sh --project ID --token-from-stdin < token-file
The secret is replicated in --region only. An existing enabled version is kept unless --rotate
is given (then the token is added as a new version). Without a token the secret is created empty.
  --token-from-stdin   read the token from standard input (hidden prompt on a terminal)
  --rotate             add the token as a new version even if one exists
$COMMON_USAGE
USAGE
}

read_token() {
  TOKEN=${HF_TOKEN:-}
  unset HF_TOKEN
  if [ "$TOKEN_FROM_STDIN" = 1 ]; then
    [ -t 0 ] && printf 'Hugging Face token (input hidden): ' >&2
    IFS= read -r -s TOKEN || true
    [ -t 0 ] && printf '\n' >&2
    [ -n "$TOKEN" ] || die "--token-from-stdin given but standard input was empty"
  fi
  case "$TOKEN" in
    "" | hf_*) ;;
    *) log "warning: the token does not start with 'hf_'; check it is a Hugging Face access token" ;;
  esac
}

add_version() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '%s  # the token goes on stdin, never shown\n' \
      "$(shell_quote gcloud secrets versions add "$HF_SECRET" --data-file=- "--project=$PROJECT" --format=none)"
    return 0
  fi
  log "+ gcloud secrets versions add $HF_SECRET --data-file=- --project=$PROJECT (token on stdin)"
  printf '%s' "$TOKEN" | gcloud secrets versions add "$HF_SECRET" --data-file=- "--project=$PROJECT" --format=none
}

main() {
  parse_args "$@"
  validate project region hf_secret
  read_token
  require_gcloud
  if exists gcloud secrets describe "$HF_SECRET" "--project=$PROJECT"; then
    log "ok: secret $HF_SECRET exists"
  else
    run gcloud secrets create "$HF_SECRET" "--project=$PROJECT" --replication-policy=user-managed \
      "--locations=$REGION" --labels=app=tfx-segmentation
  fi
  local version
  version=$(read_value gcloud secrets versions list "$HF_SECRET" "--project=$PROJECT" \
    --filter=state:ENABLED '--format=value(name)' --limit=1)
  if [ -z "$TOKEN" ]; then
    [ -n "$version" ] && { log "ok: secret $HF_SECRET has an enabled version"; return 0; }
    log "warning: secret $HF_SECRET has no version: the Hub push will fail until you add the token:"
    log "  HF_TOKEN=... infra/hf_secret.sh --project $PROJECT   (or --token-from-stdin)"
  elif [ -n "$version" ] && [ "$ROTATE" = 0 ]; then
    log "ok: secret $HF_SECRET already has an enabled version; pass --rotate to add this token as a new one"
  else
    add_version
  fi
}

main "$@"
