"""Environment hygiene: a test's subprocesses get a deliberate environment."""

from __future__ import annotations

import os

# Set by distributed launchers; a stray one inherited from the test process would make the CLI's trainer wait
# for a process group. Pass them in ``extra`` to set them on purpose.
LAUNCHER_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def clean_env(**extra: str) -> dict:
    """os.environ without launcher variables, plus ``extra``."""
    return {**{k: v for k, v in os.environ.items() if k not in LAUNCHER_ENV}, **extra}
