"""Dynamic sampling: which groups carry no gradient, which groups fill a batch, merging generated batches."""

from __future__ import annotations

import pytest
import torch

from deepcritic.errors import DeepcriticError
from deepcritic.grpo.dynamic import (
    RefillSource,
    loss_tokens,
    merge_rows,
    missing_groups,
    select_groups,
    zero_variance_groups,
)

ZERO_VAR = [
    # two groups of 2: the first all-zero advantages (equal rewards), the second not
    ([0.0, 0.0, 0.7, -0.7], 2, [True, False]),
    # float rounding of the group mean (1e-12 after dividing by std + 1e-4) still counts as zero
    ([1e-12, -1e-12, 0.0, 0.0], 2, [True, True]),
    # one sample differs: the group carries a gradient
    ([0.0, 0.0, 0.0, 1.5], 4, [False]),
    # small but real advantages (a length-penalised reward) are kept
    ([1e-3, -1e-3, 0.0, 0.0], 2, [False, True]),
]


@pytest.mark.parametrize("adv, size, expected", ZERO_VAR)
def test_zero_variance_groups(adv, size, expected):
    assert zero_variance_groups(torch.tensor(adv), size) == expected


def test_zero_variance_groups_needs_whole_groups():
    with pytest.raises(ValueError, match="groups of 4"):
        zero_variance_groups(torch.zeros(6), 4)


SELECT = [
    # nothing to drop: the batch as generated
    ([[False, False, False]], 3, [(0, 0), (0, 1), (0, 2)]),
    # one zero-variance group replaced by the first useful group of the refill round
    ([[False, True, False], [True, False, False]], 3, [(0, 0), (0, 2), (1, 1)]),
    # refills exhausted: round 0's zero-variance group fills the last slot
    ([[True, False, True], [True, True, True]], 3, [(0, 1), (0, 0), (0, 2)]),
    # more useful groups than slots: generation order wins
    ([[True, True], [False, False]], 2, [(1, 0), (1, 1)]),
    # all zero-variance, no refill round: the batch stays as it is
    ([[True, True]], 2, [(0, 0), (0, 1)]),
    # useful groups from two refill rounds, round order kept
    ([[True, True, False], [True, False, True], [False, True, True]], 3, [(0, 2), (1, 1), (2, 0)]),
]


@pytest.mark.parametrize("flags, slots, expected", SELECT)
def test_select_groups(flags, slots, expected):
    picks = select_groups(flags, slots)
    assert picks == expected
    assert len(picks) == slots and len(set(picks)) == slots


MISSING = [
    # all useful
    ([[False, False]], 2, 0),
    # one short
    ([[False, True]], 2, 1),
    # refill covers it
    ([[True, True], [False, True], [False, False]], 2, 0),
    # nothing useful at all
    ([[True, True, True]], 3, 3),
]


@pytest.mark.parametrize("flags, slots, expected", MISSING)
def test_missing_groups(flags, slots, expected):
    assert missing_groups(flags, slots) == expected


PAD = 0


def _batch(prompt_rows, completion_rows, adv):
    """A TRL-style generation batch: prompts left-padded, completions right-padded with PAD."""
    pw = max(len(r) for r in prompt_rows)
    cw = max(len(r) for r in completion_rows)
    prompt_ids = torch.tensor([[PAD] * (pw - len(r)) + r for r in prompt_rows])
    prompt_mask = torch.tensor([[0] * (pw - len(r)) + [1] * len(r) for r in prompt_rows])
    completion_ids = torch.tensor([r + [PAD] * (cw - len(r)) for r in completion_rows])
    completion_mask = torch.tensor([[1] * len(r) + [0] * (cw - len(r)) for r in completion_rows])
    logps = completion_mask.float() * -0.5
    return {
        "prompt_ids": prompt_ids,
        "prompt_mask": prompt_mask,
        "completion_ids": completion_ids,
        "completion_mask": completion_mask,
        "old_per_token_logps": logps,
        "advantages": torch.tensor(adv),
        "num_items_in_batch": completion_mask.sum(),
    }


def test_merge_rows_repads_and_keeps_rows_together():
    # round 0: groups of 2; group 1 has zero variance; round 1 supplies a group with longer sequences
    a = _batch([[1, 2], [1, 2], [3], [3]], [[7], [7, 8], [9], [9]], [0.7, -0.7, 0.0, 0.0])
    b = _batch([[4, 4, 4], [4, 4, 4], [5], [5]], [[6, 6, 6], [6], [2], [2]], [1.0, -1.0, 0.0, 0.0])
    merged = merge_rows([a, b], [(0, 0), (1, 0)], group_size=2, pad_token_id=PAD)
    assert "num_items_in_batch" not in merged  # recomputed by the trainer
    assert merged["prompt_ids"].tolist() == [[0, 1, 2], [0, 1, 2], [4, 4, 4], [4, 4, 4]]  # left padding
    assert merged["prompt_mask"].tolist() == [[0, 1, 1], [0, 1, 1], [1, 1, 1], [1, 1, 1]]
    assert merged["completion_ids"].tolist() == [[7, 0, 0], [7, 8, 0], [6, 6, 6], [6, 0, 0]]  # right padding
    assert merged["completion_mask"].tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1], [1, 0, 0]]
    assert merged["advantages"].tolist() == pytest.approx([0.7, -0.7, 1.0, -1.0])  # moved as they are
    assert merged["old_per_token_logps"].shape == (4, 3)
    assert int(loss_tokens(merged)) == 1 + 2 + 3 + 1


def test_merge_rows_rejects_fields_it_cannot_merge():
    a = _batch([[1], [1]], [[2], [2]], [0.0, 0.0])
    a["pixel_values"] = torch.zeros(2, 3)
    with pytest.raises(DeepcriticError, match="pixel_values"):
        merge_rows([a], [(0, 0)], 2, PAD)


def test_refill_source_gives_whole_groups_and_disjoint_slices():
    data = [{"id": str(i)} for i in range(10)]
    p0 = RefillSource(data, group_size=3, seed=5, process_index=0, num_processes=2)
    p1 = RefillSource(data, group_size=3, seed=5, process_index=1, num_processes=2)
    rows0, rows1 = p0.draw(6), p1.draw(6)
    assert len(rows0) == len(rows1) == 6
    ids0, ids1 = [r["id"] for r in rows0], [r["id"] for r in rows1]
    assert ids0[:3] == [ids0[0]] * 3 and ids0[3:] == [ids0[3]] * 3  # each prompt repeated group_size times
    assert not set(ids0) & set(ids1)  # the processes get different prompts
    # after the data set is used up it is reshuffled, never exhausted
    for _ in range(5):
        assert len(p0.draw(6)) == 6


def test_refill_stream_resumes_where_it_stopped():
    """A resumed run seeks to the saved position and draws what the uninterrupted run draws next, across reshuffles."""
    data = [{"i": i} for i in range(5)]
    straight = RefillSource(data, group_size=2, seed=3, process_index=0, num_processes=1)
    draws = [straight.draw(4) for _ in range(6)]  # 2 prompts a draw: 12 prompts, over two reshuffles
    assert straight.position == 12
    for cut in (0, 3, 5):
        resumed = RefillSource(data, group_size=2, seed=3, process_index=0, num_processes=1)
        resumed.seek(2 * cut)
        assert [resumed.draw(4) for _ in range(6 - cut)] == draws[cut:]
