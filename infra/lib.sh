# shellcheck shell=bash disable=SC2034  # globals defined here are used by the scripts that source this file
# Shared functions of the infra/ scripts: argument parsing, input validation, the gcloud
# preflight check, dry-run printing and the check-then-create helpers that make every script
# idempotent. Sourced, never run. Nothing here prints or logs a secret value.

set -euo pipefail

if ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
  echo "infra/: bash >= 4.4 is needed, this is $BASH_VERSION (macOS: brew install bash)" >&2
  exit 2
fi

# gcloud must never stop to ask a question (scripts also run from CI).
export CLOUDSDK_CORE_DISABLE_PROMPTS=1

# Fixed names of what the scripts create. Changing one here changes it everywhere.
RUNNER_SA_ID=tfx-pipeline-runner
WORKER_SA_ID=tfx-dataflow-worker
DEPLOYER_SA_ID=tfx-github-deployer
WIF_POOL_ID=github
WIF_PROVIDER_ID=github-actions
GITHUB_OIDC_ISSUER=https://token.actions.githubusercontent.com

# The APIs the pipeline uses; Compute Engine because Dataflow workers are Compute Engine VMs.
REQUIRED_APIS=(
  aiplatform.googleapis.com
  dataflow.googleapis.com
  artifactregistry.googleapis.com
  storage.googleapis.com
  secretmanager.googleapis.com
  iam.googleapis.com
  iamcredentials.googleapis.com
  sts.googleapis.com
  compute.googleapis.com
)

# Regions where Vertex AI Pipelines, Vertex Training and Dataflow all run.
KNOWN_REGIONS=(
  us-central1 us-east1 us-east4 us-east5 us-south1 us-west1 us-west2 us-west3 us-west4
  northamerica-northeast1 northamerica-northeast2 southamerica-east1 southamerica-west1
  europe-central2 europe-north1 europe-southwest1 europe-west1 europe-west2 europe-west3
  europe-west4 europe-west6 europe-west8 europe-west9 europe-west12
  asia-east1 asia-east2 asia-northeast1 asia-northeast2 asia-northeast3 asia-south1
  asia-southeast1 asia-southeast2 australia-southeast1 australia-southeast2
  me-central1 me-central2 me-west1 africa-south1
)

SCRIPT_NAME=$(basename "${BASH_SOURCE[1]:-$0}")

log() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$SCRIPT_NAME" "$*" >&2
  exit 2
}

# --- arguments -----------------------------------------------------------------------------

# Every script takes the same flags (each validates only those it needs), so bootstrap.sh can
# pass its arguments through unchanged. Environment variables give the defaults.
parse_args() {
  PROJECT=${GCP_PROJECT:-}
  REGION=${GCP_REGION:-us-central1}
  BUCKET=${GCS_BUCKET:-}
  AR_REPO=${AR_REPO:-tfx-seg}
  HF_SECRET=${HF_TOKEN_SECRET:-hf-token}
  GITHUB_REPO=${GITHUB_REPO:-}
  GITHUB_BRANCH=${GITHUB_BRANCH:-main}
  GITHUB_ENVIRONMENT=${GITHUB_ENVIRONMENT:-production}
  DRY_RUN=0
  ASSUME_YES=0
  TOKEN_FROM_STDIN=0
  ROTATE=0
  KEEP_DATA=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --project) PROJECT=$(flag_value "$@"); shift ;;
      --project=*) PROJECT=${1#*=} ;;
      --region) REGION=$(flag_value "$@"); shift ;;
      --region=*) REGION=${1#*=} ;;
      --bucket) BUCKET=$(flag_value "$@"); shift ;;
      --bucket=*) BUCKET=${1#*=} ;;
      --ar-repo) AR_REPO=$(flag_value "$@"); shift ;;
      --ar-repo=*) AR_REPO=${1#*=} ;;
      --hf-secret) HF_SECRET=$(flag_value "$@"); shift ;;
      --hf-secret=*) HF_SECRET=${1#*=} ;;
      --github-repo) GITHUB_REPO=$(flag_value "$@"); shift ;;
      --github-repo=*) GITHUB_REPO=${1#*=} ;;
      --github-branch) GITHUB_BRANCH=$(flag_value "$@"); shift ;;
      --github-branch=*) GITHUB_BRANCH=${1#*=} ;;
      --github-environment) GITHUB_ENVIRONMENT=$(flag_value "$@"); shift ;;
      --github-environment=*) GITHUB_ENVIRONMENT=${1#*=} ;;
      --dry-run) DRY_RUN=1 ;;
      --yes) ASSUME_YES=1 ;;
      --token-from-stdin) TOKEN_FROM_STDIN=1 ;;
      --rotate) ROTATE=1 ;;
      --keep-data) KEEP_DATA=1 ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
  done
  BUCKET=${BUCKET:-${PROJECT:+$PROJECT-tfx-seg}}
  RUNNER_SA="$RUNNER_SA_ID@$PROJECT.iam.gserviceaccount.com"
  WORKER_SA="$WORKER_SA_ID@$PROJECT.iam.gserviceaccount.com"
  DEPLOYER_SA="$DEPLOYER_SA_ID@$PROJECT.iam.gserviceaccount.com"
}

