"""Critic metrics against hand-computed values: ProcessBench F1, empty classes, majority vote ties, Maj@k."""

from __future__ import annotations

import math

import pytest

from deepcritic.eval.metrics import (
    average_metrics,
    benchmark_metrics,
    critic_f1,
    default_ks,
    harmonic_mean,
    maj_at_k,
    majority_vote,
)

F1_CASES = [
    # all right: 2 error records found exactly, 2 clean records called clean
    ([1, 0, -1, -1], [1, 0, -1, -1], 1.0, 1.0, 1.0),
    # half of each class right: F1 = 0.5
    ([1, 2, -1, 0], [1, 0, -1, -1], 0.5, 0.5, 0.5),
    # error class 1/2, clean class 1/1: F1 = 2 * 0.5 * 1 / 1.5 = 2/3
    ([1, -1, -1], [1, 2, -1], 0.5, 1.0, 2 / 3),
    # a wrong step index counts as wrong even though an error was detected
    ([0, -1], [1, -1], 0.0, 1.0, 0.0),
    # None (unparseable) is wrong in both classes
    ([None, None], [2, -1], 0.0, 0.0, 0.0),
    # all unparseable: both accuracies 0, F1 0 (not a division by zero)
    ([None, None, None, None], [0, 1, -1, -1], 0.0, 0.0, 0.0),
    # no record with an error: acc_error undefined, so F1 undefined
    ([-1, 3], [-1, -1], None, 0.5, None),
    # no clean record: acc_correct undefined, so F1 undefined
    ([1, None], [1, 0], 0.5, None, None),
    # nothing at all
    ([], [], None, None, None),
    # predicting -1 for an error record is wrong; predicting an index for a clean record is wrong
    ([-1, 0], [0, -1], 0.0, 0.0, 0.0),
]


@pytest.mark.parametrize("preds, labels, acc_error, acc_correct, f1", F1_CASES)
def test_critic_f1(preds, labels, acc_error, acc_correct, f1):
    m = critic_f1(preds, labels)
    for key, want in (("acc_error", acc_error), ("acc_correct", acc_correct), ("f1", f1)):
        assert m[key] == pytest.approx(want) if want is not None else m[key] is None, key
    assert m["n_error"] == sum(label != -1 for label in labels)
    assert m["n_correct"] == sum(label == -1 for label in labels)


def test_critic_f1_length_mismatch_raises():
    with pytest.raises(ValueError, match="2 predictions for 1 labels"):
        critic_f1([0, 1], [0])


HARMONIC = [
    # the usual harmonic mean
    (0.5, 1.0, 2 / 3),
    # both zero is 0, not NaN
    (0.0, 0.0, 0.0),
    # either undefined gives undefined
    (None, 0.5, None),
    (0.5, None, None),
]


@pytest.mark.parametrize("a, b, want", HARMONIC)
def test_harmonic_mean(a, b, want):
    got = harmonic_mean(a, b)
    assert got is None if want is None else got == pytest.approx(want)


VOTES = [
    # a clear majority
    ([2, 2, -1], 2),
    # tie 1-1: the verdict seen first wins
    ([3, -1], 3),
    ([-1, 3], -1),
    # tie 2-2: the verdict whose first occurrence is earliest wins, not the one completed first
    ([0, 1, 1, 0], 0),
    ([1, 0, 0, 1], 1),
    # unparseable samples do not vote, even when they are the most frequent
    ([None, None, None, 4], 4),
    # a tie among the parsed ones after dropping None: earliest parsed wins
    ([None, 5, None, -1], 5),
    # nothing parsed: no verdict
    ([None, None], None),
    ([], None),
    # three-way tie
    ([2, 1, 0], 2),
]


@pytest.mark.parametrize("verdicts, want", VOTES)
def test_majority_vote(verdicts, want):
    assert majority_vote(verdicts) == want


def test_maj_at_k_uses_first_k_samples():
    samples = [[1, -1, -1], [None, 0, 0], [-1, -1, 2]]
    labels = [1, 0, -1]
    # k=1: predictions 1, None, -1 -> acc_error 1/2, acc_correct 1/1
    assert maj_at_k(samples, labels, 1)["f1"] == pytest.approx(2 / 3)
    # k=2: tie 1/-1 -> 1 (first); [None, 0] -> 0; [-1, -1] -> -1: all right
    assert maj_at_k(samples, labels, 2)["f1"] == pytest.approx(1.0)
    # k=3: [1,-1,-1] -> -1 (wrong); 0; -1 -> acc_error 1/2, acc_correct 1
    assert maj_at_k(samples, labels, 3)["acc_error"] == pytest.approx(0.5)


