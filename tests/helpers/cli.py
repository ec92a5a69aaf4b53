"""The installed ``deepcritic`` console script, run as a user runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers.env import clean_env
from tests.helpers.paths import ACCELERATE, DEEPCRITIC, REPO

# every recipe the CLI offers, in the order `deepcritic --help` lists them (written out here, not read from
# deepcritic.cli, so that the help and the dispatch table are checked against an independent list)
RECIPE_NAMES = [
    "demo",
    "convert",
    "sft",
    "cft",
    "grpo",
    "filter",
    "eval",
    "score",
    "report",
    "solve",
    "refine",
    "verify-vote",
    "synthesize",
    "label",
    "plan",
    "cft-data",
    "push",
]


def run_cli(
    *args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300
) -> subprocess.CompletedProcess:
    """Run the installed ``deepcritic`` console script; returns the completed process (never raises on rc)."""
    full_env = {**clean_env(), "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "0", **(env or {})}
    return subprocess.run(
        [str(DEEPCRITIC), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def help_recipes(text: str) -> list[str]:
    """The recipe names listed under ``recipes:`` in the CLI's help text, in order."""
    lines = text.splitlines()
    start = lines.index("recipes:") + 1
    names = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        names.append(line.split()[0])
    return names


def accelerate_cli(port: int, recipe: str, *overrides: str) -> list[str]:
    """``accelerate launch`` of ``deepcritic <recipe>`` on two CPU processes (gloo, launch/accelerate/cpu_2proc.yaml)
    with the main process on ``port``: the command line of the multi-process tests."""
    config = REPO / "launch" / "accelerate" / "cpu_2proc.yaml"
    return [
        str(ACCELERATE),
        "launch",
        "--config_file",
        str(config),
        "--main_process_port",
        str(port),
        "-m",
        "deepcritic.cli",
        recipe,
        *overrides,
    ]
