"""Pure rules of critic evaluation during training: when to evaluate, how records are split across processes, how
the tracked metric is read and compared, and what a resumed run's history says (``eval_during_training``).

Metric names. An evaluation at step S logs ``eval_<benchmark>/<metric>`` and ``eval_average/<metric>`` through the
trainer's callbacks (wandb and TensorBoard show them as ``eval/<benchmark>/<metric>``, transformers' convention for
``eval_`` keys) with ``time/eval`` (its seconds), and lands in ``state.log_history`` with ``step`` = S, so a
checkpoint holds the evaluation history up to its step and a resumed run rebuilds it from there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

PREFIX = "eval_"
TIME_KEY = "time/eval"  # seconds an evaluation took; logged with it, and marks its log entry
LOGGED = ("f1", "acc_error", "acc_correct", "parse_rate", "strict_f1", "truncation_rate", "mean_tokens", "mean_chars")


def is_eval_step(step: int, max_steps: int, every: int, at_start: bool, at_end: bool) -> bool:
    """Whether step ``step`` is evaluated: 0 (before the first step) with ``at_start``, multiples of ``every``
    (``every`` > 0), and ``max_steps`` (after the last step) with ``at_end``."""
    if step == 0:
        return at_start
    if at_end and step == max_steps:
        return True
    return every > 0 and step % every == 0


def shard(items: Sequence[T], batch_size: int, index: int, count: int) -> list[list[T]]:
    """The batches of ``items`` (``batch_size`` each, in order) that shard ``index`` of ``count`` takes: batch b goes
    to shard b mod count. Every batch is the one a single process would make, so the generated texts do not depend
    on the number of processes (batch composition can change a padded model's numerics)."""
    batches = [list(items[i : i + batch_size]) for i in range(0, len(items), batch_size)]
    return batches[index::count]


def log_entries(per_benchmark: Mapping[str, Mapping[str, Any]], average: Mapping[str, Any]) -> dict[str, float]:
    """The values an evaluation logs: ``eval_<benchmark>/<metric>`` and ``eval_average/<metric>`` (None left out)."""
    out: dict[str, float] = {}
    for name, metrics in [*per_benchmark.items(), ("average", average)]:
        for key in LOGGED:
            value = metrics.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[f"{PREFIX}{name}/{key}"] = float(value)
    return out


def metric_key(metric: str) -> str:
    """The logged key of a tracked metric (``average/f1`` -> ``eval_average/f1``)."""
    return PREFIX + metric


def improved(value: float | None, best: float | None, greater_is_better: bool = True) -> bool:
    """Whether ``value`` beats ``best`` (a None value never does; anything beats a None best)."""
    if value is None:
        return False
    if best is None:
        return True
    return value > best if greater_is_better else value < best


def history(log_history: Sequence[Mapping[str, Any]], metric: str) -> list[tuple[int, float | None]]:
    """(step, tracked value) of every evaluation in a trainer's log history, in order, one per step (the last wins:
    a step evaluated again after a resume)."""
    key = metric_key(metric)
    points: dict[int, float | None] = {}
    for entry in log_history:
        if any(k.startswith(PREFIX) for k in entry) and "step" in entry and TIME_KEY in entry:
            points[int(entry["step"])] = entry.get(key)
    return sorted(points.items())


def best_of(
    points: Sequence[tuple[int, float | None]], greater_is_better: bool = True
) -> tuple[int | None, float | None]:
    """(step, value) of the best evaluation (the earliest among equals); (None, None) when none has a value."""
    best: tuple[int | None, float | None] = (None, None)
    for step, value in points:
        if improved(value, best[1], greater_is_better):
            best = (step, value)
    return best


def evaluations_since_best(points: Sequence[tuple[int, float | None]], greater_is_better: bool = True) -> int:
    """How many evaluations came after the best one (all of them when none has a value): early stopping's count."""
    step, _ = best_of(points, greater_is_better)
    return len(points) if step is None else sum(s > step for s, _ in points)


def stale_steps(stored: Sequence[int], resumed_at: int) -> list[int]:
    """Stored evaluation steps a run resumed from step ``resumed_at`` must drop: later ones belong to the
    interrupted trajectory, which the resumed run replaces."""
    return sorted(s for s in stored if s > resumed_at)


def curves(
    log_history: Sequence[Mapping[str, Any]], benchmarks: Sequence[str], metric: str = "f1"
) -> dict[str, dict[int, float]]:
    """Per benchmark, ``metric`` at every evaluated step (from the log history)."""
    out: dict[str, dict[int, float]] = {name: {} for name in benchmarks}
    for entry in log_history:
        if TIME_KEY not in entry or "step" not in entry:
            continue
        for name in benchmarks:
            value = entry.get(f"{PREFIX}{name}/{metric}")
            if value is not None:
                out[name][int(entry["step"])] = float(value)
    return out
