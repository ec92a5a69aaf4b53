"""Seeded evaluation subsets stratified by label class: proportions, both classes, nesting, order."""

from __future__ import annotations

import pytest

from deepcritic.data.records import StepRecord
from deepcritic.data.sample import stratified_sample


def _records(labels: list[int]) -> list[StepRecord]:
    return [StepRecord(f"r{i}", "t", "p", ["a", "b", "c"], label) for i, label in enumerate(labels)]


# (labels, n, records with a wrong step in the sample): n * share of the class, rounded, at least 1 of each
CASES = [
    ([0] * 6 + [-1] * 4, 5, 3),  # 5 * 0.6 = 3
    ([0] * 8 + [-1] * 2, 5, 4),  # 5 * 0.8 = 4
    ([0] * 99 + [-1], 10, 9),  # 9.9 -> 10, but one error-free record is kept
    ([0] + [-1] * 99, 10, 1),  # 0.1 -> 0, but one record with an error is kept
    ([0] * 5, 3, 3),  # one class only
]


@pytest.mark.parametrize(("labels", "n", "n_error"), CASES)
def test_class_proportions(labels, n, n_error):
    sample, info = stratified_sample(_records(labels), n, seed=0)
    got = sum(r.label != -1 for r in sample)
    assert len(sample) == n and info["records"] == n and info["of"] == len(labels)
    assert got == n_error and info["n_error"] == got


def test_the_first_records_of_a_sorted_file_are_not_the_sample():
    """ProcessBench files open with records that all have an error: the first 8 would leave F1 undefined."""
    labels = [2] * 50 + [-1] * 50
    sample, info = stratified_sample(_records(labels), 8, seed=0)
    assert sorted(r.label for r in sample) == [-1] * 4 + [2] * 4
    assert [r.id for r in sample] == sorted((r.id for r in sample), key=lambda i: int(i[1:]))  # file order
    assert "stratified by label class (seed 0)" in info["how"]


def test_samples_are_seeded_and_nested():
    records = _records([i % 5 - 1 for i in range(200)])
    ids = {n: [r.id for r in stratified_sample(records, n, seed=3)[0]] for n in (4, 10, 50, 120)}
    assert ids[4] == [r.id for r in stratified_sample(records, 4, seed=3)[0]]  # same seed, same sample
    assert ids[4] != [r.id for r in stratified_sample(records, 4, seed=4)[0]]
    for small, large in ((4, 10), (10, 50), (50, 120)):
        assert set(ids[small]) < set(ids[large])


def test_no_limit_or_a_large_one_keeps_everything():
    records = _records([0, -1, 1])
    for n in (None, 3, 10):
        sample, info = stratified_sample(records, n, seed=0)
        assert sample == records and info["how"] == "all records"
