r"""Monte-Carlo labeling around :mod:`deepcritic.data.mc`: grading sampled solutions, choosing what to roll
out, and the continuation prompt (pure functions over texts; math-verify grades the answers).

Continuations are asked for in the user turn, so every backend (vLLM offline, an OpenAI-compatible
server, HF) can serve them: the prompt holds the problem and the solution's first i steps, tagged
``Step 1:`` ... , then asks to go on from Step i+1. The instructions come before the steps and the request
to continue after them, so the prompts for successive prefixes of one solution share everything up to
the end of the shorter prefix: vLLM's prefix cache reuses that part of the KV cache.

Which solutions are usable: non-empty (at least one step), not cut at the length limit (a cut solution
has no final answer, and its missing answer is not a step's fault), and at most ``max_steps`` steps (the
rollout cost grows with the step count). A problem is kept when its usable solutions include both a right
and a wrong one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deepcritic.answers import extract_boxed, is_correct
from deepcritic.critique import fill, tag_steps
from deepcritic.data import split_steps
from deepcritic.data.mc import keep_problem, solutions_to_label


def graded_solution(text: str, finish_reason: str | None, reference: str, timeout_s: int = 5) -> dict[str, Any]:
    """A sampled solution as stored: its text, steps (split on markers / paragraphs), and answer correctness."""
    return {
        "text": text,
        "finish_reason": finish_reason,
        "steps": split_steps(text),
        "answer": extract_boxed(text),
        "correct": is_correct(text, reference, timeout_s),
    }


def usable(solution: dict[str, Any], max_steps: int) -> bool:
    """Whether a sampled solution can be labeled (see the module docstring)."""
    return bool(solution["steps"]) and solution["finish_reason"] != "length" and len(solution["steps"]) <= max_steps


def plan(solutions: Sequence[dict[str, Any]], num_correct: int, max_steps: int) -> list[int]:
    """Indices of the solutions to roll out: [] when the problem is not kept (no right or no wrong usable one).

    Among the usable solutions: every wrong one and the first ``num_correct`` right ones (-1: all).
    """
    use = [i for i, s in enumerate(solutions) if usable(s, max_steps)]
    correct = [bool(solutions[i]["correct"]) for i in use]
    if not keep_problem(correct):
        return []
    return [use[k] for k in solutions_to_label(correct, num_correct)]


def continue_messages(template: str, problem: str, prefix: Sequence[str]) -> list[dict[str, str]]:
    """Chat messages asking to continue a solution after its steps ``prefix`` (at least one step)."""
    return [
        {
            "role": "user",
            "content": fill(template, problem=problem, solution=tag_steps(list(prefix)), step=str(len(prefix) + 1)),
        }
    ]


def solution_id(problem_id: str, index: int) -> str:
    """The id of a labeled solution: the record id that :func:`deepcritic.data.mc.mc_record` gives it."""
    return f"{problem_id}-s{index}"


def problem_outcome(solutions: Sequence[dict[str, Any]], max_steps: int) -> str:
    """Why a problem is kept or not: ``kept``, ``all_right``, ``all_wrong`` or ``none_usable``."""
    correct = [bool(s["correct"]) for s in solutions if usable(s, max_steps)]
    if not correct:
        return "none_usable"
    if keep_problem(correct):
        return "kept"
    return "all_right" if all(correct) else "all_wrong"
