"""Monte-Carlo labels: estimates -> first wrong step, problem and solution selection, record assembly."""

from __future__ import annotations

import pytest

from deepcritic.data.mc import (
    SampledSolution,
    first_wrong_step,
    keep_problem,
    mc_record,
    solutions_to_label,
    step_estimates,
)
from deepcritic.data.records import record_from_dict

FIRST_WRONG = [
    # hard estimate: the first zero
    ([1.0, 0.5, 0.0, 0.0], 0.0, 2),
    # every step recovers sometimes: no wrong step
    ([1.0, 0.5, 0.25], 0.0, -1),
    # soft threshold catches a low estimate earlier
    ([1.0, 0.125, 0.0], 0.2, 1),
    # at the threshold counts as wrong
    ([0.5, 0.2], 0.2, 1),
    # the first step already hopeless
    ([0.0, 1.0], 0.0, 0),
    # a dip that recovers later is still the first wrong step
    ([1.0, 0.0, 1.0], 0.0, 1),
]


@pytest.mark.parametrize("estimates, threshold, expected", FIRST_WRONG)
def test_first_wrong_step(estimates, threshold, expected):
    assert first_wrong_step(estimates, threshold) == expected


ESTIMATES = [
    # two prefixes with 4 rollouts each, then a wrong final answer
    ([[True, True, False, False], [False] * 4], False, [0.5, 0.0, 0.0]),
    # a one-step solution needs no rollouts: its own answer decides
    ([], True, [1.0]),
    # a right answer after a prefix that rarely recovers
    ([[True, False, False, False]], True, [0.25, 1.0]),
]


@pytest.mark.parametrize("hits, final_correct, expected", ESTIMATES)
def test_step_estimates(hits, final_correct, expected):
    assert step_estimates(hits, final_correct) == expected


def test_step_without_rollouts_is_an_error():
    with pytest.raises(ValueError, match="step 1 has no rollouts"):
        step_estimates([[True], []], True)


KEEP = [
    # both right and wrong solutions
    ([True, False, True], True),
    # all right: no signal
    ([True, True], False),
    # all wrong: no signal
    ([False, False], False),
    # nothing sampled
    ([], False),
]


@pytest.mark.parametrize("correct, expected", KEEP)
def test_keep_problem(correct, expected):
    assert keep_problem(correct) is expected


SELECT = [
    # all wrong ones and the first right one (the default)
    ([True, False, True, False], 1, [0, 1, 3]),
    # two right ones
    ([True, False, True, True], 2, [0, 1, 2]),
    # every right one
    ([True, False, True], -1, [0, 1, 2]),
    # only wrong ones when none are wanted right
    ([True, False], 0, [1]),
]


@pytest.mark.parametrize("correct, num_correct, expected", SELECT)
def test_solutions_to_label(correct, num_correct, expected):
    assert solutions_to_label(correct, num_correct) == expected


def test_mc_record_is_a_valid_contract_record_with_estimates():
    solution = SampledSolution(steps=["a", "b", "c"], correct=False)
    rec = mc_record("gsm8k-7", "mc/gsm8k", "What?", "42", 3, solution, [1.0, 0.0, 0.0], 0.0, 8, "tiny")
    assert rec.label == 1 and rec.id == "gsm8k-7-s3"
    assert rec.meta["mc_estimates"] == [1.0, 0.0, 0.0] and rec.meta["final_answer_correct"] is False
    assert record_from_dict(rec.to_dict()) == rec
