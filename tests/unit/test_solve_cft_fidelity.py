"""Protocol cft_paper against the official harness on the real data: for EVERY record of the seven sets
(../shared/data), the prompt is byte for byte what math_eval.py's construct_prompt builds, and the question and both
references are what parse_question / parse_ground_truth give; on real-looking outputs of each set, the answer read
is what run_execute and math_eval.main's choice fixes give. The official code runs from
../shared/data/reference/cft/ (tests/helpers/official_cft.py)."""

from __future__ import annotations

from functools import cache

import pytest

from deepcritic.config import HARNESS_DATASETS, ProblemsConfig
from deepcritic.data.problems import load_problems
from deepcritic.eval.math_harness import harness_output
from deepcritic.eval.solver_protocols import CFT_STOP, HarnessProtocol, get_solver_protocol
from tests.helpers.official_cft import CFT, SET_FILES, STOP_WORDS, official_code, official_item, official_prediction
from tests.helpers.official_cft import records as official_records

SOURCE_OF = {dataset: source for source, dataset in HARNESS_DATASETS.items()}
# (harness dataset, records in the shared file)
SETS = [
    ("math", 500),
    ("minerva_math", 272),
    ("gsm8k", 1319),
    ("olympiadbench", 675),
    ("aime24", 30),
    ("amc23", 40),
    ("theoremqa", 800),
]


@cache
def protocol() -> HarnessProtocol:
    p = get_solver_protocol("cft_paper", official_dir=str(CFT))
    assert isinstance(p, HarnessProtocol)
    return p


@cache
def problems(dataset: str):
    return tuple(load_problems(ProblemsConfig(source=SOURCE_OF[dataset], path=str(SET_FILES[dataset]))))


def test_the_seven_sets_and_the_stop_words_are_the_harness_ones():
    assert sorted(d for d, _ in SETS) == sorted(HARNESS_DATASETS.values()) == sorted(SET_FILES)
    assert list(CFT_STOP) == STOP_WORDS


@pytest.mark.parametrize("dataset, count", SETS)
def test_every_prompt_question_and_reference_is_the_official_one(dataset, count):
    ours, theirs = problems(dataset), official_records(dataset)
    assert len(ours) == len(theirs) == count
    mismatched = []
    for problem, record in zip(ours, theirs):
        item, official = protocol().item(problem, timeout_s=5), official_item(record, dataset)
        got = (item.prompt, item.question, item.first_reference, item.reference)
        if got != (official["prompt"], official["question"], official["gt"], official["graded_gt"]):
            mismatched.append(problem.id)
    assert mismatched == [], f"{len(mismatched)} of {count} records differ from the official harness"


def _outputs(problem) -> list[str]:
    """Outputs a solver writes (the boxed reference, its sentence forms, a truncated box, a unit, a choice, a code
    block, numbers with commas, Chinese, a stop word inside), and the set's own reference solution."""
    answer = problem.answer
    solution = problem.row.get("solution") or problem.row.get("answer") or ""
    return [
        "\n".join(solution) if isinstance(solution, list) else str(solution),
        f"Let me think.\n\nSo the final answer is $\\boxed{{{answer}}}$.",
        f"Thus the answer is {answer}.",
        f"Final Answer: The final answer is ${answer}$. I hope it is correct.",
        f"We get \\boxed{{{answer[: max(1, len(answer) // 2)]}",
        f"\\boxed{{{answer}\\text{{ cm}}}}",
        "The answer is (c).",
        "```python\nprint(1)\n```",
        "We get 3,456 and then 12.5 apples.",
        f"\\boxed {answer}$ done",
        "",
        f"答案是 {answer}\n\nmore",
        f"x = {answer} \\%\n\n<|im_end|>junk [END] more",
    ]


@pytest.mark.parametrize("dataset, count", SETS)
def test_answers_of_real_looking_outputs_are_read_as_the_official_code(dataset, count):
    p, mismatched, n = protocol(), [], 0
    for problem in problems(dataset)[:30]:
        item = p.item(problem, timeout_s=5)
        for output in _outputs(problem):
            want = official_prediction(official_code(item.prompt, output), dataset, item.first_reference)
            got = p.harness.prediction(harness_output(item.prompt, output, CFT_STOP), dataset, item.first_reference)
            n += 1
            if got != want:
                mismatched.append((problem.id, output[:60], got, want))
    assert n == 13 * min(count, 30) and mismatched == []