flag_value() {
  [ $# -ge 2 ] && [ "${2#--}" = "$2" ] || die "$1 needs a value"
  printf '%s' "$2"
}

# Flags shared by every script, for their usage texts.
COMMON_USAGE='Common flags (environment variable in brackets):
  --project ID         GCP project id [GCP_PROJECT]
  --region REGION      region of the bucket, registry, Vertex AI and Dataflow [GCP_REGION] (us-central1)
  --bucket NAME        GCS bucket, without gs:// [GCS_BUCKET] (<project>-tfx-seg)
  --ar-repo NAME       Artifact Registry Docker repository [AR_REPO] (tfx-seg)
  --hf-secret NAME     Secret Manager secret holding the HF token [HF_TOKEN_SECRET] (hf-token)
  --github-repo O/N    GitHub repository allowed to deploy, owner/name [GITHUB_REPO]
  --github-branch B    the only branch whose CD runs may deploy (the default branch) [GITHUB_BRANCH] (main)
  --github-environment E
                       the protected GitHub environment of the CD job [GITHUB_ENVIRONMENT] (production)
  --dry-run            print the gcloud commands instead of running them (runs none, not even reads)
  -h, --help           this text'

# --- validation ------------------------------------------------------------------------------

# validate NAME...: checks the named inputs before any gcloud command runs.
validate() {
  local name
  for name in "$@"; do
    case "$name" in
      project) validate_project ;;
      region) validate_region ;;
      bucket) validate_bucket ;;
      ar_repo) validate_ar_repo ;;
      hf_secret) validate_hf_secret ;;
      github_repo) validate_github_repo ;;
      github_deploy) validate_github_deploy ;;
      *) die "internal: no validator for '$name'" ;;
    esac
  done
}

validate_project() {
  [ -n "$PROJECT" ] || die "no project: pass --project ID or set GCP_PROJECT"
  [[ "$PROJECT" =~ ^[a-z][a-z0-9-]{4,28}[a-z0-9]$ ]] ||
    die "invalid project id '$PROJECT': 6-30 characters, lower-case letters, digits and '-', starting with a letter, not ending with '-' (the project ID, not its name or number)"
}

validate_region() {
  local known
  for known in "${KNOWN_REGIONS[@]}"; do
    [ "$REGION" = "$known" ] && return 0
  done
  die "invalid region '$REGION': use one where Vertex AI and Dataflow run, e.g. us-central1 or europe-west4 (known: ${KNOWN_REGIONS[*]})"
}

validate_bucket() {
  [ -n "$BUCKET" ] || die "no bucket: pass --bucket NAME or --project"
  [[ "$BUCKET" =~ ^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$ ]] ||
    die "invalid bucket name '$BUCKET': 3-63 lower-case letters, digits, '-' or '_', starting and ending with a letter or digit, without gs:// (dotted names need domain verification and are not supported here)"
  case "$BUCKET" in
    goog* | *google*) die "invalid bucket name '$BUCKET': may not start with 'goog' or contain 'google'" ;;
  esac
}

validate_ar_repo() {
  [[ "$AR_REPO" =~ ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$ ]] ||
    die "invalid Artifact Registry repository '$AR_REPO': lower-case letters, digits and '-', starting with a letter, at most 63 characters"
}

validate_hf_secret() {
  [[ "$HF_SECRET" =~ ^[A-Za-z0-9_-]{1,255}$ ]] ||
    die "invalid secret name '$HF_SECRET': letters, digits, '-' and '_' (the secret's NAME, never the token)"
  case "$HF_SECRET" in
    hf_*) die "--hf-secret '${HF_SECRET:0:3}...' looks like a token: give the secret's NAME (e.g. hf-token); pass the token through HF_TOKEN or --token-from-stdin" ;;
  esac
}

validate_github_repo() {
  [ -n "$GITHUB_REPO" ] || die "no GitHub repository: pass --github-repo owner/name or set GITHUB_REPO"
  [[ "$GITHUB_REPO" =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$ ]] ||
    die "invalid GitHub repository '$GITHUB_REPO': expected owner/name, e.g. my-org/tfx-segmentation"
  case "${GITHUB_REPO#*/}" in
    . | ..) die "invalid GitHub repository name in '$GITHUB_REPO'" ;;
  esac
}

# The branch and environment go into the provider's CEL condition between single quotes: only
# characters that cannot end the string literal.
validate_github_deploy() {
  [[ "$GITHUB_BRANCH" =~ ^[A-Za-z0-9][A-Za-z0-9._/-]{0,243}$ && "$GITHUB_BRANCH" != *..* ]] ||
    die "invalid branch '$GITHUB_BRANCH': the default branch's name (e.g. main), letters, digits, '.', '_', '-' and '/'"
  [[ "$GITHUB_ENVIRONMENT" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$ ]] ||
    die "invalid GitHub environment '$GITHUB_ENVIRONMENT': letters, digits, '.', '_' and '-' (e.g. production)"
}

# wif_condition: the OIDC provider's attribute condition. A token is accepted only from a job of
# this repository, running on the default branch, in the protected environment the CD job names
# (the environment's branch policy and reviewers gate which runs get GCP credentials at all).
wif_condition() {
  printf "assertion.repository=='%s' && assertion.ref=='refs/heads/%s' && assertion.environment=='%s'" \
    "$GITHUB_REPO" "$GITHUB_BRANCH" "$GITHUB_ENVIRONMENT"
}

# --- gcloud ----------------------------------------------------------------------------------

# require_gcloud: a real run needs gcloud on PATH and an active login; a dry run needs neither.
require_gcloud() {
  if [ "$DRY_RUN" = 1 ]; then
    command -v gcloud >/dev/null 2>&1 ||
      log "note: gcloud is not installed; a real run needs it (https://cloud.google.com/sdk/docs/install)"
    return 0
  fi
  command -v gcloud >/dev/null 2>&1 ||
    die "gcloud is not installed or not on PATH: install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install), run 'gcloud auth login', then run this script again (or add --dry-run to only see the commands)"
  local account
  account=$(gcloud auth list --filter=status:ACTIVE --format='value(account)' 2>/dev/null || true)
  [ -n "$account" ] ||
    die "gcloud has no active account: run 'gcloud auth login' (a project Owner, or an admin with the IAM, Service Usage and resource admin roles), then run this script again"
  gcloud projects describe "$PROJECT" --format='value(projectId)' >/dev/null 2>&1 ||
    die "project '$PROJECT' does not exist or $account cannot see it: create it (gcloud projects create $PROJECT), link billing, or log in as an account with access"
  log "running as $account on project $PROJECT"
}

