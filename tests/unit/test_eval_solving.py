"""solve / refine / verify-vote batch logic and metrics with scripted generators (no model): each case's
expected values are worked out by hand in its comment."""

from __future__ import annotations

import pytest

from deepcritic.config import SamplingConfig
from deepcritic.critique import load_template
from deepcritic.data.problems import MathProblem
from deepcritic.data.records import StepRecord
from deepcritic.eval.critic import chosen_critique, prediction_row
from deepcritic.eval.solver_protocols import OwnProtocol
from deepcritic.eval.solving import (
    Prompts,
    refine_metrics,
    refine_step,
    solve_metrics,
    solve_step,
    verify_metrics,
    verify_step,
)
from deepcritic.generation import Completion
from tests.helpers.eval_fakes import Scripted, is_revise, ok

PROMPTS = Prompts(solve=load_template("solve"), revise=load_template("revise"), critic=load_template("critic"))
OWN = OwnProtocol(load_template("solve"), "solve.txt")


PROBLEMS = [MathProblem("p1", "What is 2 * 3?", "6"), MathProblem("p2", "What is 1 + 1?", "2")]


def test_refine_revises_only_where_the_critic_names_a_step():
    # p1: first solution says 5 (wrong), critic flags Step 2, revision says 6 (right).
    # p2: first solution says 2 (right), critic says no wrong step, no revision.
    def gen(prompt, j):
        if is_revise(prompt):
            return ok("Redo.\n\nSo 2 * 3 = 6.\n\n\\boxed{6}")
        return ok("Start.\n\nSo 2 * 3 = 5.\n\n\\boxed{5}" if "2 * 3" in prompt else "1 + 1 = 2.\n\n\\boxed{2}")

    def crit(prompt, j):
        return ok(
            "Step 1 ok \\boxed{1}\nStep 2 bad \\boxed{-1}\n**Answer**: \\boxed{2}"
            if "= 5" in prompt
            else "All good.\n**Answer**: \\boxed{-1}"
        )

    generator, critic = Scripted(gen), Scripted(crit)
    rows = refine_step(generator, critic, PROBLEMS, SamplingConfig(n=4), SamplingConfig(n=1), PROMPTS, 5)
    r1, r2 = rows
    assert (r1["correct_before"], r1["verdict"], r1["correct_after"], r1["answer_after"]) == (False, 1, True, "6")
    assert r1["steps"] == ["Start.", "So 2 * 3 = 5.", "\\boxed{5}"] and "Step 2 bad" in r1["critique"]
    assert (r2["correct_before"], r2["verdict"], r2["revision"], r2["correct_after"]) == (True, -1, None, True)
    revise_prompt = [p for p in generator.prompts if is_revise(p)]
    assert len(revise_prompt) == 1 and "Step 2 is the first incorrect step" in revise_prompt[0]
    assert "Step 2: So 2 * 3 = 5." in revise_prompt[0]  # the attempt is shown with tagged steps
    m = refine_metrics(rows)
    # before 1/2, after 2/2; flagged 1 of 2; on wrong 1/1, on right 0/1; one wrong->right
    assert (m["accuracy_before"], m["accuracy"], m["revised_rate"]) == (0.5, 1.0, 0.5)
    assert (m["flag_rate_on_wrong"], m["flag_rate_on_right"], m["wrong_to_right"], m["right_to_wrong"]) == (
        1.0,
        0.0,
        1,
        0,
    )
    assert m["critic_parse_rate"] == 1.0


def test_refine_with_unparseable_critique_and_empty_solution_keeps_the_first_answer():
    # p1: the critic's output has no final answer line -> no verdict -> no revision.
    # p2: an empty solution has no steps -> the critic is not asked; graded wrong.
    generator = Scripted(lambda p, j: ok("x\n\ny \\boxed{6}") if "2 * 3" in p else ok("   "))
    critic = Scripted(lambda p, j: ok("Step 1 \\boxed{-1} and then it stops"))
    rows = refine_step(generator, critic, PROBLEMS, SamplingConfig(), SamplingConfig(), PROMPTS, 5)
    assert [r["verdict"] for r in rows] == [None, None] and [r["revision"] for r in rows] == [None, None]
    assert [r["correct_after"] for r in rows] == [True, False]
    assert len(critic.prompts) == 1 and rows[1]["critiques"] == []
    assert refine_metrics(rows)["critic_parse_rate"] == 0.0


def test_refine_failed_request_marks_the_row_as_an_error():
    generator = Scripted(
        lambda p, j: Completion("", "error", None, "HTTP 500") if "1 + 1" in p else ok("a\n\n\\boxed{6}")
    )
    critic = Scripted(lambda p, j: ok("**Answer**: \\boxed{-1}"))
    rows = refine_step(generator, critic, PROBLEMS, SamplingConfig(), SamplingConfig(), PROMPTS, 5)
    assert "error" not in rows[0] and rows[1] == {"id": "p2", "error": "HTTP 500"}