def test_maj_at_k_tie_breaks_to_earliest_sample():
    # tie 1-1 between 2 (label) and -1; the first sample decides
    assert maj_at_k([[2, -1]], [2], 2)["acc_error"] == 1.0
    assert maj_at_k([[-1, 2]], [2], 2)["acc_error"] == 0.0


@pytest.mark.parametrize("k, samples", [(0, [[1]]), (3, [[1, 2]])])
def test_maj_at_k_rejects_bad_k(k, samples):
    with pytest.raises(ValueError):
        maj_at_k(samples, [1], k)


KS = [
    # n=1: just 1
    (1, [1]),
    # powers of two then n
    (8, [1, 2, 4, 8]),
    (6, [1, 2, 4, 6]),
    (2, [1, 2]),
]


@pytest.mark.parametrize("n, ks", KS)
def test_default_ks(n, ks):
    assert default_ks(n) == ks


def _row(label, verdicts, tokens=10, reason="stop"):
    return {
        "label": label,
        "samples": [{"verdict": v, "text": "x" * 4, "num_tokens": tokens, "finish_reason": reason} for v in verdicts],
    }


def test_benchmark_metrics_averages_over_sample_index():
    rows = [_row(1, [1, None]), _row(-1, [-1, -1])]
    m = benchmark_metrics(rows, [1, 2])
    # sample 0: acc_error 1, acc_correct 1 -> f1 1; sample 1: acc_error 0, acc_correct 1 -> f1 0
    assert (m["acc_error"], m["acc_correct"], m["f1"]) == (0.5, 1.0, 0.5)
    assert m["parse_rate"] == 0.75 and m["mean_tokens"] == 10 and m["mean_chars"] == 4
    assert m["records"] == 2 and m["n_error"] == 1 and m["n_correct"] == 1 and m["samples_per_record"] == 2
    # Maj@2: [1, None] -> 1 (right); [-1, -1] -> -1 (right)
    assert m["maj"]["2"]["f1"] == 1.0 and set(m["maj"]) == {"1", "2"}


def test_benchmark_metrics_token_counts_unknown_and_truncation():
    rows = [_row(0, [0], tokens=None, reason="length"), _row(-1, [None], tokens=5)]
    m = benchmark_metrics(rows, [1, 4])
    assert m["mean_tokens"] is None  # one sample without a count: no token mean
    assert m["truncation_rate"] == 0.5
    assert set(m["maj"]) == {"1"}  # k=4 > n=1 is left out
    saved = [{"label": 0, "samples": [{"verdict": 0, "text": "x"}]}]  # re-scored outputs say nothing of it
    assert benchmark_metrics(saved, [1])["truncation_rate"] is None


def test_benchmark_metrics_one_class_benchmark_has_no_f1():
    m = benchmark_metrics([_row(-1, [-1]), _row(-1, [2])], [1])
    assert m["acc_error"] is None and m["acc_correct"] == 0.5 and m["f1"] is None


def test_average_metrics_skips_undefined_values():
    per = {
        "a": {
            "acc_error": 0.5,
            "acc_correct": 1.0,
            "f1": 2 / 3,
            "parse_rate": 1.0,
            "mean_tokens": 10,
            "mean_chars": 40,
            "maj": {"1": {"f1": 0.5}, "2": {"f1": 1.0}},
        },
        "b": {
            "acc_error": None,
            "acc_correct": 0.5,
            "f1": None,
            "parse_rate": 0.5,
            "mean_tokens": None,
            "mean_chars": 20,
            "maj": {"1": {"f1": None}},
        },
    }
    avg = average_metrics(per)
    assert avg["benchmarks"] == 2
    assert avg["f1"] == pytest.approx(2 / 3)  # b has no F1: the mean is over a only
    assert avg["acc_correct"] == 0.75 and avg["parse_rate"] == 0.75 and avg["mean_tokens"] == 10
    assert avg["maj"] == {"1": {"f1": 0.5}, "2": {"f1": 1.0}}


def test_average_metrics_nan_is_treated_as_undefined():
    per = {"a": {"f1": math.nan}, "b": {"f1": 0.4}}
    assert average_metrics(per)["f1"] == 0.4
