"""The built-in arithmetic-critique task: seeded chains of arithmetic steps, some with one wrong result.

A problem reads "Start with 7. Add 5, then multiply by 3, then subtract 4. What is the result?" and its
steps are "7 + 5 = 12", "12 * 3 = 36", "36 - 4 = 32". With probability ``error_rate`` one step, at a
uniformly drawn position, states a wrong result (off by 1..``max_error_delta``, never the right value,
not negative when the right value is not). Later steps compute correctly *from the wrong value*, as a
solver carrying its mistake would, so exactly one step is locally wrong and the label (its index) is
unambiguous. ``answer`` is the true final result. ``meta["critique"]`` is the gold step-by-step critique
(one recomputation per step up to the first wrong one, rendered by the critique protocol), so the task
can train and test a critic without any teacher model or download.

Determinism: record i draws from its own generator seeded by ``"<seed>-<i>"``, so the same config gives
identical records, and changing ``num_records`` does not change the records both runs share.
Subtraction operands keep the true running value at 1 or more and the shown one at 0 or more (where
the value is 1, a subtraction becomes an addition), so no number in a record is negative.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from deepcritic.config import SyntheticConfig
from deepcritic.data.records import NO_ERROR, StepRecord
from deepcritic.errors import ConfigError, Problem

SOURCE = "synthetic/arith"
OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
VERBS = {"+": "add {b}", "-": "subtract {b}", "*": "multiply by {b}"}


@dataclass(frozen=True)
class Step:
    """One shown step ``left op operand = stated``; ``right`` is what ``left op operand`` really is."""

    left: int
    op: str
    operand: int
    stated: int

    @property
    def right(self) -> int:
        return OPS[self.op](self.left, self.operand)

    @property
    def expression(self) -> str:
        return f"{self.left} {self.op} {self.operand}"

    @property
    def text(self) -> str:
        return f"{self.expression} = {self.stated}"


def generate_synthetic(cfg: SyntheticConfig) -> list[StepRecord]:
    """``cfg.num_records`` seeded arithmetic records (see the module docstring)."""
    _check(cfg)
    return [_record(cfg, i) for i in range(cfg.num_records)]


def step_critique(step: Step) -> str:
    """A short deterministic check of one step: recompute it and compare with what it states."""
    verdict = "which matches." if step.stated == step.right else f"which does not match {step.right}."
    return f"Recompute {step.expression}: {step.expression} = {step.right}. The step states {step.stated}, {verdict}"


def terse_step_critique(step: Step) -> str:
    """The check of one step in a few tokens (``critique: terse``), for tiny models: the recomputation,
    then the claim, e.g. ``5 + 2 is 7; 5 + 2 = 8``. The recomputed value comes first, where no copy of the
    claim can stand in for it, and the claim is then repeated token for token, so that the judgment
    compares two values a few tokens apart."""
    return f"{step.expression} is {step.right}; {step.text}"


def counting_step_critique(step: Step) -> str:
    """The check of one step as a count (``critique: count``), for tiny models: the claim, repeated, then
    the result reached one unit at a time, each unit written with how many are left, e.g.
    ``9 - 3 = 7? 8/2 7/1 6/0`` (the count ends at 6, not 7: wrong). Every token of the count follows from
    the one before it (one up or down), so the arithmetic is learnt from every step, not only from the
    wrong ones, and the count comes after the claim, so no copy of the claim can stand in for it. Only
    + and - can be counted; * is written tersely."""
    if step.op not in "+-":
        return terse_step_critique(step)
    sign = 1 if step.op == "+" else -1
    units = " ".join(f"{step.left + sign * i}/{step.operand - i}" for i in range(1, step.operand + 1))
    return f"{step.text}? {units}"


def compared_count_critique(step: Step) -> str:
    """``critique: count_compare``: the counting check, then the value reached next to the value claimed,
    e.g. ``9 - 3 = 7? 8/2 7/1 6/0 6 vs 7``, so that the judgment after it compares two adjacent numbers
    instead of the end of the count with a claim several tokens back."""
    return f"{counting_step_critique(step)} {step.right} vs {step.stated}"


CRITIQUE_STYLES = {
    "full": step_critique,
    "terse": terse_step_critique,
    "count": counting_step_critique,
    "count_compare": compared_count_critique,
}


def _record(cfg: SyntheticConfig, i: int) -> StepRecord:
    """Record ``i``: draw the chain, maybe inject one error, render problem, steps and critique."""
    from deepcritic.critique import render_critique  # lazy: the critique package is optional at import time

    rng = random.Random(f"{cfg.seed}-{i}")
    start = rng.randint(1, cfg.max_operand if cfg.max_value is None else min(cfg.max_operand, cfg.max_value))
    n = rng.randint(cfg.min_steps, cfg.max_steps)
    wrong_at = rng.randrange(n) if rng.random() < cfg.error_rate else NO_ERROR
    steps, moves, result = _chain(rng, cfg, start, n, wrong_at)
    critiques = [CRITIQUE_STYLES[cfg.critique](s) for s in steps]
    return StepRecord(
        id=f"synthetic-{cfg.seed}-{i}",
        source=SOURCE,
        problem=_problem_text(start, moves),
        steps=[s.text for s in steps],
        label=wrong_at,
        answer=str(result),
        meta={"critique": render_critique(critiques, wrong_at), "step_critiques": critiques},
    )


def _chain(
    rng: random.Random, cfg: SyntheticConfig, start: int, n: int, wrong_at: int
) -> tuple[list[Step], list[tuple[str, int]], int]:
    """The shown steps, the (op, operand) moves and the true result; step ``wrong_at`` states a wrong result.

    Both the shown running value and the true one are tracked, so that a subtraction keeps both >= 0.
    """
    steps: list[Step] = []
    moves: list[tuple[str, int]] = []
    shown = true = start
    for k in range(n):
        op, operand = _move(rng, cfg, min(shown, true), max(shown, true))
        right = OPS[op](shown, operand)
        stated = _wrong(rng, right, cfg.max_error_delta) if k == wrong_at else right
        steps.append(Step(shown, op, operand, stated))
        moves.append((op, operand))
        shown, true = stated, OPS[op](true, operand)
    return steps, moves, true


def _move(rng: random.Random, cfg: SyntheticConfig, low: int, high: int) -> tuple[str, int]:
    """Draw an operation and its operand (1..max_operand); a subtraction never takes ``low`` below 1
    (at ``low <= 1`` it becomes an addition). With ``max_value``, an addition or multiplication never
    takes ``high`` above it (the operand is capped; where even 1 would, it becomes a subtraction)."""
    op = rng.choice(cfg.ops)
    if op != "-" and cfg.max_value is not None:
        room = cfg.max_value - high if op == "+" else cfg.max_value // max(high, 1)
        if room < 1 and low > 1:
            op = "-"
        else:
            return op, rng.randint(1, max(1, min(cfg.max_operand, room)))
    if op == "-":
        if low <= 1:
            return "+", rng.randint(1, _capped(cfg, cfg.max_operand, high))
        return op, rng.randint(1, min(cfg.max_operand, low - 1))
    return op, rng.randint(1, cfg.max_operand)


def _capped(cfg: SyntheticConfig, operand: int, high: int) -> int:
    """The largest addend that keeps ``high`` within ``max_value`` (at least 1); ``operand`` without one."""
    return operand if cfg.max_value is None else max(1, min(operand, cfg.max_value - high))


def _wrong(rng: random.Random, right: int, max_delta: int) -> int:
    """A value 1..max_delta away from ``right`` (which is >= 1 here), never negative."""
    delta = rng.randint(1, max_delta)
    if rng.random() < 0.5 and right - delta >= 0:
        return right - delta
    return right + delta


def _problem_text(start: int, moves: list[tuple[str, int]]) -> str:
    """The problem statement, e.g. 'Start with 7. Add 5, then multiply by 3. What is the result?'."""
    phrases = [VERBS[op].format(b=b) for op, b in moves]
    chain = ", then ".join(phrases)
    return f"Start with {start}. {chain[0].upper()}{chain[1:]}. What is the result?"


def _check(cfg: SyntheticConfig) -> None:
    """Reject settings that cannot produce a record (the config validator reports the same, all at once)."""
    problems = []
    if not cfg.ops or any(op not in OPS for op in cfg.ops):
        problems.append(Problem("data.synthetic.ops", list(cfg.ops), f"a non-empty subset of {list(OPS)}"))
    if not 1 <= cfg.min_steps <= cfg.max_steps:
        problems.append(Problem("data.synthetic.min_steps", cfg.min_steps, "1 <= min_steps <= max_steps"))
    if cfg.max_operand < 1 or cfg.max_error_delta < 1:
        problems.append(
            Problem("data.synthetic.max_operand", cfg.max_operand, "max_operand and max_error_delta must be >= 1")
        )
    if cfg.max_value is not None and cfg.max_value < 2:
        problems.append(Problem("data.synthetic.max_value", cfg.max_value, "null (no bound) or at least 2"))
    if cfg.critique not in CRITIQUE_STYLES:
        problems.append(Problem("data.synthetic.critique", cfg.critique, f"one of {list(CRITIQUE_STYLES)}"))
    if problems:
        raise ConfigError(problems)
