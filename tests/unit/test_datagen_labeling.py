"""Pure parts of Monte-Carlo labeling: references, usable solutions, the rollout plan, continuation prompts."""

from __future__ import annotations

import pytest

from deepcritic.answers import is_correct, reference_answer
from deepcritic.critique import load_template
from deepcritic.datagen.labeling import (
    GeneratorPrompts,
    chatml_system,
    continue_messages,
    graded_solution,
    official_system_prompt,
    plan,
    problem_outcome,
    solution_id,
    usable,
)
from deepcritic.errors import DeepcriticError
from tests.helpers.paths import SHARED_DATA

REFERENCE = SHARED_DATA / "reference"

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


def _a(correct, answer):
    return {**_s(correct), "answer": answer}


DROP_UNANSWERED = [
    # a wrong solution with no boxed answer: not labeled when DeepCritic's filter is on
    (_a(False, None), True, False),
    # ... and labeled when it is off
    (_a(False, None), False, True),
    # a wrong solution with an answer stays
    (_a(False, "7"), True, True),
    # a right one needs no box to stay (math-verify found its answer)
    (_a(True, None), True, True),
]


@pytest.mark.parametrize("solution, drop, expected", DROP_UNANSWERED)
def test_usable_drops_unanswered_wrong_solutions(solution, drop, expected):
    assert usable(solution, 30, drop) is expected


def test_plan_and_outcome_with_the_unanswered_filter():
    # right, wrong without an answer, wrong with one: the unanswered one is left out
    assert plan([_a(True, "5"), _a(False, None), _a(False, "6")], 1, 30, drop_unanswered=True) == [0, 2]
    # the only wrong solution is unanswered: the problem has no usable wrong one (DeepCritic's "valid" test)
    assert plan([_a(True, "5"), _a(False, None)], 1, 30, drop_unanswered=True) == []
    assert problem_outcome([_a(True, "5"), _a(False, None)], 30, drop_unanswered=True) == "all_right"


SOLVE = "Solve: {problem}"
CONT = "Go on: {problem} / {solution} / Step {step}"
STEPS = ["2 + 3 = 5.", "Double it: 10."]
PROMPTS = [
    # prefill (the default): the prefix is the open assistant turn, its steps joined by a blank line
    (
        GeneratorPrompts(SOLVE, CONT),
        [{"role": "user", "content": "Solve: P"}],
        [{"role": "user", "content": "Solve: P"}, {"role": "assistant", "content": "2 + 3 = 5.\n\nDouble it: 10."}],
    ),
    # tagged steps: the solution starts prefilled with "Step 1:", the prefix is continued with its tags
    (
        GeneratorPrompts(SOLVE, CONT, step_tags=True),
        [{"role": "user", "content": "Solve: P"}, {"role": "assistant", "content": "Step 1:"}],
        [
            {"role": "user", "content": "Solve: P"},
            {"role": "assistant", "content": "Step 1: 2 + 3 = 5.\n\nStep 2: Double it: 10."},
        ],
    ),
    # a system turn and the bare problem as the user turn (DeepCritic's scripts)
    (
        GeneratorPrompts(SOLVE, CONT, system="Be exact.", problem_only=True),
        [{"role": "system", "content": "Be exact."}, {"role": "user", "content": "P"}],
        [
            {"role": "system", "content": "Be exact."},
            {"role": "user", "content": "P"},
            {"role": "assistant", "content": "2 + 3 = 5.\n\nDouble it: 10."},
        ],
    ),
    # a new user turn asks to continue (servers that cannot continue an assistant turn)
    (
        GeneratorPrompts(SOLVE, CONT, continuation="user_turn"),
        [{"role": "user", "content": "Solve: P"}],
        [{"role": "user", "content": "Go on: P / Step 1: 2 + 3 = 5.\n\nStep 2: Double it: 10. / Step 3"}],
    ),
]


