"""The command lines answer a bad flag quickly (before TensorFlow/TFX load) and quietly."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

import pytest

COMMANDS = {
    "demo": ["-m", "segmentation_pipeline.demo"],
    "vertex": ["-m", "segmentation_pipeline.vertex", "compile"],
    "local_runner": ["-m", "segmentation_pipeline.local_runner"],
    "monitor": ["-m", "segmentation_pipeline.monitor"],
    "vertex_monitor": ["-m", "segmentation_pipeline.vertex_monitor", "compile"],
}
# Imports that take seconds: none of them may load before the arguments are checked.
HEAVY_MODULES = ("tensorflow", "tfx", "apache_beam", "tensorflow_model_analysis")
SHOW_HEAVY_IMPORTS = (
    "import runpy, sys, atexit\n"
    "atexit.register(lambda: print('HEAVY', sorted(m for m in sys.modules "
    f"if m.split('.')[0] in {HEAVY_MODULES!r}), file=sys.stderr))\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n"
)


def run_cli(argv: list[str]) -> tuple[subprocess.CompletedProcess, float, float]:
    """(result, wall seconds, CPU seconds of the child: user + system)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGPIPE_")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, env=env, timeout=120
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return result, wall, cpu


@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        (["--train-steps", "0"], "train_steps (env SEGPIPE_TRAIN_STEPS, flag --train-steps)"),
        (["--learning-rate", "inf"], "learning_rate (env SEGPIPE_LEARNING_RATE"),
        (["--model-architecture", "pspnet"], "choose one of: unet_mobilenetv2, deeplabv3plus"),
    ],
)
def test_a_bad_flag_answers_in_under_two_seconds_of_cpu(name, flags, message):
    argv = COMMANDS[name] + flags
    if name.startswith("vertex"):  # valid Vertex settings, so only the bad flag is wrong
        argv += ["--project", "p", "--bucket", "b", "--image-uri", "img"]
        argv += ["--hf-model-repo-id", "someone/model"]
    result, wall, cpu = run_cli(argv)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr
    # The work is bounded by CPU seconds, which neighbours on a shared machine do not inflate;
    # the wall bound only catches a hang or a wait. TensorFlow's import alone costs ~15 s CPU.
    assert cpu < 2.0, f"{name} used {cpu:.1f} s CPU to reject {flags}"
    assert wall < 10.0, f"{name} took {wall:.1f} s to reject {flags}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_arguments_are_checked_before_tensorflow_is_imported(name):
    module = COMMANDS[name][1]
    argv = ["-c", SHOW_HEAVY_IMPORTS, module, *COMMANDS[name][2:], "--train-steps", "0"]
    result, _, _ = run_cli(argv)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "HEAVY []" in result.stderr, result.stderr[-2000:]


NOISE = ("FutureWarning", "Unable to register cu", "cpu_feature_guard", "TF-TRT Warning")


@pytest.mark.slow
def test_compile_prints_no_library_noise_by_default_and_all_of_it_with_verbose(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SEGPIPE_") and k not in ("PYTHONWARNINGS", "TF_CPP_MIN_LOG_LEVEL")
    }
    outputs = {}
    for extra in ([], ["--verbose"]):
        result = subprocess.run(
            [
                sys.executable,
                *COMMANDS["vertex"],
                *("--project", "p", "--bucket", "b", "--image-uri", "img"),
                *("--dataset-spec", "oxford-pet"),
                *("--output", str(tmp_path / "p.json"), *extra),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        outputs[bool(extra)] = result.stderr
    assert [noise for noise in NOISE if noise in outputs[False]] == [], outputs[False][-3000:]
    assert "FutureWarning" in outputs[True] and "Unable to register cu" in outputs[True]
