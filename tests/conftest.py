"""Fixtures shared by every test, the markers set by directory, the run order, and the environment check.

Fixtures (the non-fixture helpers behind them are in tests/helpers/, imported as ``tests.helpers.<module>``):

- ``repo_root``: the repository root (session).
- ``shared_data``: ../shared/data, the real public records beside the repository (session).
- ``compose``: ``compose(recipe, overrides=())`` -> ``conf/<recipe>.yaml`` composed through Hydra as the
  validated dataclass (``tests.helpers.configs.compose``; modules may import that function instead).
- ``free_port``: a TCP port free on 127.0.0.1.
- ``tiny_qwen2``: THE saved tiny model (session): a random Qwen2 + byte-level BPE tokenizer with a Qwen chat
  template, built once by ``deepcritic.modeling.synthetic_tiny_model``. Every test that needs a saved model uses it.
- ``answering_critic``: the tiny model fine-tuned to end with a random verdict (session; GRPO / filter tests).

Markers: every test gets ``unit``, ``integration`` or ``gpu`` from its directory (tests/unit, ...); pytest
runs the unit tests first, then the integration tests, then the GPU tests, which are skipped without CUDA.
No test may leave os.environ changed (use ``monkeypatch``): a test that does fails, naming the variables.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import configs, net
from tests.helpers.env import environ_diff
from tests.helpers.paths import REPO, SHARED_DATA, TESTS

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


# Not a test's doing: pytest sets the first for every phase of every test; torch and trl set the others once,
# as process-wide defaults, when a test first imports them.
_NOT_CHECKED = {"PYTEST_CURRENT_TEST", "TORCHINDUCTOR_CACHE_DIR", "VLLM_LOGGING_LEVEL"}


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _NOT_CHECKED}


@pytest.fixture(autouse=True)
def _environment_is_restored():
    """Fail a test that leaves os.environ changed (and restore it, so that later tests do not see the change)."""
    before = _environ()
    yield
    after = _environ()
    if after != before:
        for name in set(after) - set(before):
            del os.environ[name]
        os.environ.update(before)
        pytest.fail(f"the test left os.environ changed (use monkeypatch): {environ_diff(before, after)}")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: real public records (never copied into the repo)."""
    assert SHARED_DATA.is_dir(), f"reference data not found at {SHARED_DATA} (tests expect ../shared beside the repo)"
    return SHARED_DATA


@pytest.fixture(scope="session")
def compose():
    """``compose(recipe, overrides=())``: the composed, validated dataclass of conf/<recipe>.yaml."""
    return configs.compose


@pytest.fixture
def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    return net.free_port()


@pytest.fixture(scope="session")
def tiny_qwen2(tmp_path_factory) -> Path:
    """A tiny random Qwen2 + byte-level BPE tokenizer with a Qwen chat template, saved once per session.

    Built by ``deepcritic.modeling.synthetic_tiny_model`` (the ``model=tiny`` config group, default sizes) on
    the synthetic task's critic chats: hidden 128, 2 layers, 2 heads of size 64 (vLLM's CPU attention needs
    >= 64), 1 KV head. Load it with ``from_pretrained(path)`` or pass
    ``model.name_or_path=<path> model.from_scratch=false``.
    """
    from deepcritic.config import TinyModelConfig
    from deepcritic.modeling import synthetic_tiny_model

    return synthetic_tiny_model(TinyModelConfig(), tmp_path_factory.mktemp("tiny_qwen2") / "model", task_seed=123)


@pytest.fixture(scope="session")
def answering_critic(tiny_qwen2, tmp_path_factory) -> Path:
    """``tiny_qwen2`` fine-tuned (once per session) to end every critique with a random verdict, so that GRPO
    groups have reward variance (tests/helpers/grpo_support.py)."""
    from tests.helpers.grpo_support import answerer

    return answerer(tiny_qwen2, tmp_path_factory.mktemp("answerer"))
