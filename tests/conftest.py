"""Shared fixtures: paths to the repo, its venv's console script, and the reference data beside it.

Markers: every test gets ``unit``, ``integration`` or ``gpu`` from its directory (tests/unit, ...); pytest
runs the unit tests first, then the integration tests, then the GPU tests, which are skipped without CUDA.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEEPCRITIC = Path(sys.executable).parent / "deepcritic"
TESTS = REPO / "tests"

KINDS = ("unit", "integration", "gpu")  # test directories = markers, in the order they run


def _kind(item: pytest.Item) -> str | None:
    """``unit`` / ``integration`` / ``gpu``: the directory under tests/ that holds the item's file."""
    try:
        parts = Path(str(item.path)).resolve().relative_to(TESTS).parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 and parts[0] in KINDS else None


def pytest_itemcollected(item: pytest.Item) -> None:
    kind = _kind(item)
    if kind is not None:
        item.add_marker(kind)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Unit tests first (the fast failure signal), then integration, then GPU; GPU tests skip without CUDA."""
    items.sort(key=lambda item: KINDS.index(_kind(item)) if _kind(item) else len(KINDS))  # stable
    gpu = [item for item in items if _kind(item) == "gpu"]
    if gpu:
        import torch

        if not torch.cuda.is_available():
            skip = pytest.mark.skip(reason="needs a CUDA GPU: torch.cuda.is_available() is False")
            for item in gpu:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: real public records (never copied into the repo)."""
    assert SHARED_DATA.is_dir(), f"reference data not found at {SHARED_DATA} (tests expect ../shared beside the repo)"
    return SHARED_DATA


# Set by distributed launchers; a stray one inherited from the test process (e.g. LOCAL_RANK left by a
# test) would make the CLI's trainer wait for a process group. Pass them in ``env`` to set them on purpose.
LAUNCHER_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def clean_env(**extra: str) -> dict:
    """os.environ without launcher variables, plus ``extra``."""
    return {**{k: v for k, v in os.environ.items() if k not in LAUNCHER_ENV}, **extra}


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the installed ``deepcritic`` console script; returns the completed process (never raises on rc)."""
    full_env = {**clean_env(), "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "0", **(env or {})}
    return subprocess.run([str(DEEPCRITIC), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def tiny_qwen2(tmp_path_factory) -> Path:
    """A tiny random Qwen2 + byte-level BPE tokenizer with a Qwen chat template, saved once per session.

    Built by ``deepcritic.modeling.build_tiny`` (the ``model=tiny`` config group) on the synthetic task's
    critic chats: hidden 128, 2 layers, 2 heads of size 64 (vLLM's CPU attention needs >= 64). Load it
    with ``from_pretrained(path)`` or pass ``model.name_or_path=<path> model.from_scratch=false``.
    """
    from deepcritic.chat_data import example_texts, record_example
    from deepcritic.config import SyntheticConfig, TinyModelConfig
    from deepcritic.data import generate_synthetic
    from deepcritic.modeling import build_tiny

    records = generate_synthetic(SyntheticConfig(num_records=64, seed=123))
    texts = list(example_texts([record_example(r) for r in records]))
    model, tokenizer = build_tiny(TinyModelConfig(), texts)
    path = tmp_path_factory.mktemp("tiny_qwen2")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
