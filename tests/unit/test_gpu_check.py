"""launch/gpu_check.sh without a GPU: the dry run says what it needs, has and would run, and runs nothing; without
the packages and without wheels it refuses before running anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.env import minimal_env
from tests.helpers.paths import LAUNCH

SCRIPT = LAUNCH / "gpu_check.sh"


def _run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT)], env=minimal_env(**env), capture_output=True, text=True, timeout=120)


def _bare_python(tmp: Path) -> str:
    """This interpreter without its site-packages (``-S``): none of deepcritic's dependencies import."""
    wrapper = tmp / "bare-python"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def test_dry_run_with_everything_installed_says_what_it_would_run(tmp_path):
    proc = _run(
        {"GPU_CHECK_DRY_RUN": "1", "PYTHON": sys.executable, "OUT": str(tmp_path / "out"), "ARCH": "qwen2.5-0.5b"}
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "[gpu check] missing packages: none" in lines
    assert "[gpu check] CUDA available: False" in lines
    assert any(line.startswith("+ SCALE_ARCH=qwen2.5-0.5b") and "tests/gpu/test_scale.py" in line for line in lines)
    assert lines[-1] == "[gpu check] dry run: nothing was installed or run"
    assert not (tmp_path / "out").exists()


def test_dry_run_names_the_missing_packages_and_the_install_from_wheels(tmp_path):
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    wheels.mkdir()
    (wheels / "trl-1.16.0-py3-none-any.whl").write_bytes(b"")
    env = {"GPU_CHECK_DRY_RUN": "1", "PYTHON": _bare_python(tmp_path), "WHEELS": str(wheels), "SITE": str(site)}
    proc = _run(env)
    assert proc.returncode == 0, proc.stderr
    missing = next(line for line in proc.stdout.splitlines() if line.startswith("[gpu check] missing packages:"))
    assert {"torch", "trl", "hydra", "math_verify", "datasets"} <= set(missing.split(":", 1)[1].split())
    assert f"[gpu check] wheels in {wheels}: trl-1.16.0-py3-none-any.whl" in proc.stdout
    assert "--no-index --no-deps" in proc.stdout and f"--target {site}" in proc.stdout
    assert not site.exists()  # a dry run installs nothing


def test_missing_packages_without_wheels_stop_before_anything_runs(tmp_path):
    proc = _run({"PYTHON": _bare_python(tmp_path), "WHEELS": str(tmp_path / "none"), "OUT": str(tmp_path / "out")})
    assert proc.returncode == 2
    assert "prepare them where PyPI is reachable (bash launch/gpu_wheels.sh)" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_without_a_gpu_it_fails_after_checking_the_dependencies(tmp_path):
    proc = _run({"PYTHON": sys.executable, "OUT": str(tmp_path / "out")})
    assert proc.returncode == 1
    assert "[gpu check] versions: torch" in proc.stdout and "trl 1.16" in proc.stdout
    assert "[gpu check] FAIL: no CUDA GPU visible to torch" in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing ran
