r"""The GRPO reward: 1.0 when the critic's final judgment equals the label, else 0.0.

Every rule is a small pure function; :func:`score_completion` applies them in order and
:func:`judgment_reward` is the TRL reward-function entry point. The rules, in order:

1. **Truncated** (the completion hit the token limit without an end-of-sequence token): 0.0. A critique
   cut short has not finished its judgment, even if a final answer line happens to be in it.
2. **No verdict** (no final answer line, or a box that is not a usable step number, including one
   past the last step): 0.0. The verdict is never guessed from per-step boxes.
3. **Format gate** (``strict_format``, on by default): the final answer line must appear exactly once
   and be the last non-empty line. Several answer lines, an answer line followed by more text, or one
   inside a code block (the closing fence follows it) score 0.0, so a critic cannot hedge with two
   verdicts or bury one mid-text.
4. **Step consistency** (``require_step_consistency``, off by default): the per-step boxes must agree
   with the verdict: all ``\boxed{1}`` up to the named step, which is ``\boxed{-1}``, and nothing after
   it; for "no wrong step", one ``\boxed{1}`` per step and no ``\boxed{-1}``.
5. **Match**: 1.0 when the verdict equals the label (0-based index, -1 = no wrong step), else 0.0.
6. **Length penalty** (``length_penalty``, 0 by default): a correct judgment loses
   ``length_penalty * (tokens - length_penalty_start) / length_penalty_start`` once it is longer than
   ``length_penalty_start`` tokens, never going below 0.0. With the default rules every reward is
   exactly 0.0 or 1.0.

The label comes from the dataset, never from the completion or the prompt: a solution text that tells
the critic what to answer changes nothing but what the critic writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from deepcritic.critique import FINAL_LINE_RE, ParsedCritique, parse_critique


@dataclass(frozen=True)
class RewardRules:
    """Switches for the reward rules above (config group ``reward``)."""

    strict_format: bool = True
    require_step_consistency: bool = False
    length_penalty: float = 0.0
    length_penalty_start: int = 4096  # tokens; ignored while length_penalty == 0


def completion_text(completion: Any) -> str:
    """The text of one completion: TRL passes a string, or (conversational) a list of messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(str(m.get("content") or "") for m in completion if isinstance(m, dict))
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    return ""


def normalize_label(label: Any) -> int:
    """A label as an int: ints, integer-valued floats and numeric strings are accepted (JSON, numpy, Arrow)."""
    if isinstance(label, bool):
        raise ValueError(f"label must be an integer step index or -1, got {label!r}")
    try:
        value = int(str(label).strip()) if isinstance(label, str) else int(label)
    except (TypeError, ValueError):
        raise ValueError(f"label must be an integer step index or -1, got {label!r}") from None
    if not isinstance(label, str) and value != label:
        raise ValueError(f"label must be an integer step index or -1, got {label!r}")
    if value < -1:
        raise ValueError(f"label must be >= -1 (-1 = no wrong step), got {label!r}")
    return value


def is_truncated(completion_ids: Sequence[int] | None, eos_token_ids: Sequence[int]) -> bool:
    """True when a completion ended without one of the end tokens (it hit max_completion_length)."""
    if not completion_ids:
        return False
    return int(completion_ids[-1]) not in {int(t) for t in eos_token_ids}


_NONEMPTY_LINE = re.compile(r"[^\r\n]*\S[^\r\n]*")


def format_ok(text: str) -> bool:
    """Exactly one final answer line, and it is the last non-empty line."""
    lines = [m.group(0) for m in _NONEMPTY_LINE.finditer(text)]
    answer_lines = [i for i, line in enumerate(lines) if FINAL_LINE_RE.fullmatch(line.rstrip("\r"))]
    return len(answer_lines) == 1 and answer_lines[0] == len(lines) - 1