def test_verify_vote_beats_plain_majority_when_the_critic_rejects_wrong_answers():
    # 4 solutions for p1 with answers 5, 6, 5, 6; the critic rejects the 5s and accepts the 6s.
    # plain majority: tie -> the first group (5) wins -> wrong at k = 2 and 4; k = 1 -> 5 -> wrong.
    # verified: k = 1 accepts nothing -> fallback to plain (wrong); k = 2, 4 -> 6 -> right.
    generator = Scripted(lambda p, j: ok(f"Compute.\n\nIt is {5 + j % 2}.\n\n\\boxed{{{5 + j % 2}}}"))
    critic = Scripted(lambda p, j: ok("**Answer**: \\boxed{2}" if "It is 5" in p else "**Answer**: \\boxed{-1}"))
    rows = verify_step(generator, critic, PROBLEMS[:1], SamplingConfig(n=4), SamplingConfig(), PROMPTS, [1, 2, 4], 5)
    votes = rows[0]["votes"]
    assert [votes[k]["majority_correct"] for k in ("1", "2", "4")] == [False, False, False]
    assert [votes[k]["verified_correct"] for k in ("1", "2", "4")] == [False, True, True]
    assert [votes[k]["fallback"] for k in ("1", "2", "4")] == [True, False, False]
    assert [s["accepted"] for s in rows[0]["solutions"]] == [False, True, False, True]
    m = verify_metrics(rows, [1, 2, 4])
    assert (m["accuracy"], m["majority_accuracy"], m["pass@n"], m["solution_accuracy"]) == (1.0, 0.0, 1.0, 0.5)
    # accepted 2 of 4, both correct; every correct one accepted
    assert (m["acceptance_rate"], m["acceptance_precision"], m["acceptance_recall"]) == (0.5, 1.0, 1.0)
    assert m["maj"]["1"] == {"accuracy": 0.0, "majority_accuracy": 0.0, "fallback_rate": 1.0}


def test_verify_vote_with_no_parseable_verdicts_falls_back_to_majority():
    # answers 6, 6, 5: plain majority 6 is right; the critic never parses -> accepts none -> fallback -> right
    generator = Scripted(lambda p, j: ok(f"a\n\nb \\boxed{{{[6, 6, 5][j]}}}"))
    critic = Scripted(lambda p, j: ok("no verdict"))
    rows = verify_step(generator, critic, PROBLEMS[:1], SamplingConfig(n=3), SamplingConfig(), PROMPTS, [3], 5)
    assert rows[0]["votes"]["3"] == {"majority_correct": True, "verified_correct": True, "fallback": True}
    assert verify_metrics(rows, [3])["critic_parse_rate"] == 0.0


def test_solve_accuracy_pass_and_majority():
    # answers 7, 8, 8 for reference 8: accuracy 2/3, first sample wrong, Maj@1 wrong, Maj@3 right, pass@3 right
    generator = Scripted(lambda p, j: ok(f"\\boxed{{{[7, 8, 8][j]}}}"))
    rows = solve_step(generator, [MathProblem("q", "?", "8")], SamplingConfig(n=3), OWN, [1, 3], 5)
    m = solve_metrics(rows, [1, 3])
    assert m["accuracy"] == pytest.approx(2 / 3) and m["first_sample_accuracy"] == 0.0 and m["pass@n"] == 1.0
    assert m["maj"] == {"1": {"accuracy": 0.0}, "3": {"accuracy": 1.0}} and m["answer_rate"] == 1.0
    assert [s["answer"] for s in rows[0]["samples"]] == ["7", "8", "8"]


def test_prediction_row_parses_every_sample_against_the_step_count():
    record = StepRecord(id="r", source="t", problem="p", steps=["a", "b"], label=1)
    outs = [ok("**Answer**: \\boxed{2}"), ok("**Answer**: \\boxed{3}"), ok("cut off"), ok("**Answer**: \\boxed{2}")]
    row = prediction_row(record, outs)
    # step 3 of a 2-step solution is not a valid verdict
    assert [s["verdict"] for s in row["samples"]] == [1, None, None, 1] and row["majority"] == 1
    assert [s["complete"] for s in row["samples"]] == [True, True, False, True]
    assert row["label"] == 1 and row["num_steps"] == 2


CHOSEN = [
    # the majority verdict and the first sample that gave it
    ([{"verdict": 0, "text": "a"}, {"verdict": 1, "text": "b"}, {"verdict": 1, "text": "c"}], (1, "b")),
    # nothing parsed
    ([{"verdict": None, "text": "a"}], (None, "")),
    # no samples
    ([], (None, "")),
]


@pytest.mark.parametrize("samples, want", CHOSEN)
def test_chosen_critique(samples, want):
    assert chosen_critique(samples) == want
