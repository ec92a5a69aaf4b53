"""Environment hygiene: a test's subprocesses get a deliberate environment, and nothing a test sets leaks out."""

from __future__ import annotations

import os

import pytest

# Set by distributed launchers; a stray one inherited from the test process would make the CLI's trainer wait
# for a process group. Pass them in ``extra`` to set them on purpose.
LAUNCHER_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def clean_env(**extra: str) -> dict:
    """os.environ without launcher variables, plus ``extra``."""
    return {**{k: v for k, v in os.environ.items() if k not in LAUNCHER_ENV}, **extra}


def minimal_env(**extra: str) -> dict:
    """Only what a shell script needs to run (PATH, HOME, locale, TMPDIR), plus ``extra``: nothing exported in
    the caller's shell (NUM_GPUS, RDZV_ID, RUN_DIR, SLURM_*, ...) reaches the script unless passed here."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, **extra}


def unset(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Remove ``names`` from os.environ for the current test and restore each one afterwards, set or not.

    ``monkeypatch.delenv(name, raising=False)`` records nothing for a variable that is not set, so a value the
    code under test sets later would outlive the test; setting it first makes monkeypatch record its state.
    """
    for name in names:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def environ_diff(before: dict[str, str], after: dict[str, str]) -> dict[str, tuple[str | None, str | None]]:
    """{name: (before, after)} for every variable added, removed or changed."""
    return {k: (before.get(k), after.get(k)) for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}
