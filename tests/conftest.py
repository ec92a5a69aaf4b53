"""Shared fixtures: paths to the repo, its venv's console script, and the reference data beside it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEEPCRITIC = Path(sys.executable).parent / "deepcritic"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: real public records (never copied into the repo)."""
    assert SHARED_DATA.is_dir(), f"reference data not found at {SHARED_DATA} (tests expect ../shared beside the repo)"
    return SHARED_DATA


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the installed ``deepcritic`` console script; returns the completed process (never raises on rc)."""
    full_env = {**os.environ, "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "0", **(env or {})}
    return subprocess.run([str(DEEPCRITIC), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli
