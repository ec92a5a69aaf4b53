"""Problem sets for ``label`` and ``cft-data``: every set's problems with a usable reference answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deepcritic.config import ProblemsConfig, sections
from deepcritic.datagen.labeling import reference_answer
from deepcritic.errors import DeepcriticError
from deepcritic.eval.problems import load_problems


@dataclass(frozen=True)
class SetProblem:
    """A problem: unique id ``<set>/<id>``, its set's name, its text and its reference final answer."""

    id: str
    set: str
    problem: str
    answer: str


def load_problem_sets(problems: dict[str, Any], limit: int | None, reference: str) -> tuple[list[SetProblem], int]:
    """Problems of every set (at most ``limit`` per set) with a reference answer, and how many had none.

    Raises :class:`DeepcriticError` for a duplicate id or when no problem has a reference answer.
    """
    out, skipped = [], 0
    for name, cfg in sections(problems, ProblemsConfig, "problems").items():
        for p in load_problems(cfg, limit):
            answer = reference_answer(p.answer, reference)
            if answer is None:
                skipped += 1
            else:
                out.append(SetProblem(f"{name}/{p.id}", name, p.problem, answer))
    seen: set[str] = set()
    for p in out:
        if p.id in seen:
            raise DeepcriticError(f"problem id {p.id!r} appears twice: ids must be unique within a problem set "
                                  f"(map an id column: problems.{p.set}.fields.id=<column>)")
        seen.add(p.id)
    if not out:
        raise DeepcriticError(f"no problem has a reference answer (reference={reference!r}); when the answer column "
                              "holds a worked solution, use reference=boxed")
    return out, skipped
