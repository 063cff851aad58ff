"""The infra scripts against the recording gcloud stand-in: what they create, that a second run
changes nothing, that bad input stops before any command, dry runs, and the HF token's path."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import INFRA, GcloudWorld, mutating, require_tool, which

PROJECT = "acme-seg-prod"
REPO_NAME = "acme/tfx-seg"
ARGS = ("--project", PROJECT, "--github-repo", REPO_NAME, "--region", "europe-west4")
TOKEN = "hf_TestTokenNeverPrinted0123456789"
SCRIPTS = sorted(path.name for path in INFRA.glob("*.sh") if path.name != "lib.sh")
RUNNER = f"serviceAccount:tfx-pipeline-runner@{PROJECT}.iam.gserviceaccount.com"
WORKER = f"serviceAccount:tfx-dataflow-worker@{PROJECT}.iam.gserviceaccount.com"
DEPLOYER = f"serviceAccount:tfx-github-deployer@{PROJECT}.iam.gserviceaccount.com"
BUCKET = f"gs://{PROJECT}-tfx-seg"
CONDITION = (
    f"assertion.repository=='{REPO_NAME}' && assertion.ref=='refs/heads/main'"
    " && assertion.environment=='production'"
)
PRINCIPAL = (
    "principalSet://iam.googleapis.com/projects/123456789012/locations/global/"
    f"workloadIdentityPools/github/attribute.repository/{REPO_NAME}"
)
# Roles that let a member run code as a service account, and so use what it may read.
ACT_AS_ROLES = {
    "roles/iam.serviceAccountUser",
    "roles/iam.serviceAccountTokenCreator",
    "roles/iam.workloadIdentityUser",
}


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    return result


def find(calls: list[list[str]], *words: str) -> list[list[str]]:
    return [call for call in calls if all(word in call for word in words)]


def granted(world: GcloudWorld) -> set[tuple[str, str, str]]:
    return {
        (target.split("|")[1], role, member) for target, role, member in world.state()["bindings"]
    }


def test_every_script_is_shellcheck_clean() -> None:
    shellcheck = require_tool(which("shellcheck"), "shellcheck")
    scripts = sorted(str(path) for path in INFRA.glob("*.sh"))
    assert len(scripts) >= 7
    result = subprocess.run(
        [shellcheck, "--severity=style", "--external-sources", *scripts],
        capture_output=True,
        text=True,
        cwd=INFRA,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_bootstrap_creates_everything_an_empty_project_needs(world: GcloudWorld) -> None:
    ok(world.run("bootstrap.sh", *ARGS, env={"HF_TOKEN": TOKEN}))
    calls = world.calls()

    (enable,) = find(calls, "services", "enable")
    for api in ("aiplatform", "dataflow", "artifactregistry", "storage", "secretmanager"):
        assert f"{api}.googleapis.com" in enable
    for api in ("iam", "iamcredentials", "sts", "compute"):
        assert f"{api}.googleapis.com" in enable

    (bucket,) = find(calls, "buckets", "create")
    assert bucket[3] == BUCKET
    assert {"--uniform-bucket-level-access", "--location=europe-west4"} <= set(bucket)
    assert "--public-access-prevention" in bucket
    (repo,) = find(calls, "repositories", "create")
    assert {"tfx-seg", "--repository-format=docker", "--location=europe-west4"} <= set(repo)
    (secret,) = find(calls, "secrets", "create")
    assert {"hf-token", "--replication-policy=user-managed", "--locations=europe-west4"} <= set(
        secret
    )
    created = {call[3] for call in find(calls, "service-accounts", "create")}
    assert created == {"tfx-pipeline-runner", "tfx-dataflow-worker", "tfx-github-deployer"}

    runner_sa = RUNNER.split(":", 1)[1]
    assert granted(world) >= {
        (PROJECT, "roles/aiplatform.user", RUNNER),
        (PROJECT, "roles/dataflow.developer", RUNNER),
        (BUCKET, "roles/storage.objectAdmin", RUNNER),
        ("tfx-seg", "roles/artifactregistry.reader", RUNNER),
        ("hf-token", "roles/secretmanager.secretAccessor", RUNNER),
        (WORKER.split(":", 1)[1], "roles/iam.serviceAccountUser", RUNNER),
        (PROJECT, "roles/dataflow.worker", WORKER),
        (BUCKET, "roles/storage.objectAdmin", WORKER),
        ("tfx-seg", "roles/artifactregistry.reader", WORKER),
        (PROJECT, "roles/aiplatform.user", DEPLOYER),
        ("tfx-seg", "roles/artifactregistry.writer", DEPLOYER),
        (runner_sa, "roles/iam.serviceAccountUser", DEPLOYER),
        (BUCKET, "roles/storage.objectUser", DEPLOYER),
    }
    # Least privilege: no basic roles, no project-wide storage or secret access, and the
    # deployer (what GitHub can become) never reaches the token.
    for resource, role, member in granted(world):
        assert role not in {"roles/owner", "roles/editor", "roles/viewer"}
        if resource == PROJECT:
            assert not role.startswith(("roles/storage.", "roles/secretmanager.", "roles/iam."))
        if member == DEPLOYER:
            assert "secretmanager" not in role
    for call in find(calls, "projects", "add-iam-policy-binding"):
        assert "--condition=None" in call  # never an interactive prompt on conditional policies

    (pool,) = find(calls, "workload-identity-pools", "create")
    assert {"github", "--location=global"} <= set(pool)
    (provider,) = find(calls, "providers", "create-oidc")
    assert "--issuer-uri=https://token.actions.githubusercontent.com" in provider
    assert f"--attribute-condition={CONDITION}" in provider
    mapping = next(arg for arg in provider if arg.startswith("--attribute-mapping="))
    assert "attribute.repository=assertion.repository" in mapping
    assert (DEPLOYER.split(":", 1)[1], "roles/iam.workloadIdentityUser", PRINCIPAL) in granted(
        world
    )
    # No JSON keys, ever.
    assert not find(calls, "keys")


def test_second_run_changes_nothing(world: GcloudWorld) -> None:
    ok(world.run("bootstrap.sh", *ARGS, env={"HF_TOKEN": TOKEN}))
    state_after_first = world.state_path.read_text()
    first_count = len(world.calls())
    second = ok(world.run("bootstrap.sh", *ARGS, env={"HF_TOKEN": TOKEN}))
    second_calls = world.calls()[first_count:]
    assert second_calls, "the second run should still check everything"
    assert mutating(second_calls) == []
    assert world.state_path.read_text() == state_after_first
    assert "already has an enabled version" in second.stderr


def test_each_step_alone_is_idempotent(world: GcloudWorld) -> None:
    for script in ("enable_apis.sh", "storage.sh", "hf_secret.sh", "service_accounts.sh"):
        ok(world.run(script, *ARGS))
        count = len(world.calls())
        ok(world.run(script, *ARGS))
        assert mutating(world.calls()[count:]) == [], script


def test_missing_apis_only_are_enabled(world: GcloudWorld) -> None:
    world.state_path.write_text(
        '{"resources": {}, "bindings": [], "secret_versions": {},'
        ' "services": ["aiplatform.googleapis.com", "compute.googleapis.com"]}'
    )
    ok(world.run("enable_apis.sh", *ARGS))
    (enable,) = find(world.calls(), "services", "enable")
    assert "aiplatform.googleapis.com" not in enable and "compute.googleapis.com" not in enable
    assert "dataflow.googleapis.com" in enable


BAD_INPUTS = [
    ("--project", "My_Project", "invalid project id 'My_Project'"),
    ("--project", "abc", "invalid project id 'abc'"),
    ("--region", "us-central", "invalid region 'us-central'"),
    ("--region", "mars-north1", "invalid region 'mars-north1'"),
]
# enable_apis.sh and github_wif.sh have no regional resource, so they take no region.
REGIONAL = {"enable_apis.sh": False, "github_wif.sh": False}


@pytest.mark.parametrize(
    ("script", "flag", "value", "message"),
    [
        (script, *bad)
        for script in SCRIPTS
        for bad in BAD_INPUTS
        if bad[0] != "--region" or REGIONAL.get(script, True)
    ],
)
def test_bad_input_stops_before_any_command(
    world: GcloudWorld, script: str, flag: str, value: str, message: str
) -> None:
    args = [*ARGS, flag, value, "--yes"]
    result = world.run(script, *args, env={"HF_TOKEN": TOKEN})
    assert result.returncode == 2
    assert message in result.stderr
    assert world.calls() == []


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--bucket", "gs://acme", "invalid bucket name 'gs://acme'"),
        ("--bucket", "google-data", "may not start with 'goog'"),
        ("--github-repo", "acme", "invalid GitHub repository 'acme'"),
        ("--github-repo", "https://github.com/acme/x", "expected owner/name"),
        ("--hf-secret", TOKEN, "looks like a token"),
        ("--ar-repo", "Tfx_Seg", "invalid Artifact Registry repository"),
        ("--projectt", "x", "unknown argument '--projectt'"),
    ],
)
def test_bootstrap_checks_every_input_first(
    world: GcloudWorld, flag: str, value: str, message: str
) -> None:
    result = world.run("bootstrap.sh", *ARGS, flag, value)
    assert result.returncode == 2
    assert message in result.stderr
    assert world.calls() == []


def test_hf_secret_flag_holding_a_token_is_not_echoed(world: GcloudWorld) -> None:
    result = world.run("hf_secret.sh", "--project", PROJECT, "--hf-secret", TOKEN)
    assert result.returncode == 2
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_dry_run_prints_commands_and_runs_none(world: GcloudWorld, script: str) -> None:
    result = ok(world.run(script, *ARGS, "--dry-run", env={"HF_TOKEN": TOKEN}))
    assert world.calls() == []
    commands = result.stdout.splitlines()
    assert commands and all(line.startswith("gcloud ") for line in commands), result.stdout
    assert TOKEN not in result.stdout + result.stderr


def test_dry_run_of_bootstrap_prints_the_exact_commands(world: GcloudWorld) -> None:
    result = ok(world.run("bootstrap.sh", *ARGS, "--dry-run", env={"HF_TOKEN": TOKEN}))
    out = result.stdout
    assert (
        f"gcloud storage buckets create {BUCKET} --project={PROJECT} --location=europe-west4 "
        "--uniform-bucket-level-access --public-access-prevention --default-storage-class=STANDARD"
    ) in out
    assert f'"--attribute-condition={CONDITION}"' in out
    assert f"gcloud secrets versions add hf-token --data-file=- --project={PROJECT}" in out
    # A dry run lists what an empty project needs: the same creates as a real first run.
    ok(world.run("bootstrap.sh", *ARGS, env={"HF_TOKEN": TOKEN}))
    real = [call for call in mutating(world.calls()) if "add" not in call]
    printed = [line for line in out.splitlines() if "versions add" not in line]
    assert len(printed) == len(real)


def test_dry_run_works_without_gcloud(world: GcloudWorld, no_gcloud_path: str) -> None:
    result = ok(world.run("bootstrap.sh", *ARGS, "--dry-run", env={"PATH": no_gcloud_path}))
    assert "gcloud is not installed" in result.stderr
    assert "gcloud services enable" in result.stdout


def test_missing_gcloud_says_how_to_install(world: GcloudWorld, no_gcloud_path: str) -> None:
    result = world.run("bootstrap.sh", *ARGS, env={"PATH": no_gcloud_path})
    assert result.returncode == 2
    assert "install the Google Cloud CLI" in result.stderr
    assert "gcloud auth login" in result.stderr


def test_not_logged_in_says_how_to_log_in(world: GcloudWorld) -> None:
    result = world.run("bootstrap.sh", *ARGS, env={"FAKE_GCLOUD_LOGGED_OUT": "1"})
    assert result.returncode == 2
    assert "gcloud auth login" in result.stderr
    assert mutating(world.calls()) == []


def test_token_goes_to_gcloud_on_stdin_only(world: GcloudWorld) -> None:
    result = ok(world.run("bootstrap.sh", *ARGS, env={"HF_TOKEN": TOKEN}))
    assert world.state()["secret_versions"] == {"hf-token": [TOKEN]}
    assert TOKEN not in world.log.read_text()
    assert TOKEN not in result.stdout + result.stderr


def test_token_from_stdin(world: GcloudWorld) -> None:
    args = ("--project", PROJECT, "--token-from-stdin")
    result = ok(world.run("hf_secret.sh", *args, stdin=TOKEN + "\n"))
    assert world.state()["secret_versions"] == {"hf-token": [TOKEN]}
    assert TOKEN not in world.log.read_text() + result.stdout + result.stderr
    empty = world.run("hf_secret.sh", *args, stdin="")
    assert empty.returncode == 2 and "standard input was empty" in empty.stderr


def test_bootstrap_passes_stdin_to_the_secret_step(world: GcloudWorld) -> None:
    result = ok(world.run("bootstrap.sh", *ARGS, "--token-from-stdin", stdin=TOKEN + "\n"))
    assert world.state()["secret_versions"] == {"hf-token": [TOKEN]}
    assert TOKEN not in world.log.read_text() + result.stdout + result.stderr


def test_rotate_adds_a_version_and_no_token_adds_none(world: GcloudWorld) -> None:
    ok(world.run("hf_secret.sh", "--project", PROJECT))
    assert world.state()["secret_versions"] == {}
    ok(world.run("hf_secret.sh", "--project", PROJECT, env={"HF_TOKEN": TOKEN}))
    ok(world.run("hf_secret.sh", "--project", PROJECT, env={"HF_TOKEN": TOKEN + "x"}))
    assert world.state()["secret_versions"]["hf-token"] == [TOKEN]
    ok(world.run("hf_secret.sh", "--project", PROJECT, "--rotate", env={"HF_TOKEN": TOKEN + "x"}))
    assert world.state()["secret_versions"]["hf-token"] == [TOKEN, TOKEN + "x"]


def test_provider_condition_is_enforced_on_an_existing_provider(world: GcloudWorld) -> None:
    ok(world.run("bootstrap.sh", *ARGS))
    count = len(world.calls())
    ok(world.run("github_wif.sh", *ARGS[:2], "--github-repo", "acme/other"))
    (update,) = find(world.calls()[count:], "update-oidc")
    assert (
        "--attribute-condition=assertion.repository=='acme/other'"
        " && assertion.ref=='refs/heads/main' && assertion.environment=='production'"
    ) in update


def test_issue12_item2_provider_admits_only_the_default_branch_cd_environment(
    world: GcloudWorld,
) -> None:
    """Issue 12 item 2: a token from another branch or from a job outside the protected
    environment must not become the deployer, so the condition names both."""
    result = ok(world.run("bootstrap.sh", *ARGS))
    (provider,) = find(world.calls(), "providers", "create-oidc")
    condition = next(arg for arg in provider if arg.startswith("--attribute-condition="))
    assert condition == f"--attribute-condition={CONDITION}"
    # Another default branch and environment name are honoured, and the printed gh commands
    # create that environment with a policy admitting that branch only.
    other = GcloudWorld(world.root / "other", dict(world.env))
    other.root.mkdir()
    other.env |= {"FAKE_GCLOUD_LOG": str(other.log), "FAKE_GCLOUD_STATE": str(other.state_path)}
    args = (*ARGS, "--github-branch", "trunk", "--github-environment", "gcp-prod")
    ok(other.run("bootstrap.sh", *args))
    (provider,) = find(other.calls(), "providers", "create-oidc")
    assert (
        f"--attribute-condition=assertion.repository=='{REPO_NAME}'"
        " && assertion.ref=='refs/heads/trunk' && assertion.environment=='gcp-prod'"
    ) in provider
    assert f"repos/{REPO_NAME}/environments/production/deployment-branch-policies" in (
        result.stderr
    )
    assert "-f name=main -f type=branch" in result.stderr


def test_issue12_item2_repository_only_provider_is_tightened(world: GcloudWorld) -> None:
    """A project bootstrapped by the old scripts (condition on the repository only) gets the
    branch and environment condition on the next run."""
    ok(world.run("bootstrap.sh", *ARGS))
    state = world.state()
    (key,) = [
        k for k in state["resources"] if k.startswith("iam workload-identity-pools providers|")
    ]
    state["resources"][key]["flags"]["attribute-condition"] = f"assertion.repository=='{REPO_NAME}'"
    world.state_path.write_text(json.dumps(state))
    count = len(world.calls())
    ok(world.run("bootstrap.sh", *ARGS))
    (update,) = find(world.calls()[count:], "update-oidc")
    assert f"--attribute-condition={CONDITION}" in update
    assert world.state()["resources"][key]["flags"]["attribute-condition"] == CONDITION


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--github-branch", "main' || true || '", "invalid branch"),
        ("--github-branch", "a/../b", "invalid branch"),
        ("--github-environment", "prod'", "invalid GitHub environment"),
        ("--github-environment", "", "invalid GitHub environment"),
    ],
)
def test_issue12_item2_condition_inputs_cannot_break_out_of_the_condition(
    world: GcloudWorld, flag: str, value: str, message: str
) -> None:
    for script in ("bootstrap.sh", "github_wif.sh"):
        result = world.run(script, *ARGS, flag, value)
        assert result.returncode == 2, script
        assert message in result.stderr
    assert world.calls() == []


def readme_section(title: str) -> str:
    text = (INFRA / "README.md").read_text()
    return text.split(f"\n## {title}", 1)[1].split("\n## ", 1)[0]


def who_can_read(world: GcloudWorld, secret: str) -> set[str]:
    """Members that can read the secret: its accessors, then (repeatedly) every member that may
    act as one of those service accounts, from the stand-in's recorded IAM policies."""
    bindings = world.state()["bindings"]
    readers = {
        member
        for target, role, member in bindings
        if target.startswith(f"secrets|{secret}|") and role == "roles/secretmanager.secretAccessor"
    }
    while True:
        accounts = {m.split(":", 1)[1] for m in readers if m.startswith("serviceAccount:")}
        more = {
            member
            for target, role, member in bindings
            if target.startswith("iam service-accounts|")
            and target.split("|")[1] in accounts
            and role in ACT_AS_ROLES
        }
        if more <= readers:
            return readers
        readers |= more


