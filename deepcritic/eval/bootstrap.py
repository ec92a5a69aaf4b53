"""Paired bootstrap confidence interval of an F1 difference between two critics on the same records.

Both critics judged the same records (e.g. one critic before and after a training stage). The record
indices are resampled with replacement; on each resample the ProcessBench F1 (:func:`critic_f1`) of
both critics is recomputed on the SAME resampled records and their difference kept. The interval is
the (alpha/2, 1 - alpha/2) percentiles of those differences (the percentile method; linear
interpolation between order statistics, numpy's default). Pairing matters: the two critics' errors
on a record are correlated, and resampling them together is what makes the interval narrow enough to
be useful at a few hundred records.

A resample that draws no record of one class has no F1 (see :mod:`deepcritic.eval.metrics`); it is
left out and counted in ``skipped`` (with a few hundred records of each class this does not happen).
Everything is a pure function of its inputs and the seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepcritic.eval.metrics import NO_ERROR, critic_f1


@dataclass(frozen=True)
class PairedBootstrap:
    """F1(after) - F1(before) on all records, and its bootstrap percentile interval."""

    delta: float
    low: float
    high: float
    level: float  # e.g. 0.95
    resamples: int  # resamples that had both classes (the interval is over these)
    skipped: int  # resamples left out because one class was absent

    def as_dict(self) -> dict:
        return {
            "delta": self.delta,
            "ci": [self.low, self.high],
            "level": self.level,
            "resamples": self.resamples,
            "skipped": self.skipped,
        }


def percentile_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` interval of ``values``: their (1-level)/2 and (1+level)/2 quantiles
    (linear interpolation between order statistics). Raises ValueError on an empty sequence."""
    if len(values) == 0:
        raise ValueError("no values to take percentiles of")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    lo, hi = np.quantile(np.asarray(values, dtype=float), [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _f1_columns(hit_err: np.ndarray, n_err: np.ndarray, hit_ok: np.ndarray, n_ok: np.ndarray) -> np.ndarray:
    """F1 per resample from class counts (NaN where a class is absent); 0 when both accuracies are 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        acc_err = hit_err / n_err
        acc_ok = hit_ok / n_ok
        total = acc_err + acc_ok
        f1 = np.where(total > 0, 2 * acc_err * acc_ok / np.where(total > 0, total, 1.0), 0.0)
    return np.where((n_err > 0) & (n_ok > 0), f1, np.nan)


def paired_bootstrap_f1(
    labels: Sequence[int],
    before: Sequence[int | None],
    after: Sequence[int | None],
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> PairedBootstrap:
    """Paired bootstrap of F1(after) - F1(before) over records (see the module docstring).

    ``labels``: gold 0-based first wrong step or -1; ``before`` / ``after``: each critic's verdict per
    record (None = unparseable, always wrong). Raises ValueError when the lengths differ, when there are
    no records, or when the full sample lacks a class (F1 undefined).
    """
    if not (len(labels) == len(before) == len(after)):
        raise ValueError(f"lengths differ: {len(labels)} labels, {len(before)} before, {len(after)} after")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    f1_before, f1_after = critic_f1(before, labels)["f1"], critic_f1(after, labels)["f1"]
    if f1_before is None or f1_after is None:
        raise ValueError("F1 needs records with and without a wrong step")
    y = np.asarray(labels, dtype=int)
    is_err = y != NO_ERROR
    hits = [np.asarray([p is not None and p == t for p, t in zip(preds, labels)]) for preds in (before, after)]

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(resamples, len(y)))
    err = is_err[idx]
    n_err, n_ok = err.sum(axis=1), (~err).sum(axis=1)
    f1s = [_f1_columns((h[idx] & err).sum(axis=1), n_err, (h[idx] & ~err).sum(axis=1), n_ok) for h in hits]
    diffs = f1s[1] - f1s[0]
    kept = diffs[~np.isnan(diffs)]
    low, high = percentile_interval(kept, level) if len(kept) else (float("nan"), float("nan"))
    return PairedBootstrap(
        delta=f1_after - f1_before,
        low=low,
        high=high,
        level=level,
        resamples=int(len(kept)),
        skipped=int(resamples - len(kept)),
    )
