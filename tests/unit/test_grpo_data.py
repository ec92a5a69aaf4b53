"""GRPO rows from records, class balancing, the prompt-length limit."""

from __future__ import annotations

import pytest

from deepcritic.data.records import StepRecord
from deepcritic.errors import DeepcriticError
from deepcritic.grpo.data import balance_records, grpo_row, split_by_length


def _rec(i: int, label: int, steps: int = 3) -> StepRecord:
    return StepRecord(id=f"r{i}", source="t", problem=f"p{i}", steps=[f"s{k}" for k in range(steps)], label=label)


def test_row_has_the_columns_trl_and_the_reward_read():
    row = grpo_row(_rec(7, 1, steps=4))
    assert set(row) == {"prompt", "label", "num_steps", "id", "has_error"}
    assert row["label"] == 1 and row["num_steps"] == 4 and row["id"] == "r7" and row["has_error"] is True
    # conversational prompt: one user turn with the tagged steps
    assert [m["role"] for m in row["prompt"]] == ["user"]
    assert "Step 1: s0" in row["prompt"][0]["content"] and "Step 4: s3" in row["prompt"][0]["content"]


def test_row_without_error():
    row = grpo_row(_rec(1, -1))
    assert row["label"] == -1 and row["has_error"] is False


BALANCE = [
    # 2 errors, 8 correct, target half: all errors kept, correct sampled down to 2
    (2, 8, 0.5, (2, 8), (2, 2)),
    # 8 errors, 2 correct, target half: errors sampled down to 2
    (8, 2, 0.5, (8, 2), (2, 2)),
    # already balanced: nothing dropped
    (5, 5, 0.5, (5, 5), (5, 5)),
    # target 75% errors with 3 errors: 1 correct kept
    (3, 9, 0.75, (3, 9), (3, 1)),
    # target 25% errors, 6 errors, 6 correct: errors down to 2
    (6, 6, 0.25, (6, 6), (2, 6)),
    # a target that would keep zero of a class keeps at least one
    (1, 50, 0.99, (1, 50), (1, 1)),
]


@pytest.mark.parametrize("n_err, n_ok, fraction, before, after", BALANCE)
def test_balance_counts(n_err, n_ok, fraction, before, after):
    records = [_rec(i, 0) for i in range(n_err)] + [_rec(100 + i, -1) for i in range(n_ok)]
    result = balance_records(records, fraction, seed=0)
    assert result.before == before and result.after == after
    kept = result.records
    assert (sum(r.has_error for r in kept), sum(not r.has_error for r in kept)) == after
    # order preserved, no duplicates
    positions = [records.index(r) for r in kept]
    assert positions == sorted(set(positions))


def test_balance_is_seeded():
    records = [_rec(i, 0) for i in range(3)] + [_rec(100 + i, -1) for i in range(20)]
    a = [r.id for r in balance_records(records, 0.5, seed=1).records]
    assert a == [r.id for r in balance_records(records, 0.5, seed=1).records]


BAD_BALANCE = [
    # no record without an error
    ([0, 1, 0], 0.5, "both classes"),
    # no record with an error
    ([-1, -1], 0.5, "both classes"),
    # a fraction outside (0, 1)
    ([0, -1], 1.0, "fraction in"),
]


@pytest.mark.parametrize("labels, fraction, message", BAD_BALANCE)
def test_balance_rejects(labels, fraction, message):
    with pytest.raises(DeepcriticError, match=message):
        balance_records([_rec(i, y) for i, y in enumerate(labels)], fraction, seed=0)


LENGTHS = [
    # no limit keeps everything
    ([5, 50, 500], None, [0, 1, 2], []),
    # the limit itself is allowed
    ([5, 50, 500], 50, [0, 1], [2]),
    # everything too long
    ([60, 70], 50, [], [0, 1]),
]


@pytest.mark.parametrize("lengths, limit, keep, drop", LENGTHS)
def test_split_by_length(lengths, limit, keep, drop):
    assert split_by_length(lengths, limit) == (keep, drop)
