"""Paired bootstrap of an F1 difference: hand-computable cases, the percentile rule, pairing, determinism."""

from __future__ import annotations

import random

import pytest

from deepcritic.eval.bootstrap import paired_bootstrap_f1, percentile_interval
from deepcritic.eval.metrics import critic_f1

PERCENTILE_CASES = [
    # 0, 1, ..., 100: the 2.5% and 97.5% quantiles are 2.5 and 97.5 (linear interpolation)
    (list(range(101)), 0.95, (2.5, 97.5)),
    # a constant sample: the interval is that constant
    ([0.25] * 7, 0.95, (0.25, 0.25)),
    # order does not matter; 0..10 at 80%: quantiles 0.1 and 0.9 of 0..10 are 1.0 and 9.0
    ([10, 0, 5, 3, 7, 1, 9, 2, 8, 4, 6], 0.80, (1.0, 9.0)),
    # one value
    ([3.0], 0.95, (3.0, 3.0)),
]


@pytest.mark.parametrize("values, level, expected", PERCENTILE_CASES)
def test_percentile_interval(values, level, expected):
    assert percentile_interval(values, level) == pytest.approx(expected)


def test_percentile_interval_rejects_empty_and_bad_level():
    with pytest.raises(ValueError):
        percentile_interval([], 0.95)  # nothing to take percentiles of
    with pytest.raises(ValueError):
        percentile_interval([1.0], 1.0)  # level must be inside (0, 1)


LABELS = [0, 1, 2, -1, -1, -1, 1, -1]

BOOTSTRAP_CASES = [
    # the same verdicts before and after: every resample's difference is 0
    ("identical", [0, 1, -1, -1, 2, -1, 1, -1], [0, 1, -1, -1, 2, -1, 1, -1], 0.0, (0.0, 0.0)),
    # after is perfect (F1 1 on any resample), before is wrong everywhere (F1 0 on any resample): always +1
    ("perfect vs all wrong", [None, 0, 0, 1, 0, 0, None, 2], LABELS, 1.0, (1.0, 1.0)),
    # the reverse: always -1
    ("all wrong vs perfect", LABELS, [None, 0, 0, 1, 0, 0, None, 2], -1.0, (-1.0, -1.0)),
]


@pytest.mark.parametrize("name, before, after, delta, ci", BOOTSTRAP_CASES, ids=[c[0] for c in BOOTSTRAP_CASES])
def test_paired_bootstrap_hand_computable(name, before, after, delta, ci):
    result = paired_bootstrap_f1(LABELS, before, after, resamples=500, seed=1)
    assert result.delta == pytest.approx(delta)
    assert (result.low, result.high) == pytest.approx(ci)
    assert result.resamples + result.skipped == 500


def _random_case(n: int, seed: int):
    rng = random.Random(seed)
    labels = [rng.choice([-1, -1, 0, 1, 2]) for _ in range(n)]
    before = [y if rng.random() < 0.6 else rng.choice([-1, 0, 1, None]) for y in labels]
    after = [y if rng.random() < 0.8 else rng.choice([-1, 0, 1, None]) for y in labels]
    return labels, before, after


def test_matches_a_naive_loop_over_the_same_resamples():
    """The vectorised F1s equal critic_f1 recomputed record by record on the same resampled indices."""
    import numpy as np

    labels, before, after = _random_case(60, seed=3)
    result = paired_bootstrap_f1(labels, before, after, resamples=200, seed=7)
    idx = np.random.default_rng(7).integers(0, len(labels), size=(200, len(labels)))
    diffs = []
    for row in idx:
        y = [labels[i] for i in row]
        a, b = critic_f1([after[i] for i in row], y)["f1"], critic_f1([before[i] for i in row], y)["f1"]
        if a is not None and b is not None:
            diffs.append(a - b)
    assert result.resamples == len(diffs)
    assert (result.low, result.high) == pytest.approx(percentile_interval(diffs, 0.95))
    full = critic_f1(after, labels)["f1"] - critic_f1(before, labels)["f1"]
    assert result.delta == pytest.approx(full)


def test_deterministic_and_seed_dependent():
    labels, before, after = _random_case(100, seed=4)
    a = paired_bootstrap_f1(labels, before, after, resamples=300, seed=11)
    b = paired_bootstrap_f1(labels, before, after, resamples=300, seed=11)
    c = paired_bootstrap_f1(labels, before, after, resamples=300, seed=12)
    assert a == b  # same seed, same interval
    assert (a.low, a.high) != (c.low, c.high)  # another seed draws other resamples
    assert a.low <= a.delta <= a.high  # the full-sample difference lies inside here (a clear improvement)


def test_pairing_narrows_the_interval():
    """Two critics that differ on few records: the paired interval is much narrower than the spread of
    either F1 alone (which an unpaired comparison would have to add up)."""
    labels, before, _ = _random_case(400, seed=5)
    after = list(before)
    fixed = [i for i, (p, y) in enumerate(zip(before, labels)) if p != y][:20]
    for i in fixed:
        after[i] = labels[i]  # after = before, plus 20 records fixed
    paired = paired_bootstrap_f1(labels, before, after, resamples=1000, seed=0)
    alone = paired_bootstrap_f1(labels, [None] * len(labels), before, resamples=1000, seed=0)  # F1(before) spread
    assert paired.low > 0  # 20 fixes out of 400, and nothing broken: clearly positive
    assert paired.high - paired.low < 0.5 * (alone.high - alone.low)


BAD_INPUTS = [
    # lengths differ
    ([0, -1], [0], [0, -1]),
    # one class only: F1 undefined on the full sample
    ([-1, -1], [-1, -1], [-1, -1]),
    # no records at all
    ([], [], []),
]


@pytest.mark.parametrize("labels, before, after", BAD_INPUTS)
def test_rejects_unusable_inputs(labels, before, after):
    with pytest.raises(ValueError):
        paired_bootstrap_f1(labels, before, after, resamples=10)


def test_one_class_resamples_are_skipped_not_counted():
    """Two records, one per class: about half the resamples draw one class only and are skipped."""
    result = paired_bootstrap_f1([0, -1], [None, -1], [0, -1], resamples=400, seed=0)
    assert 0 < result.skipped < 400 and result.resamples + result.skipped == 400
    assert (result.low, result.high) == pytest.approx((1.0, 1.0))  # with both classes drawn: F1 0 -> 1
