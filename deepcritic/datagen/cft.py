"""Critique Fine-Tuning samples (``deepcritic cft-data``), as pure functions over texts.

The teacher critiques a candidate solution and ends with one line ``Conclusion: right`` or
``Conclusion: wrong``. Read leniently (markdown emphasis, any case, a trailing period or ``[END]``), it
is written back normalized: the critique, a blank line, ``Conclusion: right|wrong``. Rows take the
WebInstruct-CFT form that ``deepcritic cft`` reads (``chat=webinstruct_cft chat.path=<file>``)::

    {"instruction": "<the critique request>",
     "input": "Question:\\n<question>\\n\\nSolution:\\n<candidate solution>",
     "output": "<critique>\\n\\nConclusion: wrong",
     "meta": {...}}

so the trainer's user turn is instruction + blank line + input and its target is the output.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deepcritic.answers import is_correct
from deepcritic.config import CandidatesConfig
from deepcritic.data.readers import iter_file, require_file
from deepcritic.errors import DataError

CONCLUSIONS = ("right", "wrong")

# The whole last non-empty line; bounded quantifiers over disjoint classes (linear time on any input).
_CONCLUSION_RE = re.compile(
    r"[ \t#>*_]{0,12}conclusion[ \t*_]{0,6}:[ \t*_]{0,6}(right|wrong)[ \t*_.!]{0,8}(?:\[END\])?[ \t.]{0,4}",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Candidate:
    """A (question, candidate solution) pair; ``correct`` is math-verify's verdict when a reference is known."""

    id: str
    question: str
    solution: str
    reference: str | None = None
    correct: bool | None = None


def read_conclusion(text: str) -> str | None:
    """``"right"`` / ``"wrong"`` from the critique's last non-empty line, or None when it has no conclusion line."""
    lines = text.rstrip().splitlines()
    match = _CONCLUSION_RE.fullmatch(lines[-1]) if lines else None
    return match.group(1).lower() if match else None


def normalized_critique(text: str) -> str | None:
    """The critique with its conclusion line rewritten as ``Conclusion: right|wrong``; None without one."""
    conclusion = read_conclusion(text)
    if conclusion is None:
        return None
    body = "\n".join(text.rstrip().splitlines()[:-1]).strip()
    return f"{body}\n\nConclusion: {conclusion}" if body else None


def agrees(conclusion: str | None, correct: bool | None) -> bool | None:
    """Whether a conclusion matches the candidate's graded correctness (None when either is unknown)."""
    if conclusion is None or correct is None:
        return None
    return (conclusion == "right") == correct


def pick(texts: Sequence[str], correct: bool | None, require_agreement: bool) -> int | None:
    """The first critique with a usable conclusion that, when required and a reference is known, agrees."""
    for i, text in enumerate(texts):
        if normalized_critique(text) is None:
            continue
        if require_agreement and agrees(read_conclusion(text), correct) is False:
            continue
        return i
    return None


def cft_input(question: str, solution: str) -> str:
    """The ``input`` field: the question and the candidate solution, labeled."""
    return f"Question:\n{question.strip()}\n\nSolution:\n{solution.strip()}"


def cft_row(instruction: str, candidate: Candidate, critique: str, meta: dict[str, Any]) -> dict[str, Any]:
    """One WebInstruct-CFT-style row, with provenance in ``meta``."""
    return {
        "instruction": instruction,
        "input": cft_input(candidate.question, candidate.solution),
        "output": critique,
        "meta": {"id": candidate.id, "reference": candidate.reference, "candidate_correct": candidate.correct, **meta},
    }


def read_candidates(cfg: CandidatesConfig, limit: int | None = None, timeout_s: int = 5) -> list[Candidate]:
    """(question, solution) pairs from a local json/jsonl/parquet file; graded when it has an answer column.

    Raises :class:`DataError` naming the file, row and field for a row without a question or a solution.
    """
    path = require_file(cfg.path)
    caps = [c for c in (cfg.limit, limit) if c is not None]
    out: list[Candidate] = []
    for index, (where, row, error) in enumerate(iter_file(path)):
        if caps and len(out) >= min(caps):
            break
        if error is not None:
            raise error
        out.append(_candidate(row, cfg, str(path), where, index, timeout_s))
    if not out:
        raise DataError(str(path), "", None, "at least one (question, solution) row (none found)")
    return out


def _candidate(row: Any, cfg: CandidatesConfig, file: str, where: str, index: int, timeout_s: int) -> Candidate:
    if not isinstance(row, dict):
        raise DataError(file, where, None, f"an object with {cfg.question_field} and {cfg.solution_field}", row)

    def text(name: str) -> str:
        value = row.get(name)
        if not isinstance(value, str) or not value.strip():
            raise DataError(
                file, where, name, "a non-empty string" + ("" if name in row else " (field is missing)"), value
            )
        return value

    question, solution = text(cfg.question_field), text(cfg.solution_field)
    reference = (
        str(row[cfg.answer_field]).strip() if cfg.answer_field and row.get(cfg.answer_field) is not None else None
    )
    correct = is_correct(solution, reference, timeout_s) if reference else None
    rid = str(row[cfg.id_field]) if cfg.id_field and row.get(cfg.id_field) is not None else str(index)
    return Candidate(rid, question, solution, reference, correct)
