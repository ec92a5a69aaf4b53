"""GRPO training rows from step-labeled records (pure functions, table-tested in tests/unit/test_grpo_data.py).

One row per record, the columns TRL's ``GRPOTrainer`` and the reward read::

    {"prompt": [{"role": "user", "content": <critic prompt>}],   # conversational: TRL applies the chat template
     "label": 2, "num_steps": 5, "id": "prm800k-17", "has_error": True}

``label`` (0-based first wrong step, -1 for none) and ``num_steps`` reach the reward function as keyword
columns; ``has_error`` splits the accuracy metrics; ``id`` names the record in the completions table.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deepcritic.critique import build_critic_messages
from deepcritic.data.records import StepRecord
from deepcritic.errors import DeepcriticError


def grpo_row(record: StepRecord, template: str | None = None) -> dict[str, Any]:
    """The training row of one record: its critic prompt (critique protocol) and the columns the reward needs."""
    return {
        "prompt": build_critic_messages(record.problem, record.steps, template),
        "label": int(record.label),
        "num_steps": len(record.steps),
        "id": str(record.id),
        "has_error": record.has_error,
    }


@dataclass(frozen=True)
class BalanceResult:
    """Records kept by :func:`balance_records` and the class counts before and after."""

    records: list[StepRecord]
    before: tuple[int, int]  # (with a wrong step, without)
    after: tuple[int, int]


def balance_records(records: Sequence[StepRecord], error_fraction: float, seed: int) -> BalanceResult:
    """Downsample one class so that ``error_fraction`` of the kept records have a wrong step.

    Keeps as many records as possible: the smaller side (relative to the target) is kept whole and the
    other is sampled (seeded) down to ``round(kept_small * ratio)``. The original order is preserved.
    Why: a critic trained on mostly-correct solutions learns to answer "no wrong step"; the reward then
    pays for a prior rather than for checking steps. Raises DeepcriticError when a class is empty.
    """
    if not 0.0 < error_fraction < 1.0:
        raise DeepcriticError(f"grpo.balance_error_fraction = {error_fraction}: use a fraction in (0, 1)")
    errors = [i for i, r in enumerate(records) if r.has_error]
    correct = [i for i, r in enumerate(records) if not r.has_error]
    before = (len(errors), len(correct))
    if not errors or not correct:
        raise DeepcriticError(
            f"cannot balance {before[0]} records with a wrong step against {before[1]} without: "
            "both classes are needed (set grpo.balance_error_fraction=null)"
        )
    want_correct = round(len(errors) * (1 - error_fraction) / error_fraction)
    if want_correct <= len(correct):
        keep_err, keep_ok = errors, _sample(correct, want_correct, seed)
    else:
        keep_err, keep_ok = _sample(errors, round(len(correct) * error_fraction / (1 - error_fraction)), seed), correct
    kept = sorted(keep_err + keep_ok)
    return BalanceResult([records[i] for i in kept], before, (len(keep_err), len(keep_ok)))


def _sample(indices: list[int], k: int, seed: int) -> list[int]:
    return sorted(random.Random(seed).sample(indices, max(1, min(k, len(indices)))))


def prompt_length(tokenizer: Any, prompt: list[dict[str, str]]) -> int:
    """Tokens of a conversational prompt as the trainer feeds it (chat template + generation prompt)."""
    ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True)
    ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
    return len(ids)


def prompt_limit(max_prompt_length: int | None, max_model_len: int | None, max_new_tokens: int) -> int | None:
    """The longest prompt GRPO keeps: ``grpo.max_prompt_length``, and never more than a colocated engine's
    ``max_model_len`` minus the completion budget (vLLM refuses a longer prompt mid-run, and cuts the completion
    of a prompt that leaves less room than ``sampling.max_new_tokens``); None: no limit."""
    room = None if max_model_len is None else max(0, max_model_len - max_new_tokens)
    limits = [n for n in (max_prompt_length, room) if n is not None]
    return min(limits) if limits else None


def split_by_length(lengths: Sequence[int], limit: int | None) -> tuple[list[int], list[int]]:
    """(indices to keep, indices over ``limit``); ``limit=None`` keeps everything."""
    if limit is None:
        return list(range(len(lengths))), []
    keep = [i for i, n in enumerate(lengths) if n <= limit]
    drop = [i for i, n in enumerate(lengths) if n > limit]
    return keep, drop