def test_issue12_item2_readme_names_exactly_who_can_read_the_token(world: GcloudWorld) -> None:
    """Issue 12 item 2: the README's table of token readers is what IAM really allows."""
    ok(world.run("bootstrap.sh", *ARGS, env={"HF_TOKEN": TOKEN}))
    readers = who_can_read(world, "hf-token")
    assert readers == {RUNNER, DEPLOYER, PRINCIPAL}
    accessors = {
        member
        for target, role, member in world.state()["bindings"]
        if role == "roles/secretmanager.secretAccessor"
    }
    assert accessors == {RUNNER}  # one identity holds the secret role, on that secret only
    assert WORKER not in readers

    section = readme_section("Who can read the HF token")
    rows = [
        line.strip("|").split("|")[0].strip()
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| identity") and "---" not in line
    ]
    named = {
        f"serviceAccount:{row.strip('`')}@{PROJECT}.iam.gserviceaccount.com"
        for row in rows
        if row.startswith("`tfx-")
    }
    assert named == {RUNNER, DEPLOYER}
    (github_row,) = [row for row in rows if not row.startswith("`")]
    assert "default branch" in github_row and "`production` environment" in github_row


def test_service_accounts_need_their_resources(world: GcloudWorld) -> None:
    result = world.run("service_accounts.sh", *ARGS)
    assert result.returncode == 2
    assert "run infra/storage.sh first" in result.stderr
    assert mutating(world.calls()) == []


