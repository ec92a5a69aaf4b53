r"""Monte-Carlo labeling around :mod:`deepcritic.data.mc`: grading sampled solutions, choosing what to roll
out, and the prompts (pure functions over texts; math-verify grades the answers).

How the generator is prompted (:class:`GeneratorPrompts`):

- solving: an optional system turn, then the solve template filled with the problem as the user turn (or, with
  ``problem_only``, the problem alone, as DeepCritic's scripts send it); with
  ``step_tags`` the assistant turn is prefilled with ``Step 1:`` so that the solution is written as
  ``Step k:`` steps (DeepCritic's solution sampling), and the stored solution is ``Step 1: `` + the completion.
- continuing a prefix of i steps, ``continuation=prefill`` (DeepCritic's rollouts): the same turns, then the
  assistant turn holding the prefix (its steps joined by blank lines, ``Step k:``-tagged with ``step_tags``), left
  open for the model to continue. ``continuation=user_turn``: one user turn holding the problem and the tagged
  prefix that asks to go on from Step i+1 (the continue template), for servers that cannot continue an
  assistant turn. Either way the prompts for successive prefixes of one solution share everything up to the end
  of the shorter prefix, so vLLM's prefix cache reuses that part of the KV cache.

DeepCritic's system turn is the math prompt of its rollout scripts; it is read from the pinned official
script (:data:`DEEPCRITIC_ROLLOUT`), never shipped.

Which solutions are usable: non-empty (at least one step), not cut at the length limit (a cut solution
has no final answer, and its missing answer is not a step's fault), at most ``max_steps`` steps (the
rollout cost grows with the step count), and with ``drop_unanswered`` a wrong one must have a ``\boxed{}``
answer (DeepCritic keeps only wrong solutions with an answer). A problem is kept when its usable solutions
include both a right and a wrong one.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deepcritic.answers import extract_boxed, is_correct
from deepcritic.critique import fill, solve_messages, strip_step_prefix, tag_steps
from deepcritic.data import split_steps
from deepcritic.data.mc import keep_problem, solutions_to_label
from deepcritic.errors import DeepcriticError
from deepcritic.eval.official import OfficialFile, official_bytes

Messages = list[dict[str, str]]
STEP_ONE = "Step 1:"

#: RUCBM/DeepCritic's rollout script; its Qwen chat template holds the math system prompt of the rollouts.
DEEPCRITIC_ROLLOUT = OfficialFile(
    "RUCBM/DeepCritic",
    "6a0cde9e58bc20ac69eecf79e36fac661d28eb6f",
    "Critique_Generation/wrong_solutions_rollout.py",
    "0d6a19982ee6a5f4509d4d4b76bdea930de06d1961492bc44265e5fbc8a55b22",
)


@dataclass(frozen=True)
class GeneratorPrompts:
    """How ``label`` prompts its generator (see the module docstring)."""

    solve_template: str
    continue_template: str = ""
    continuation: str = "prefill"  # prefill | user_turn
    system: str | None = None
    step_tags: bool = False
    problem_only: bool = False  # the user turn is the problem alone (no solve template)

    def _opening(self, problem: str) -> Messages:
        system = [{"role": "system", "content": self.system}] if self.system else []
        user = (
            [{"role": "user", "content": problem}]
            if self.problem_only
            else solve_messages(self.solve_template, problem)
        )
        return system + user

    def solve(self, problem: str) -> Messages:
        """The prompt that samples a solution."""
        start = [{"role": "assistant", "content": STEP_ONE}] if self.step_tags else []
        return self._opening(problem) + start

    def solution_text(self, completion: str) -> str:
        """The solution a completion of :meth:`solve` stands for (the prefilled ``Step 1:`` put back)."""
        return f"{STEP_ONE} {completion.strip()}" if self.step_tags else completion

    def steps(self, solution: str) -> list[str]:
        """A solution's steps: split on markers / paragraphs; tagged steps lose their ``Step k:`` tag."""
        steps = split_steps(solution)
        return [t for t in (strip_step_prefix(s) for s in steps) if t] if self.step_tags else steps

    def rollout(self, problem: str, prefix: Sequence[str]) -> Messages:
        """The prompt that continues a solution after its steps ``prefix`` (at least one step)."""
        if self.continuation == "user_turn":
            system = [{"role": "system", "content": self.system}] if self.system else []
            return system + continue_messages(self.continue_template, problem, prefix)
        text = tag_steps(list(prefix)) if self.step_tags else "\n\n".join(s.strip() for s in prefix)
        return self._opening(problem) + [{"role": "assistant", "content": text}]


def official_system_prompt(name: str, path: str | None = None) -> str:
    """The system turn of an official script (``deepcritic``: the rollout scripts' math prompt), read from the
    pinned file (downloaded once, or ``path``; sha256-checked) without running it."""
    if name != "deepcritic":
        raise DeepcriticError(f"unknown official system prompt {name!r}: use deepcritic")
    source = official_bytes(DEEPCRITIC_ROLLOUT, path).decode("utf-8")
    return chatml_system(source, DEEPCRITIC_ROLLOUT.name)


def chatml_system(source: str, origin: str) -> str:
    """The system text of the first ChatML template string assigned in Python ``source`` (a ``str.format``
    template: doubled braces read as single ones)."""
    opening, closing = "<|im_start|>system\n", "<|im_end|>"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            text = node.value.value
            if opening in text and closing in text.split(opening, 1)[1]:
                system = text.split(opening, 1)[1].split(closing, 1)[0]
                return system.replace("{{", "{").replace("}}", "}")
    raise DeepcriticError(f"{origin}: no ChatML template with a system turn is assigned in it")


def graded_solution(
    text: str,
    finish_reason: str | None,
    reference: str,
    timeout_s: int = 5,
    boxed_only: bool = False,
    steps: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A sampled solution as stored: its text, steps (``steps``, else split on markers / paragraphs), its boxed
    answer and whether it is correct (``boxed_only``: see :func:`deepcritic.answers.is_correct`)."""
    return {
        "text": text,
        "finish_reason": finish_reason,
        "steps": list(steps) if steps is not None else split_steps(text),
        "answer": extract_boxed(text),
        "correct": is_correct(text, reference, timeout_s, boxed_only),
    }


def usable(solution: dict[str, Any], max_steps: int, drop_unanswered: bool = False) -> bool:
    """Whether a sampled solution can be labeled (see the module docstring)."""
    if drop_unanswered and not solution["correct"] and solution["answer"] is None:
        return False
    return bool(solution["steps"]) and solution["finish_reason"] != "length" and len(solution["steps"]) <= max_steps


def plan(
    solutions: Sequence[dict[str, Any]], num_correct: int, max_steps: int, drop_unanswered: bool = False
) -> list[int]:
    """Indices of the solutions to roll out: [] when the problem is not kept (no right or no wrong usable one).

    Among the usable solutions: every wrong one and the first ``num_correct`` right ones (-1: all).
    """
    use = [i for i, s in enumerate(solutions) if usable(s, max_steps, drop_unanswered)]
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


def problem_outcome(solutions: Sequence[dict[str, Any]], max_steps: int, drop_unanswered: bool = False) -> str:
    """Why a problem is kept or not: ``kept``, ``all_right``, ``all_wrong`` or ``none_usable``."""
    correct = [bool(s["correct"]) for s in solutions if usable(s, max_steps, drop_unanswered)]
    if not correct:
        return "none_usable"
    if keep_problem(correct):
        return "kept"
    return "all_right" if all(correct) else "all_wrong"
