"""Monte-Carlo step labels (the automatic labels of DeepCritic's RL stage), as pure functions.

A generator samples N solutions per problem; each final answer is checked against the reference.
Problems with both right and wrong solutions are kept. For a kept solution, K continuations are
rolled out from every step prefix; the *estimate* of step i is the fraction of the continuations from
the prefix ending with step i that reach the reference answer. The first wrong step is the first step
whose estimate is at or below ``threshold`` (0.0 = the "hard" estimate: no continuation recovers).

The last step needs no rollouts: the prefix ending with it is the whole solution, whose own final
answer decides (estimate 1.0 if right, 0.0 if wrong). So a solution with a wrong final answer always
gets a label, and one with a right answer may still get one (an error that a later step cancels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from deepcritic.data.records import NO_ERROR, StepRecord


def keep_problem(correct: Sequence[bool]) -> bool:
    """A problem is worth labeling only when its sampled solutions include both a right and a wrong one."""
    return any(correct) and not all(correct)


def solutions_to_label(correct: Sequence[bool], num_correct: int = 1) -> list[int]:
    """Indices of the solutions to roll out: every wrong one and the first ``num_correct`` right ones.

    Deterministic (the first right solutions in sampling order), so a rerun picks the same set.
    ``num_correct < 0`` keeps every right solution.
    """
    right = [i for i, ok in enumerate(correct) if ok]
    chosen_right = set(right if num_correct < 0 else right[:num_correct])
    return [i for i, ok in enumerate(correct) if not ok or i in chosen_right]


def step_estimates(prefix_hits: Sequence[Sequence[bool]], final_correct: bool) -> list[float]:
    """Per-step estimates: ``prefix_hits[i]`` are the continuation outcomes from the prefix ending at step i.

    ``prefix_hits`` covers every step but the last (see the module docstring); the last step's
    estimate is the solution's own correctness. A step with no continuations raises ValueError.
    """
    estimates = []
    for i, hits in enumerate(prefix_hits):
        if not hits:
            raise ValueError(f"step {i} has no rollouts; every step prefix needs at least one")
        estimates.append(sum(bool(h) for h in hits) / len(hits))
    return estimates + [1.0 if final_correct else 0.0]


def first_wrong_step(estimates: Sequence[float], threshold: float = 0.0) -> int:
    """0-based index of the first step whose estimate is <= ``threshold``; -1 when every step is above it."""
    for i, value in enumerate(estimates):
        if value <= threshold:
            return i
    return NO_ERROR


@dataclass(frozen=True)
class SampledSolution:
    """One generated solution: its steps and whether its final answer matched the reference."""

    steps: list[str]
    correct: bool
    text: str = ""


def mc_record(
    problem_id: str,
    source: str,
    problem: str,
    answer: str | None,
    solution_index: int,
    solution: SampledSolution,
    estimates: Sequence[float],
    threshold: float,
    rollouts_per_step: int,
    generator: str,
) -> StepRecord:
    """A data-contract record for one labeled solution, with the estimates and provenance in ``meta``."""
    return StepRecord(
        id=f"{problem_id}-s{solution_index}",
        source=source,
        problem=problem,
        steps=list(solution.steps),
        label=first_wrong_step(estimates, threshold),
        answer=answer,
        meta={
            "mc_estimates": [round(float(e), 6) for e in estimates],
            "mc_threshold": threshold,
            "rollouts_per_step": rollouts_per_step,
            "final_answer_correct": solution.correct,
            "generator": generator,
            "problem_id": problem_id,
        },
    )
