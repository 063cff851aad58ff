"""The Space template as published: files, README YAML header, requirements, placeholders."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import sys

import pytest
import segmentation_logic as logic
import yaml
from packaging.requirements import Requirement
from segmentation_space_app import template_dir
from tfx_hf_pusher.publish import DEFAULT_PLACEHOLDERS, load_template, render_template

TEMPLATE = template_dir()
# Import name -> distribution on the Space (gradio comes from the README's sdk_version).
SPACE_DISTRIBUTIONS = {
    "gradio": "gradio",
    "huggingface_hub": "huggingface_hub",
    "numpy": "numpy",
    "PIL": "pillow",
    "tensorflow": "tensorflow-cpu",
}
# The test venv has tensorflow; the Space installs the CPU-only build of the same version.
LOCAL_DISTRIBUTION = {"tensorflow-cpu": "tensorflow"}


def front_matter(readme: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", readme, re.DOTALL)
    assert match, "README.md must start with a YAML header between --- lines"
    return yaml.safe_load(match.group(1))


def app_constants(app_source: str) -> dict[str, object]:
    """Module-level constant assignments of app.py (without importing TensorFlow)."""
    return {
        node.targets[0].id: node.value.value
        for node in ast.parse(app_source).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
    }


def test_template_holds_exactly_the_space_files():
    files = {p.relative_to(TEMPLATE).as_posix() for p in TEMPLATE.rglob("*") if p.is_file()}
    examples = {f for f in files if f.startswith("examples/")}
    assert files - examples == {
        "app.py",
        "segmentation_logic.py",
        "requirements.txt",
        "README.md",
        "palette.json",
    }
    assert len(examples) >= 3


def test_examples_are_small_rgb_photos_the_app_takes_as_they_are():
    for path in sorted((TEMPLATE / "examples").iterdir()):
        assert path.stat().st_size < 100_000, path
        prepared = logic.prepare_image(path.read_bytes())
        assert prepared.notes == (), (path, prepared.notes)
        assert prepared.model_bytes == path.read_bytes()


def test_readme_header_configures_a_gradio_space():
    header = front_matter((TEMPLATE / "README.md").read_text())
    assert header["sdk"] == "gradio"
    assert header["sdk_version"] == importlib.metadata.version("gradio") == "6.31.0"
    assert header["python_version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert (TEMPLATE / header["app_file"]).is_file()
    assert header["title"] and header["emoji"] and header["pinned"] is False


def test_requirements_pin_what_the_tests_run_and_leave_gradio_to_the_sdk_version():
    lines = (TEMPLATE / "requirements.txt").read_text().splitlines()
    requirements = [Requirement(line) for line in lines if line and not line.startswith("#")]
    names = {r.name.lower().replace("_", "-") for r in requirements}
    assert "gradio" not in names
    for requirement in requirements:
        (pin,) = requirement.specifier
        assert pin.operator == "==", requirement
        installed = LOCAL_DISTRIBUTION.get(requirement.name, requirement.name)
        assert importlib.metadata.version(installed) == pin.version, requirement


def test_app_imports_only_what_the_space_installs():
    declared = {
        Requirement(line).name.lower().replace("_", "-")
        for line in (TEMPLATE / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    } | {"gradio"}
    local_modules = {p.stem for p in TEMPLATE.glob("*.py")}
    for source in TEMPLATE.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top in sys.stdlib_module_names or top in local_modules or top == "__future__":
                    continue
                assert top in SPACE_DISTRIBUTIONS, f"{source.name} imports {top}"
                dist = SPACE_DISTRIBUTIONS[top].replace("_", "-")
                assert dist in declared, f"{source.name} imports {top}, not in requirements"


def test_app_uses_the_current_gradio_api():
    source = (TEMPLATE / "app.py").read_text()
    assert "gr.inputs" not in source and "gr.outputs" not in source


@pytest.fixture(scope="module")
def published():
    """The template as tfx_hf_pusher renders it for a Space."""
    values = {
        "repo_id": "alice/pet-segmentation",
        "revision": "0123456789abcdef0123456789abcdef01234567",
        "repo_url": "https://huggingface.co/alice/pet-segmentation",
    }
    replacements = {DEFAULT_PLACEHOLDERS[field]: value for field, value in values.items()}
    return values, render_template(load_template(str(TEMPLATE)), replacements)


def test_hf_pusher_fills_in_every_placeholder(published):
    values, files = published
    for name in ("app.py", "README.md"):
        text = files[name].decode()
        assert "%%" not in text, name
    constants = app_constants(files["app.py"].decode())
    source = logic.resolve_model_source(constants["MODEL_REPO_ID"], constants["MODEL_REVISION"], {})
    assert (source.repo_id, source.revision) == (values["repo_id"], values["revision"])
    header = front_matter(files["README.md"].decode())
    assert header["models"] == [values["repo_id"]]
    assert values["repo_url"] in files["README.md"].decode()
    for name, content in files.items():  # binaries (the example JPEGs) are untouched
        if name.startswith("examples/"):
            assert content == (TEMPLATE / name).read_bytes()


def test_unpublished_template_refuses_to_start_without_a_model():
    constants = app_constants((TEMPLATE / "app.py").read_text())
    assert logic.is_placeholder(constants["MODEL_REPO_ID"])
    with pytest.raises(logic.ConfigurationError, match="set MODEL_REPO_ID"):
        logic.resolve_model_source(constants["MODEL_REPO_ID"], constants["MODEL_REVISION"], {})


def test_fallback_palette_is_the_record_format_palette():
    """palette.json is the Space's copy of the one palette (the app cannot import data_prep):
    the classes, colours and void label of the default dataset's labels.json, whose colours
    are record_format.CLASS_COLORS."""
    from segmentation_data_prep import record_format
    from segmentation_data_prep.presets import DEFAULT_PRESET, PRESETS

    labels = PRESETS[DEFAULT_PRESET].labels_json()
    palette = json.loads((TEMPLATE / logic.PALETTE_FILE).read_text(encoding="utf-8"))
    assert palette["classes"] == labels["classes"]
    assert palette["void_label"] == labels["void_label"]
    assert [c["name"] for c in palette["classes"]] == list(record_format.CLASS_NAMES)
    assert [
        tuple(int(c["color"][i : i + 2], 16) for i in (1, 3, 5)) for c in palette["classes"]
    ] == [tuple(color) for color in record_format.CLASS_COLORS]