@pytest.mark.parametrize("prompts, solve, rollout", PROMPTS)
def test_generator_prompts(prompts, solve, rollout):
    assert prompts.solve("P") == solve
    assert prompts.rollout("P", STEPS) == rollout


TAGGED = [
    # the completion after the prefilled "Step 1:" is put back behind it, and its tags split the steps
    (" 2 + 3 = 5.\nStep 2: Double it: 10.\nStep 3: \\boxed{10}", ["2 + 3 = 5.", "Double it: 10.", "\\boxed{10}"]),
    # one step only: the tag is still dropped
    (" 5", ["5"]),
]


@pytest.mark.parametrize("completion, steps", TAGGED)
def test_tagged_solutions(completion, steps):
    prompts = GeneratorPrompts(SOLVE, CONT, step_tags=True)
    text = prompts.solution_text(completion)
    assert text.startswith("Step 1: ") and prompts.steps(text) == steps
    assert GeneratorPrompts(SOLVE, CONT).solution_text(completion) == completion  # untagged: as generated


BOXED = [
    # math-verify finds the answer without a box; DeepCritic's grading needs one
    ("so the answer is 5", "5", False, True),
    # a box counts either way
    ("so \\boxed{5}", "5", True, True),
    # boxed-only reads the last box, not the last number
    ("\\boxed{5} but then 6", "5", True, True),
    # an unclosed last box: the earlier closed one
    ("\\boxed{5}, or \\boxed{6", "5", True, True),
]


@pytest.mark.parametrize("text, reference, boxed_only, plain", BOXED)
def test_boxed_only_grading(text, reference, boxed_only, plain):
    assert is_correct(text, reference, boxed_only=True) is boxed_only
    assert is_correct(text, reference) is plain


def test_chatml_system_reads_a_format_template():
    source = 'x = 1\nt = ("<|im_start|>system\\nThink, then \\\\boxed{{}}.<|im_end|>\\n<|im_start|>user\\n{prompt}")\n'
    assert chatml_system(source, "<test>") == "Think, then \\boxed{}."
    with pytest.raises(DeepcriticError, match="<test>: no ChatML template"):
        chatml_system("x = 'no template'", "<test>")


def test_deepcritic_rollout_prompt_is_the_official_one(tiny_qwen2):
    """Our prefill prompt (DeepCritic's system turn read from the pinned script, the bare problem, the prefix)
    rendered by a Qwen chat template equals the string the official rollout script builds for the same prefix:
    its Qwen chat template formatted with the problem and ``create_partial_solution`` (run from the script)."""
    import ast

    from transformers import AutoTokenizer

    from deepcritic.generation import render_prompt

    script = REFERENCE / "deepcritic" / "wrong_solutions_rollout.py"
    source = script.read_text(encoding="utf-8")
    namespace: dict = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == "create_partial_solution":
            exec(compile(ast.Module([node], []), str(script), "exec"), namespace)
    templates = [
        n.value.value
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) and "<|im_start|>" in str(n.value.value)
    ]
    steps = ["Step 1: Add: 2 + 3 = 5.", "Step 2: Double it: 10.", "Step 3: So \\boxed{10}."]
    problem = "Compute $2(2+3)$."
    prompts = GeneratorPrompts(
        SOLVE, CONT, system=official_system_prompt("deepcritic", str(script)), step_tags=True, problem_only=True
    )
    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen2)
    for n in (1, 2):
        official = templates[0].format(prompt=problem, partial_solution=namespace["create_partial_solution"](steps, n))
        ours = render_prompt(tokenizer, prompts.rollout(problem, [s.split(": ", 1)[1] for s in steps[:n]]))
        assert ours == official


def test_official_system_prompt_is_pinned(tmp_path):
    changed = tmp_path / "wrong_solutions_rollout.py"
    changed.write_text((REFERENCE / "deepcritic" / "wrong_solutions_rollout.py").read_text() + "\n# edited\n")
    with pytest.raises(DeepcriticError, match="is not the official RUCBM/DeepCritic@6a0cde9e"):
        official_system_prompt("deepcritic", str(changed))
