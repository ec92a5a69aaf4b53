"""The one record type that flows through every stage: a step-labeled solution (DESIGN.md, data contract)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from deepcritic.data.jsontext import Decoder, Unparsable, foreign_bom, json_problem, lines, not_utf8_expected
from deepcritic.errors import DataError, RecordError

__all__ = [
    "NO_ERROR",
    "DataError",
    "RecordError",
    "StepRecord",
    "iter_jsonl",
    "record_from_dict",
    "text_of",
    "write_jsonl",
]

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

    Raises :class:`RecordError` (a :class:`DataError`) naming the file, the line/record, the field and
    what was expected, for: a non-object, a missing or mistyped field, an empty step list or an empty
    step, a label outside [-1, len(steps) - 1]. Its ``reason`` is the short key a skipped record is
    counted under (``"missing field"``, ``"wrong type"``, ``"label out of range"``, ...).
    """

    def bad(reason: str, name: str | None, expected: str, got: object = None) -> RecordError:
        return RecordError(reason, file, where, name, expected, got, raw=raw)

    if not isinstance(raw, dict):
        raise bad("not an object", None, "a JSON object", raw)

    def need(name: str, kind: type | tuple[type, ...], desc: str) -> Any:
        if name not in raw:
            raise bad("missing field", name, f"{desc} (field is missing)")
        value = raw[name]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise bad("wrong type", name, desc, value)
        return value

    rid = need("id", (str, int), "a string id")
    source = need("source", str, "a string source name")
    problem = need("problem", str, "a non-empty string")
    if not problem.strip():
        raise bad("empty problem", "problem", "a non-empty string", problem)
    steps = need("steps", list, "a non-empty list of strings")
    if not steps:
        raise bad("empty steps", "steps", "a non-empty list of strings", steps)
    for i, step in enumerate(steps):
        if not isinstance(step, str):
            raise bad("wrong type", f"steps[{i}]", "a string", step)
        if not step.strip():
            raise bad("empty step", f"steps[{i}]", "a non-empty step text", step)
    label = need("label", int, "an integer label")
    if not NO_ERROR <= label <= len(steps) - 1:
        raise bad(
            "label out of range", "label", f"an integer in [-1, {len(steps) - 1}] (-1 = no wrong step; 0-based)", label
        )
    answer = raw.get("answer")
    if answer is not None and text_of(answer) is None:
        raise bad("wrong type", "answer", "a string or null", answer)
    meta = raw.get("meta") or {}
    if not isinstance(meta, dict):
        raise bad("wrong type", "meta", "an object", meta)
    return StepRecord(
        id=str(rid),
        source=source,
        problem=problem,
        steps=list(steps),
        label=label,
        answer=None if answer is None else text_of(answer),
        meta=dict(meta),
    )


def text_of(value: Any) -> str | None:
    """``value`` as text when it is a string or a finite number (not a bool), else None.

    Reference answers are often numbers (``42``), and files keep them so; but ``NaN``, ``Infinity`` and ``1e999``,
    which JSON readers and parquet columns hand over as floats, are no answer (``"nan"`` would be graded as
    one), and neither is ``true``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return str(value) if isinstance(value, int) or math.isfinite(value) else None


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


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any, RecordError | None]]:
    """Yield ``(1-based line number, parsed object, None)`` per non-blank line, or ``(n, None, error)``.

    A bad line (not UTF-8, not JSON, or JSON that no record can hold: :mod:`deepcritic.data.jsontext`) is
    yielded as a :class:`RecordError` rather than raised, so that a caller skipping bad records can go on with
    the next line; a caller that must stop raises it. The error's ``raw`` is the line's text (undecodable bytes
    shown as backslash escapes). ``\\r\\n``, ``\\n`` and a lone ``\\r`` each end a line; a UTF-8 byte-order
    mark is dropped. A file that starts with a UTF-16 or UTF-32 byte-order mark raises :class:`DataError`.
    """
    path = Path(path)
    decoder = Decoder()
    with path.open("rb") as fh:
        for lineno, raw in enumerate(lines(fh), start=1):
            if lineno == 1 and (encoding := foreign_bom(raw)):
                raise DataError(str(path), "line 1", None, not_utf8_expected(encoding))
            if raw.strip():
                parsed = _parse_line(decoder, str(path), lineno, raw)
                if parsed is not None:
                    yield parsed


def _parse_line(decoder: Decoder, file: str, lineno: int, raw: bytes) -> tuple[int, Any, RecordError | None] | None:
    """Decode and parse one JSONL line (None: blank once a byte-order mark is dropped); errors are returned
    (see :func:`iter_jsonl`), never raised."""
    where = f"line {lineno}"
    try:
        text = raw.decode("utf-8")
        if text.startswith("\ufeff"):  # a BOM may open the file (or a file pasted onto the end of another)
            text = text[1:]
    except UnicodeDecodeError as exc:
        shown = raw.decode("utf-8", errors="backslashreplace")
        expected = f"UTF-8 text ({exc.reason} at byte {exc.start} of the line)"
        return lineno, None, RecordError("not UTF-8", file, where, None, expected, raw=shown)
    if not text.strip():
        return None
    try:
        obj, _, flaw = decoder.decode(text, whole=True)
    except Unparsable as exc:
        expected = exc.expected or f"one JSON object per line ({json_problem(exc.problem, exc.pos + 1)}{_nul(text)})"
        return lineno, None, RecordError(exc.reason, file, where, None, expected, raw=text)
    if flaw is not None:
        return lineno, None, RecordError(flaw.reason, file, where, flaw.field, flaw.expected, flaw.got, raw=text)
    return lineno, obj, None


def _nul(text: str) -> str:
    """A hint for a line holding NUL characters, which no text file has."""
    return "; the line holds NUL bytes: a binary file, or UTF-16 without a byte-order mark?" if "\0" in text else ""
