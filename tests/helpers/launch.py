"""The launch/ scripts run with DRY_RUN=1 (each prints the exact command it would run, and runs nothing)."""

from __future__ import annotations

import subprocess

from tests.helpers.env import minimal_env
from tests.helpers.paths import LAUNCH

ACCELERATE_CONFIGS = LAUNCH / "accelerate"


def dry_run(script: str, env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess:
    """``bash launch/<script> <args>`` with DRY_RUN=1 in an explicitly built environment: only PATH, HOME,
    locale and ``env``, so that launcher variables exported in the caller's shell (NUM_GPUS, MASTER_ADDR,
    RDZV_ID, RUN_DIR, SLURM_*, ...) cannot change the command a test expects."""
    return subprocess.run(
        ["bash", str(LAUNCH / script), *args],
        env=minimal_env(**env, DRY_RUN="1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
