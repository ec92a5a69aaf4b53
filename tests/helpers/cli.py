"""The installed ``deepcritic`` console script, run as a user runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers.env import clean_env
from tests.helpers.paths import DEEPCRITIC


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the installed ``deepcritic`` console script; returns the completed process (never raises on rc)."""
    full_env = {**clean_env(), "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "0", **(env or {})}
    return subprocess.run([str(DEEPCRITIC), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
