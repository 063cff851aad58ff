#!/usr/bin/env bash
# Workload Identity Federation for GitHub Actions: a pool, an OIDC provider that accepts only
# tokens issued to the CD job of one repository, on its default branch, in its protected
# environment (attribute condition, lib.sh:wif_condition), and the right for such jobs to
# impersonate the deployer service account. No JSON keys anywhere. Prints the commands that
# create the protected environment and the repository variables the CD workflow reads.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: infra/github_wif.sh --project ID --github-repo OWNER/NAME [--github-branch main] [--github-environment production] [--dry-run]
Needs the deployer service account (infra/service_accounts.sh).
$COMMON_USAGE
USAGE
}

ATTRIBUTE_MAPPING=google.subject=assertion.sub,attribute.repository=assertion.repository,attribute.repository_owner=assertion.repository_owner,attribute.ref=assertion.ref,attribute.actor=assertion.actor

# wif_state ARGS...: ACTIVE, DELETED (teardown.sh soft-deletes pools and providers, and Google
# keeps their IDs for 30 days, so bootstrap undeletes them) or empty when absent.
wif_state() {
  read_value gcloud iam workload-identity-pools "$@" --location=global "--project=$PROJECT" '--format=value(state)'
}

main() {
  parse_args "$@"
  validate project github_repo github_deploy bucket ar_repo hf_secret
  require_gcloud
  local number condition state current
  number=$(read_value gcloud projects describe "$PROJECT" '--format=value(projectNumber)')
  if [ "$DRY_RUN" = 1 ]; then
    number=PROJECT_NUMBER
  elif [ -z "$number" ]; then
    die "could not read the number of project $PROJECT"
  fi
  condition=$(wif_condition)
  local pool=(gcloud iam workload-identity-pools)
  local provider=(gcloud iam workload-identity-pools providers)
  local where=(--location=global "--project=$PROJECT")
  local in_pool=("--workload-identity-pool=$WIF_POOL_ID" "${where[@]}")

  state=$(wif_state describe "$WIF_POOL_ID")
  case "$state" in
    ACTIVE) log "ok: workload identity pool $WIF_POOL_ID exists" ;;
    DELETED) run "${pool[@]}" undelete "$WIF_POOL_ID" "${where[@]}" ;;
    *) run "${pool[@]}" create "$WIF_POOL_ID" "${where[@]}" '--display-name=GitHub Actions' \
      "--description=GitHub Actions workflows of $GITHUB_REPO" ;;
  esac

  state=$(wif_state providers describe "$WIF_PROVIDER_ID" "--workload-identity-pool=$WIF_POOL_ID")
  case "$state" in
    ACTIVE | DELETED)
      [ "$state" = DELETED ] && run "${provider[@]}" undelete "$WIF_PROVIDER_ID" "${in_pool[@]}"
      # The condition is the security boundary: make an existing provider match this repository.
      current=$(read_value "${provider[@]}" describe "$WIF_PROVIDER_ID" "${in_pool[@]}" '--format=value(attributeCondition)')
      if [ "$current" = "$condition" ]; then
        log "ok: provider $WIF_PROVIDER_ID accepts only $GITHUB_REPO's $GITHUB_ENVIRONMENT jobs on $GITHUB_BRANCH"
      else
        run "${provider[@]}" update-oidc "$WIF_PROVIDER_ID" "${in_pool[@]}" "--attribute-condition=$condition" \
          "--attribute-mapping=$ATTRIBUTE_MAPPING"
      fi
      ;;
    *) run "${provider[@]}" create-oidc "$WIF_PROVIDER_ID" "${in_pool[@]}" '--display-name=GitHub OIDC' \
      "--issuer-uri=$GITHUB_OIDC_ISSUER" "--attribute-mapping=$ATTRIBUTE_MAPPING" \
      "--attribute-condition=$condition" ;;
  esac

  local principal="principalSet://iam.googleapis.com/projects/$number/locations/global/workloadIdentityPools/$WIF_POOL_ID/attribute.repository/$GITHUB_REPO"
  log "$principal -> roles/iam.workloadIdentityUser on $DEPLOYER_SA: the repository's CD jobs the provider admits may impersonate the deployer, nothing else"
  apply_binding add sa "$DEPLOYER_SA" roles/iam.workloadIdentityUser "$principal"

  cat >&2 <<VARS

Create the protected environment the CD job runs in, deployable from $GITHUB_BRANCH only (add
required reviewers in Settings > Environments > $GITHUB_ENVIRONMENT to approve each run):
  gh api -X PUT repos/$GITHUB_REPO/environments/$GITHUB_ENVIRONMENT -F 'deployment_branch_policy[protected_branches]=false' -F 'deployment_branch_policy[custom_branch_policies]=true'
  gh api -X POST repos/$GITHUB_REPO/environments/$GITHUB_ENVIRONMENT/deployment-branch-policies -f name=$GITHUB_BRANCH -f type=branch

Set these GitHub repository variables (Settings > Secrets and variables > Actions > Variables;
none of them is a secret), e.g. with the GitHub CLI:
  gh variable set GCP_WIF_PROVIDER --repo $GITHUB_REPO --body projects/$number/locations/global/workloadIdentityPools/$WIF_POOL_ID/providers/$WIF_PROVIDER_ID
  gh variable set GCP_DEPLOYER_SA --repo $GITHUB_REPO --body $DEPLOYER_SA
  gh variable set GCP_RUNNER_SA --repo $GITHUB_REPO --body $RUNNER_SA
  gh variable set GCP_DATAFLOW_SA --repo $GITHUB_REPO --body $WORKER_SA
  gh variable set GCP_BUCKET --repo $GITHUB_REPO --body $BUCKET
  gh variable set GCP_AR_REPO --repo $GITHUB_REPO --body $AR_REPO
  gh variable set HF_TOKEN_SECRET --repo $GITHUB_REPO --body $HF_SECRET
VARS
}

main "$@"