def test_teardown_needs_confirmation_without_a_terminal(world: GcloudWorld) -> None:
    ok(world.run("bootstrap.sh", *ARGS))
    count = len(world.calls())
    result = world.run("teardown.sh", *ARGS)
    assert result.returncode == 2 and "--yes" in result.stderr
    assert world.calls()[count:] == []


def test_teardown_removes_everything_and_bootstrap_recovers(world: GcloudWorld) -> None:
    ok(world.run("bootstrap.sh", *ARGS, env={"HF_TOKEN": TOKEN}))
    ok(world.run("teardown.sh", *ARGS, "--yes"))
    state = world.state()
    assert state["bindings"] == []
    assert {record["state"] for record in state["resources"].values()} == {"DELETED"}
    assert all("workload-identity-pools" in key for key in state["resources"])
    count = len(world.calls())
    ok(world.run("teardown.sh", *ARGS, "--yes"))  # idempotent too
    assert mutating(world.calls()[count:]) == []
    # Pools are soft-deleted on GCP; a new bootstrap undeletes them instead of failing.
    ok(world.run("bootstrap.sh", *ARGS, env={"HF_TOKEN": TOKEN}))
    assert len(find(world.calls(), "undelete")) == 2
    assert {record["state"] for record in world.state()["resources"].values()} == {"ACTIVE"}


