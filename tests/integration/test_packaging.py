"""A wheel of deepcritic works outside the source tree: the configs ship inside the package (deepcritic.conf)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.paths import REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The wheel built from this checkout, installed without -e into a scratch target (no dependencies: the
    venv has them), and an environment that imports deepcritic from there."""
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp / "dist"),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next((tmp / "dist").glob("deepcritic-*.whl"))
    target = tmp / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    env = {**os.environ, "PYTHONPATH": str(target), "WANDB_MODE": "disabled", "HYDRA_FULL_ERROR": "0"}
    return target, env


def _run(installed, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    target, env = installed
    code = "import sys; from deepcritic.cli import main; sys.argv = ['deepcritic', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_wheel_holds_the_configs_and_templates(installed):
    target, _ = installed
    assert (target / "deepcritic" / "conf" / "sft.yaml").is_file()
    assert (target / "deepcritic" / "conf" / "rollout" / "colocate.yaml").is_file()
    assert (target / "deepcritic" / "conf" / "experiment" / "deepcritic_grpo_qwen2.5_7b.yaml").is_file()
    assert (target / "deepcritic" / "critique" / "templates" / "critic.txt").is_file()


def test_help_from_outside_the_source_tree(installed, tmp_path):
    proc = _run(installed, "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "usage: deepcritic <recipe>" in proc.stdout and "  grpo " in proc.stdout


def test_composes_from_the_installed_package(installed, tmp_path):
    target, env = installed
    where = subprocess.run(
        [sys.executable, "-c", "import deepcritic; print(deepcritic.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.stdout.strip() == str(target / "deepcritic" / "__init__.py")  # not the checkout
    proc = _run(installed, "convert", "--cfg", "job", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "source: synthetic" in proc.stdout and "num_records: 512" in proc.stdout
    proc = _run(installed, "grpo", "experiment=deepcritic_grpo_qwen2.5_7b", "--cfg", "job", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "max_prompt_length: 4096" in proc.stdout


def test_wheel_lists_no_source_tree_paths(installed):
    target, _ = installed
    dist = next(target.glob("deepcritic-*.dist-info"))
    record = (dist / "RECORD").read_text()
    assert "deepcritic/conf/sft.yaml" in record and "conf/sft.yaml" not in record.replace("deepcritic/conf/", "")
