"""Pure parts of Monte-Carlo labeling: references, usable solutions, the rollout plan, continuation prompts."""

from __future__ import annotations

import pytest

from deepcritic.answers import reference_answer
from deepcritic.critique import load_template
from deepcritic.datagen.labeling import (
    continue_messages,
    graded_solution,
    plan,
    problem_outcome,
    solution_id,
    usable,
)

REFERENCES = [
    # a bare answer is kept as it is
    ("18", "answer", "18"),
    # a worked solution: its last box
    ("We get $x=2$, so \\boxed{2}. Check: \\boxed{\\frac{1}{2}}", "boxed", "\\frac{1}{2}"),
    # a worked solution without a box: no reference
    ("no box here", "boxed", None),
    # blank answer: no reference
    ("   ", "answer", None),
]


@pytest.mark.parametrize("answer, mode, expected", REFERENCES)
def test_reference_answer(answer, mode, expected):
    assert reference_answer(answer, mode) == expected


def _s(correct, steps=2, finish="stop"):
    return {"correct": correct, "steps": [f"s{i}" for i in range(steps)], "finish_reason": finish}


USABLE = [
    # ordinary solution
    (_s(True), 30, True),
    # no steps (blank output)
    (_s(False, steps=0), 30, False),
    # cut at the length limit: no final answer, not a step's fault
    (_s(False, finish="length"), 30, False),
    # longer than max_steps
    (_s(False, steps=31), 30, False),
    # exactly max_steps
    (_s(False, steps=30), 30, True),
]


@pytest.mark.parametrize("solution, max_steps, expected", USABLE)
def test_usable(solution, max_steps, expected):
    assert usable(solution, max_steps) is expected


PLANS = [
    # both kinds: every wrong one and the first right one
    ([_s(True), _s(False), _s(True), _s(False)], 1, [0, 1, 3]),
    # all right: problem dropped
    ([_s(True), _s(True)], 1, []),
    # all wrong: problem dropped
    ([_s(False), _s(False)], 1, []),
    # the only wrong one is unusable, so the problem has no usable wrong one
    ([_s(True), _s(False, finish="length")], 1, []),
    # an unusable right one is skipped; the next right one is labeled
    ([_s(True, steps=0), _s(False), _s(True)], 1, [1, 2]),
    # num_correct = -1: every right one
    ([_s(True), _s(False), _s(True)], -1, [0, 1, 2]),
    # num_correct = 0: wrong ones only
    ([_s(True), _s(False), _s(True)], 0, [1]),
]


@pytest.mark.parametrize("solutions, num_correct, expected", PLANS)
def test_plan(solutions, num_correct, expected):
    assert plan(solutions, num_correct, 30) == expected


OUTCOMES = [
    # mixed: kept
    ([_s(True), _s(False)], "kept"),
    # all right
    ([_s(True)], "all_right"),
    # all wrong
    ([_s(False), _s(False)], "all_wrong"),
    # nothing usable
    ([_s(True, steps=0)], "none_usable"),
]


@pytest.mark.parametrize("solutions, expected", OUTCOMES)
def test_problem_outcome(solutions, expected):
    assert problem_outcome(solutions, 30) == expected


def test_graded_solution_splits_steps_and_grades_with_math_verify():
    graded = graded_solution("Add: 2 + 3 = 5.\n\nSo the answer is \\boxed{5}.", "stop", "5")
    assert graded["steps"] == ["Add: 2 + 3 = 5.", "So the answer is \\boxed{5}."]
    assert graded["correct"] is True and graded["answer"] == "5"
    assert graded_solution("\\boxed{\\frac{1}{2}}", "stop", "0.5")["correct"] is True  # equivalent forms
    assert graded_solution("garbage \\boxed{", "stop", "5")["correct"] is False  # malformed never raises


def test_continuation_prompts_of_one_solution_share_their_prefix():
    template = load_template("continue")
    steps = ["Add 2 and 3 to get 5.", "Double it: 10.", "So \\boxed{10}."]
    first = continue_messages(template, "Compute 2(2+3).", steps[:1])[0]["content"]
    second = continue_messages(template, "Compute 2(2+3).", steps[:2])[0]["content"]
    shared = first.index("## Your task")
    assert second[:shared].rstrip() == first[:shared].rstrip()  # the whole shorter prompt body is a prefix
    assert "Continue the solution above from Step 3" in second and "Step 2: Double it: 10." in second
    assert solution_id("gsm8k/7", 2) == "gsm8k/7-s2"