# shell_quote ARG...: prints the args as one copy-pasteable command line.
shell_quote() {
  local arg out=()
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=@,+%^-]+$ ]]; then
      out+=("$arg")
    elif [[ "$arg" == *"'"* && ! "$arg" =~ [\$\`\"\\!] ]]; then
      out+=("\"$arg\"")
    else
      out+=("'${arg//\'/\'\\\'\'}'")
    fi
  done
  printf '%s\n' "${out[*]}"
}

# run CMD...: a command that changes something. Dry run: printed, not run.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '%s\n' "$(shell_quote "$@")"
  else
    log "+ $(shell_quote "$@")"
    "$@"
  fi
}

# run_retry CMD...: like run, retried for IAM's eventual consistency (a service account just
# created can be unknown to IAM policies for a few seconds).
run_retry() {
  local attempt
  if [ "$DRY_RUN" = 1 ]; then
    run "$@"
    return 0
  fi
  for attempt in 1 2 3 4; do
    if run "$@"; then return 0; fi
    [ "$attempt" = 4 ] && break
    log "retrying in $((attempt * 5))s (IAM changes take a few seconds to propagate)"
    sleep $((attempt * 5))
  done
  die "command failed 4 times: $(shell_quote "$@")"
}

# exists CMD...: runs a read-only describe; true if the resource exists. A dry run runs no
# command, prints the check as a comment and answers 'absent', so it shows every command an
# empty project needs.
exists() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '# if absent: %s\n' "$(shell_quote "$@")" >&2
    return 1
  fi
  "$@" >/dev/null 2>&1
}

# read_value CMD...: prints a read-only command's output (empty in a dry run).
read_value() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '# reads: %s\n' "$(shell_quote "$@")" >&2
    return 0
  fi
  "$@" 2>/dev/null || true
}

# --- IAM bindings ------------------------------------------------------------------------------

# iam_target KIND RESOURCE: sets IAM_CMD to the gcloud command group and resource arguments of a
# resource whose IAM policy we edit.
iam_target() {
  case "$1" in
    project) IAM_CMD=(gcloud projects) IAM_RES=("$2") ;;
    bucket) IAM_CMD=(gcloud storage buckets) IAM_RES=("gs://$2" "--project=$PROJECT") ;;
    repo) IAM_CMD=(gcloud artifacts repositories) IAM_RES=("$2" "--location=$REGION" "--project=$PROJECT") ;;
    secret) IAM_CMD=(gcloud secrets) IAM_RES=("$2" "--project=$PROJECT") ;;
    sa) IAM_CMD=(gcloud iam service-accounts) IAM_RES=("$2" "--project=$PROJECT") ;;
    *) die "internal: unknown IAM resource kind '$1'" ;;
  esac
}

# has_binding KIND RESOURCE ROLE MEMBER: true if the policy already grants ROLE to MEMBER.
has_binding() {
  local kind=$1 resource=$2 role=$3 member=$4 policy
  iam_target "$kind" "$resource"
  local read_cmd=("${IAM_CMD[@]}" get-iam-policy "${IAM_RES[@]}" '--flatten=bindings[].members'
    '--format=value(bindings.role,bindings.members)')
  [ "$DRY_RUN" = 1 ] && return 1
  policy=$("${read_cmd[@]}" 2>/dev/null) || return 1
  grep -qxF "$(printf '%s\t%s' "$role" "$member")" <<<"$policy"
}

# apply_binding add|remove KIND RESOURCE ROLE MEMBER: adds the binding unless it is there, or
# removes it if it is there (a dry run prints either command).
apply_binding() {
  local action=$1 kind=$2 resource=$3 role=$4 member=$5 present=0 extra=()
  case "$action" in
    add | remove) ;;
    *) die "internal: apply_binding needs add or remove, not '$action'" ;;
  esac
  has_binding "$kind" "$resource" "$role" "$member" && present=1
  if [ "$action" = add ] && [ "$present" = 1 ]; then
    log "ok: $member already has $role on $kind $resource"
    return 0
  fi
  [ "$action" = remove ] && [ "$present" = 0 ] && [ "$DRY_RUN" = 0 ] && return 0
  iam_target "$kind" "$resource"
  [ "$kind" = project ] && extra=(--condition=None)
  run_retry "${IAM_CMD[@]}" "$action-iam-policy-binding" "${IAM_RES[@]}" \
    "--member=$member" "--role=$role" "${extra[@]}" --format=none
}

# Every IAM binding the scripts manage, one per line: kind|resource|role|member|why. Service
# accounts get the narrowest resource a role can sit on (bucket, repository, secret, service
# account) and project-level roles only where no narrower resource exists. The same table drives
# service_accounts.sh (grant), teardown.sh (revoke) and the table in infra/README.md.
iam_bindings() {
  local runner="serviceAccount:$RUNNER_SA" worker="serviceAccount:$WORKER_SA"
  local deployer="serviceAccount:$DEPLOYER_SA"
  cat <<EOF
project|$PROJECT|roles/aiplatform.user|$runner|run Vertex Training custom jobs, upload the model, deploy it to the endpoint, write Vertex ML Metadata
project|$PROJECT|roles/dataflow.developer|$runner|submit and monitor the Dataflow jobs of ExampleGen, StatisticsGen, Transform and Evaluator
bucket|$BUCKET|roles/storage.objectAdmin|$runner|read and write artifacts under the pipeline root (TFX also deletes its temporary files)
repo|$AR_REPO|roles/artifactregistry.reader|$runner|pull the pipeline image for the steps that run as this account
secret|$HF_SECRET|roles/secretmanager.secretAccessor|$runner|read the Hugging Face token at run time (this one secret only)
sa|$WORKER_SA|roles/iam.serviceAccountUser|$runner|launch Dataflow jobs whose workers run as the worker account
sa|$RUNNER_SA|roles/iam.serviceAccountUser|$runner|launch the Vertex Training job as itself
project|$PROJECT|roles/dataflow.worker|$worker|let Dataflow worker VMs lease work items and report progress
bucket|$BUCKET|roles/storage.objectAdmin|$worker|read TFRecords and staged files, write outputs and temporary files
repo|$AR_REPO|roles/artifactregistry.reader|$worker|pull the pipeline image as the Dataflow custom container
project|$PROJECT|roles/aiplatform.user|$deployer|create the Vertex AI PipelineJob from GitHub Actions
repo|$AR_REPO|roles/artifactregistry.writer|$deployer|push the pipeline image built by the CD workflow
bucket|$BUCKET|roles/storage.objectUser|$deployer|upload the files the pipeline steps read by path (schema, Space template) before submitting
bucket|$BUCKET|roles/storage.legacyBucketReader|$deployer|let the Vertex SDK check that the pipeline root bucket exists before it submits
sa|$RUNNER_SA|roles/iam.serviceAccountUser|$deployer|submit the PipelineJob to run as the runner account (actAs) without holding its roles
EOF
}