def test_teardown_keep_data(world: GcloudWorld) -> None:
    ok(world.run("bootstrap.sh", *ARGS, env={"HF_TOKEN": TOKEN}))
    ok(world.run("teardown.sh", *ARGS, "--yes", "--keep-data"))
    keys = world.state()["resources"]
    assert any(key.startswith("storage buckets|") for key in keys)
    assert any(key.startswith("secrets|") for key in keys)
    assert not any(key.startswith("iam service-accounts|") for key in keys)
    assert world.state()["bindings"] == []


def test_help_of_every_script(world: GcloudWorld) -> None:
    for script in SCRIPTS:
        result = ok(world.run(script, "--help"))
        assert f"infra/{script}" in result.stdout and "--dry-run" in result.stdout
    assert world.calls() == []


def test_readme_role_table_matches_the_script() -> None:
    """infra/README.md lists exactly the roles (and reasons) that the scripts grant."""
    listed = subprocess.run(
        ["bash", "-c", f'source "{INFRA}/lib.sh"; parse_args --project {PROJECT}; iam_bindings'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    in_script = {tuple(line.split("|")[2::2]) for line in listed.splitlines()}
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in readme_section("Service accounts and roles").splitlines()
        if line.startswith("| ") and "`roles/" in line
    ]
    in_readme = {
        (row[1].strip("`"), row[3]) for row in rows if "workloadIdentityUser" not in row[1]
    }
    assert len(in_script) == 15
    assert in_readme == in_script


def real_gcloud_cli_tree() -> dict | None:
    """The command tree the installed Cloud SDK ships for shell completion (every command group,
    command and flag), or None without a Cloud SDK. Read offline, no gcloud call."""
    gcloud = shutil.which("gcloud")  # the real one: the stand-in is only on the scripts' PATH
    if not gcloud:
        return None
    tree_file = Path(gcloud).resolve().parents[1] / "data" / "cli" / "gcloud_completions.py"
    if not tree_file.exists():
        return None
    namespace: dict = {}
    exec(compile(tree_file.read_text(), str(tree_file), "exec"), namespace)
    return namespace["STATIC_COMPLETION_CLI_TREE"]


def test_every_command_issued_exists_in_the_real_gcloud(world: GcloudWorld) -> None:
    """The stand-in accepts anything; the Cloud SDK's own command tree says whether each command
    and flag the scripts issue (in every scenario, reads included) really exists."""
    tree = real_gcloud_cli_tree()
    if tree is None:
        pytest.skip("no Google Cloud CLI installed here to check the commands against")
    ok(world.run("bootstrap.sh", *ARGS, env={"HF_TOKEN": TOKEN}))
    ok(world.run("hf_secret.sh", *ARGS, "--rotate", env={"HF_TOKEN": TOKEN}))
    ok(world.run("github_wif.sh", *ARGS[:2], "--github-repo", "acme/other"))
    ok(world.run("teardown.sh", *ARGS, "--yes", "--keep-data"))
    ok(world.run("teardown.sh", *ARGS, "--yes"))
    ok(world.run("bootstrap.sh", *ARGS))
    checked = set()
    for call in world.calls():
        node, path = tree, []
        for word in call:
            if word.startswith("--") or word not in node["commands"]:
                break
            node = node["commands"][word]
            path.append(word)
        assert path and not node["commands"], f"not a gcloud command: {call}"
        for flag in (arg.split("=", 1)[0] for arg in call if arg.startswith("--")):
            assert flag in node["flags"] or flag in tree["flags"], f"{' '.join(path)}: {flag}"
        checked.add(" ".join(path))
    assert len(checked) >= 30
