"""Math problems with reference answers: ``solve``, ``refine`` and ``verify-vote`` (one set at a time) and
``label`` and ``cft-data`` (every set, ids made unique across sets: :func:`load_problem_sets`).

Sources (``ProblemsConfig.source``):
  - ``math500``: fields problem / answer / unique_id; a local file (``path``, e.g. PRM800K's
    math_splits/test.jsonl) or the Hub (HuggingFaceH4/MATH-500, split test).
  - ``gsm8k``: fields question / answer, the reference answer being the number after ``####``; a
    local file (openai/grade-school-math test.jsonl) or the Hub (openai/gsm8k, subset main).
  - ``file`` / ``hub``: any json / jsonl / parquet file or Hub dataset, ``fields`` mapping ``problem``
    and ``answer`` (and optionally ``id``) to columns.
A row without a usable problem or answer is a :class:`DataError` naming the file, row and field.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from deepcritic.answers import gsm8k_reference, reference_answer
from deepcritic.config import ProblemsConfig, sections
from deepcritic.data.readers import iter_file, require_file
from deepcritic.data.records import text_of
from deepcritic.errors import DataError, DeepcriticError

_DEFAULTS: dict[str, dict[str, Any]] = {
    "math500": {
        "hub_name": "HuggingFaceH4/MATH-500",
        "subset": None,
        "fields": {"problem": "problem", "answer": "answer", "id": "unique_id"},
    },
    "gsm8k": {"hub_name": "openai/gsm8k", "subset": "main", "fields": {"problem": "question", "answer": "answer"}},
}


@dataclass(frozen=True)
class MathProblem:
    """A problem and its reference final answer (bare LaTeX or a number)."""

    id: str
    problem: str
    answer: str


def load_problems(cfg: ProblemsConfig, limit: int | None = None) -> list[MathProblem]:
    """Problems of one problem set, at most ``min(cfg.limit, limit)`` of them (None: no limit)."""
    defaults = _DEFAULTS.get(cfg.source, {})
    fields = {**defaults.get("fields", {}), **{str(k): str(v) for k, v in dict(cfg.fields).items()}}
    caps = [c for c in (cfg.limit, limit) if c is not None]
    cap = min(caps) if caps else None
    out: list[MathProblem] = []
    for index, (where, row, error) in enumerate(_items(cfg, defaults)):
        if cap is not None and len(out) >= cap:
            break
        if error is not None:
            raise error
        out.append(
            problem_from_row(
                row, fields, gsm8k=cfg.source == "gsm8k", file=_label(cfg, defaults), where=where, index=index
            )
        )
    if not out:
        raise DataError(_label(cfg, defaults), "", None, "at least one problem (none found)")
    return out


def load_benchmarks(benchmarks: dict[str, Any], limit: int | None) -> dict[str, list[MathProblem]]:
    """Every named problem set of a ``benchmarks`` section (``solve``, ``refine``, ``verify-vote``), at most
    ``limit`` problems each."""
    return {name: load_problems(p, limit) for name, p in sections(benchmarks, ProblemsConfig, "benchmarks").items()}


def problem_from_row(row: Any, fields: dict[str, str], gsm8k: bool, file: str, where: str, index: int) -> MathProblem:
    """One :class:`MathProblem` from a raw row; ``fields`` maps problem / answer / id to columns.

    With ``gsm8k`` the answer column is a reference solution and the answer is its ``#### N`` part.
    Raises :class:`DataError` for a row that is not an object, or a missing or empty problem / answer.
    """
    if not isinstance(row, dict):
        raise DataError(file, where, None, "an object with problem and answer fields", row)

    def text(name: str) -> str:
        column = fields[name]
        value = row.get(column)
        found = text_of(value)  # a string or a finite number: NaN, Infinity and 1e999 are no answer
        if found is None or not found.strip():
            raise DataError(file, where, column, f"a non-empty {name} text", value)
        return found.strip()

    problem, answer = text("problem"), text("answer")
    if gsm8k:
        final = gsm8k_reference(answer)
        if final is None:
            raise DataError(file, where, fields["answer"], "a GSM8K solution ending in '#### <number>'", answer)
        answer = final
    rid = row.get(fields["id"]) if "id" in fields else None
    return MathProblem(id=str(rid) if rid is not None else str(index), problem=problem, answer=answer)


def _items(cfg: ProblemsConfig, defaults: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    if cfg.path:
        return iter_file(require_file(cfg.path))
    return _hub_rows(cfg.hub_name or defaults["hub_name"], cfg.subset or defaults.get("subset"), cfg.split)


def _hub_rows(name: str, subset: str | None, split: str) -> Iterator[tuple[str, Any, Any]]:
    import datasets

    for i, row in enumerate(datasets.load_dataset(name, subset, split=split)):
        yield f"row {i}", row, None


def _label(cfg: ProblemsConfig, defaults: dict[str, Any]) -> str:
    if cfg.path:
        return cfg.path
    return f"hf://{cfg.hub_name or defaults.get('hub_name')}[{cfg.split}]"


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
            raise DeepcriticError(
                f"problem id {p.id!r} appears twice: ids must be unique within a problem set "
                f"(map an id column: problems.{p.set}.fields.id=<column>)"
            )
        seen.add(p.id)
    if not out:
        raise DeepcriticError(
            f"no problem has a reference answer (reference={reference!r}); when the answer column "
            "holds a worked solution, use reference=boxed"
        )
    return out, skipped