def steps_consistent(parsed: ParsedCritique, num_steps: int | None = None) -> bool:
    """Per-step boxes agree with the verdict (see rule 4). Without a verdict nothing is consistent."""
    verdict, judged = parsed.first_error, parsed.step_judgments
    if verdict is None:
        return False
    if verdict == -1:
        return -1 not in judged and (num_steps is None or len(judged) == num_steps) and len(judged) > 0
    return judged == [1] * verdict + [-1]


def length_factor(num_tokens: int | None, rules: RewardRules) -> float:
    """Multiplier in [0, 1] for a correct judgment of ``num_tokens`` tokens (rule 6)."""
    if rules.length_penalty <= 0 or num_tokens is None or num_tokens <= rules.length_penalty_start:
        return 1.0
    excess = (num_tokens - rules.length_penalty_start) / rules.length_penalty_start
    return max(0.0, 1.0 - rules.length_penalty * excess)


def judged_verdict(
    text: str,
    *,
    num_steps: int | None = None,
    truncated: bool = False,
    rules: RewardRules = RewardRules(),
) -> int | None:
    """The verdict the reward compares with the label, or None when rules 1-4 reject the critique first.

    Training metrics (accuracy, F1) and ``deepcritic filter``'s pass rate use it, so that they count a
    judgment as right exactly when the reward does (the length penalty aside).
    """
    if truncated:
        return None
    parsed = parse_critique(text, num_steps=num_steps)
    if parsed.first_error is None:
        return None
    if rules.strict_format and not format_ok(text):
        return None
    if rules.require_step_consistency and not steps_consistent(parsed, num_steps):
        return None
    return parsed.first_error


def score_completion(
    text: str,
    label: int,
    *,
    num_steps: int | None = None,
    truncated: bool = False,
    num_tokens: int | None = None,
    rules: RewardRules = RewardRules(),
) -> float:
    """The reward of one completion under ``rules`` (module docstring, rules 1-6)."""
    verdict = judged_verdict(text, num_steps=num_steps, truncated=truncated, rules=rules)
    if verdict is None or verdict != label:
        return 0.0
    return length_factor(num_tokens, rules)


def judgment_reward(prompts: list, completions: list, label: list, **kwargs: Any) -> list[float]:
    """TRL reward function: one float per completion (module docstring for the rules).

    Optional keyword columns: ``num_steps`` (per-sample step counts, so a verdict past the last step
    is rejected), ``truncated`` (per-sample flags) and ``completion_ids`` (token ids, used for the
    length penalty); ``rules`` (a :class:`RewardRules`) overrides the defaults. Anything else TRL
    passes (trainer_state, log_metric, other dataset columns) is ignored.
    """
    rules = kwargs.get("rules") or RewardRules()
    n = len(completions)
    num_steps = kwargs.get("num_steps") or [None] * n
    truncated = kwargs.get("truncated") or [False] * n
    ids = kwargs.get("completion_ids") or [None] * n
    return [
        score_completion(
            completion_text(c),
            normalize_label(y),
            num_steps=None if k is None else int(k),
            truncated=bool(t),
            num_tokens=None if i is None else len(i),
            rules=rules,
        )
        for c, y, k, t, i in zip(completions, label, num_steps, truncated, ids)
    ]


def make_reward_function(rules: RewardRules, eos_token_ids: Sequence[int]) -> Callable[..., list[float]]:
    """The reward function handed to GRPOTrainer: detects truncation from ``completion_ids`` and applies ``rules``.

    Named ``judgment`` so TRL logs it as ``rewards/judgment/mean``.
    """

    def judgment(prompts: list, completions: list, label: list, **kwargs: Any) -> list[float]:
        ids = kwargs.get("completion_ids") or [None] * len(completions)
        kwargs["truncated"] = [is_truncated(i, eos_token_ids) for i in ids]
        kwargs["rules"] = rules
        return judgment_reward(prompts, completions, label, **kwargs)

    return judgment
