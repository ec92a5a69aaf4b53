"""The one record type that flows through every stage: a step-labeled solution (DESIGN.md, data contract)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from deepcritic.errors import DataError

NO_ERROR = -1  # label value meaning "no step is wrong"


@dataclass
class StepRecord:
    """A solution split into steps, labeled with the 0-based index of its first wrong step (-1: none)."""

    id: str
    source: str
    problem: str
    steps: list[str]
    label: int
    answer: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def has_error(self) -> bool:
        return self.label != NO_ERROR

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_from_dict(raw: Any, file: str = "<memory>", where: str = "") -> StepRecord:
    """Validate a raw mapping against the data contract and build a :class:`StepRecord`.

    Raises :class:`DataError` naming the file, the line/record, the field and what was expected, for:
    a non-object, a missing or mistyped field, an empty step list or an empty step, a label outside
    [-1, len(steps) - 1].
    """
    if not isinstance(raw, dict):
        raise DataError(file, where, None, "a JSON object", raw)

    def need(name: str, kind: type | tuple[type, ...], desc: str) -> Any:
        if name not in raw:
            raise DataError(file, where, name, f"{desc} (field is missing)")
        value = raw[name]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise DataError(file, where, name, desc, value)
        return value

    rid = need("id", (str, int), "a string id")
    source = need("source", str, "a string source name")
    problem = need("problem", str, "a non-empty string")
    if not problem.strip():
        raise DataError(file, where, "problem", "a non-empty string", problem)
    steps = need("steps", list, "a non-empty list of strings")
    if not steps:
        raise DataError(file, where, "steps", "a non-empty list of strings", steps)
    for i, step in enumerate(steps):
        if not isinstance(step, str):
            raise DataError(file, where, f"steps[{i}]", "a string", step)
        if not step.strip():
            raise DataError(file, where, f"steps[{i}]", "a non-empty step text", step)
    label = need("label", int, "an integer label")
    if not NO_ERROR <= label <= len(steps) - 1:
        raise DataError(
            file, where, "label", f"an integer in [-1, {len(steps) - 1}] (-1 = no wrong step; 0-based)", label
        )
    answer = raw.get("answer")
    if answer is not None and not isinstance(answer, (str, int, float)):
        raise DataError(file, where, "answer", "a string or null", answer)
    meta = raw.get("meta") or {}
    if not isinstance(meta, dict):
        raise DataError(file, where, "meta", "an object", meta)
    return StepRecord(
        id=str(rid), source=source, problem=problem, steps=list(steps), label=label,
        answer=None if answer is None else str(answer), meta=dict(meta),
    )


def write_jsonl(records: Iterable[StepRecord | dict[str, Any]], path: str | Path) -> int:
    """Write records (or plain dicts) as JSON Lines, UTF-8, one object per line; returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            obj = rec.to_dict() if isinstance(rec, StepRecord) else rec
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
            n += 1
    return n


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield (1-based line number, parsed object) for each non-blank line; a bad line raises DataError."""
    path = Path(path)
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(str(path), f"line {lineno}", None, f"UTF-8 text ({exc.reason} at byte {exc.start})")
            try:
                yield lineno, json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataError(str(path), f"line {lineno}", None, f"one JSON object per line ({exc.msg} at column {exc.colno})")
