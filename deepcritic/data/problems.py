r"""Math problems with reference answers: ``solve``, ``refine`` and ``verify-vote`` (one set at a time) and
``label`` and ``cft-data`` (every set, ids made unique across sets: :func:`load_problem_sets`).

Sources (``ProblemsConfig.source``), each a local file (``path``) in the format named, or the Hub where a copy
in that format exists:
  - ``math500``: fields problem / solution / answer / unique_id (PRM800K's math_splits/test.jsonl; the Hub's
    HuggingFaceH4/MATH-500, split test). The full MATH test in the same format reads the same way.
  - ``gsm8k``: fields question / answer, the reference answer being the number after ``####`` (openai/grade-school-math
    test.jsonl; the Hub's openai/gsm8k, subset main).
  - The other sets of the CFT paper's evaluation, in the files of the Qwen2.5-Math harness
    (``evaluation/data/<name>/test.jsonl`` of QwenLM/Qwen2.5-Math; TheoremQA from TIGER-AI-Lab/CritiqueFineTuning):
    ``aime24`` (id / problem / answer; the Hub's HuggingFaceH4/aime_2024, split train), ``amc23`` (id / problem /
    answer, a number), ``minerva_math`` (problem / solution, the answer the solution's last ``\boxed{}``),
    ``olympiadbench`` (id / question / final_answer, a list: its items joined by ", ") and ``theoremqa``
    (problem / answer).
  - ``file`` / ``hub``: any json / jsonl / parquet file or Hub dataset, ``fields`` mapping ``problem``
    and ``answer`` (and optionally ``id``) to columns.
Each problem keeps its source row (``MathProblem.row``): an official harness derives its own question and reference
from it (:mod:`deepcritic.eval.solver_protocols`). A row without a usable problem or answer is a :class:`DataError`
naming the file, row and field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from deepcritic.answers import extract_boxed, gsm8k_reference, reference_answer
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
    "aime24": {"hub_name": "HuggingFaceH4/aime_2024", "fields": {"problem": "problem", "answer": "answer", "id": "id"}},
    "amc23": {"fields": {"problem": "problem", "answer": "answer", "id": "id"}},
    "minerva_math": {"fields": {"problem": "problem", "answer": "solution"}},
    "olympiadbench": {"fields": {"problem": "question", "answer": "final_answer", "id": "id"}},
    "theoremqa": {"fields": {"problem": "problem", "answer": "answer"}},
}


def _final_answers(value: Any) -> str | None:
    """OlympiadBench's final_answer list: its items, ``$`` stripped, joined by ", " (None when not a list)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return ", ".join(v.strip().strip("$") for v in value) or None


#: Sources whose answer column is not the bare answer: (how to read it, what the column must hold).
_ANSWER_READERS: dict[str, tuple[Callable[[Any], str | None], str]] = {
    "gsm8k": (lambda v: gsm8k_reference(str(v)), "a GSM8K solution ending in '#### <number>'"),
    "minerva_math": (lambda v: extract_boxed(str(v)), "a solution with its answer in \\boxed{}"),
    "olympiadbench": (_final_answers, "a list of final answers"),
}


@dataclass(frozen=True)
class MathProblem:
    """A problem and its reference final answer (bare LaTeX or a number)."""

    id: str
    problem: str
    answer: str
    source: str = ""  # the problem set's format (ProblemsConfig.source)
    row: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the source row as read


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
        out.append(problem_from_row(row, fields, cfg.source, file=_label(cfg, defaults), where=where, index=index))
    if not out:
        raise DataError(_label(cfg, defaults), "", None, "at least one problem (none found)")
    return out


def load_benchmarks(benchmarks: dict[str, Any], limit: int | None) -> dict[str, list[MathProblem]]:
    """Every named problem set of a ``benchmarks`` section (``solve``, ``refine``, ``verify-vote``), at most
    ``limit`` problems each."""
    return {name: load_problems(p, limit) for name, p in sections(benchmarks, ProblemsConfig, "benchmarks").items()}


def problem_from_row(row: Any, fields: dict[str, str], source: str, file: str, where: str, index: int) -> MathProblem:
    r"""One :class:`MathProblem` from a raw row; ``fields`` maps problem / answer / id to columns.

    The answer column of ``gsm8k`` (a reference solution: its ``#### N``), ``minerva_math`` (a solution: its last
    ``\boxed{}``) and ``olympiadbench`` (a list) is read by the source's rule. Raises :class:`DataError` for a row
    that is not an object, or a missing or empty problem / answer.
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

    problem = text("problem")
    if source in _ANSWER_READERS:
        read, expected = _ANSWER_READERS[source]
        value = row.get(fields["answer"])
        answer = read(value) if value is not None else None
        if not answer:
            raise DataError(file, where, fields["answer"], expected, value)
    else:
        answer = text("answer")
    rid = row.get(fields["id"]) if "id" in fields else None
    return MathProblem(str(rid) if rid is not None else str(index), problem, answer, source, row)


def _items(cfg: ProblemsConfig, defaults: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    if cfg.path:
        return iter_file(require_file(cfg.path))
    hub_name = cfg.hub_name or defaults.get("hub_name")
    if not hub_name:  # the config check says so first; a direct caller gets the same message
        raise DeepcriticError(f"problem-set format {cfg.source!r} has no Hub copy: set path=<its test.jsonl>")
    return _hub_rows(hub_name, cfg.subset or defaults.get("subset"), cfg.split)


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
