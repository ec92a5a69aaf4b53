"""Contract files, and any file or Hub dataset described by a field mapping (``data.fields``).

``data.fields`` maps a record field to a source field: ``{problem: question, label: meta.first_error}``.
A source field may be a dotted path through objects and lists (``solution.steps``, ``labels.0``); a key
that itself contains dots is found first. A record field left unmapped is read from the source field
of the same name when present; otherwise ``id`` defaults to ``<source>-<index>`` (0-based position in
the file), ``answer`` to null and ``meta`` to ``{}``. ``source`` is ``data.name`` when set, else the
mapped or same-named value, else the default name (file stem or Hub name).

Labels in other conventions are converted without code: ``data.label_base=1`` reads 1-based step numbers
(MR-GSM8K's raw release, many annotation tools) and ``data.no_error_labels=[N/A]`` names the values that mean
"no wrong step" besides -1 (and null). :func:`label_from` does it, for ``deepcritic score`` too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from deepcritic.data.sources import FieldProblem, require_object

RECORD_FIELDS = ("id", "source", "problem", "steps", "label", "answer", "meta")
MISSING = object()


def convert_contract(obj: Any, index: int, *, name: str | None = None) -> dict:
    """A contract record as is; ``name`` (``data.name``) replaces its ``source`` when set."""
    obj = require_object(obj)
    return {**obj, "source": name} if name else obj


def convert_mapped(
    obj: Any,
    index: int,
    *,
    fields: Mapping[str, str],
    default_name: str,
    name: str | None = None,
    label_base: int = 0,
    no_error_labels: Sequence[str] = (),
) -> dict:
    """One raw object -> contract dict through the field mapping (see the module docstring)."""
    obj = require_object(obj)
    out: dict[str, Any] = {}
    for record_field in RECORD_FIELDS:
        value = _lookup(obj, record_field, fields)
        if value is not MISSING:
            out[record_field] = value
    if "label" in out and (label_base or no_error_labels):
        try:
            out["label"] = label_from(out["label"], label_base, no_error_labels)
        except ValueError as exc:
            raise FieldProblem("wrong type", fields.get("label", "label"), str(exc), out["label"]) from None
    if name or "source" not in out:
        out["source"] = name or default_name
    out.setdefault("id", f"{out['source']}-{index}")
    return out


def label_from(value: Any, base: int = 0, no_error: Sequence[str] = ("N/A",)) -> int:
    """A first-wrong-step label in ``base`` (0 or 1) -> the contract's 0-based label.

    -1, null and the strings in ``no_error`` (compared stripped, case-insensitively) mean "no wrong step".
    An integer, or a string of one, is a step. Raises ValueError (saying what was expected) otherwise, and for
    a step that does not exist in ``base`` (0 when steps are numbered from 1).
    """
    markers = {m.strip().lower() for m in no_error}
    if value is None or (isinstance(value, str) and value.strip().lower() in markers):
        return -1
    expected = f"a step number (from {base}), -1 or one of {sorted(markers) or ['null']}"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(expected)
    try:
        k = int(value)
    except ValueError:
        raise ValueError(expected) from None
    if k == -1:
        return -1
    if k < base:
        raise ValueError(f"a step number from {base} (there is no step {k})")
    return k - base


def unknown_fields(fields: Mapping[str, str]) -> list[str]:
    """Mapping keys that are not record fields (a typo there would otherwise be silently ignored)."""
    return sorted(set(fields) - set(RECORD_FIELDS))


def _lookup(obj: dict, record_field: str, fields: Mapping[str, str]) -> Any:
    """The value for ``record_field``: through the mapping (missing -> FieldProblem), else same name."""
    if record_field not in fields:
        return obj.get(record_field, MISSING)
    path = fields[record_field]
    value = dig(obj, path)
    if value is MISSING:
        raise FieldProblem("missing field", path, f"a value for record field '{record_field}' (field is missing)")
    return value


def dig(obj: Any, path: str) -> Any:
    """Follow a dotted path through dicts (keys) and lists (integer indices); ``MISSING`` if absent."""
    if isinstance(obj, dict) and path in obj:
        return obj[path]
    head, _, rest = path.partition(".")
    if isinstance(obj, dict):
        child = obj.get(head, MISSING)
    elif isinstance(obj, list) and head.lstrip("-").isdigit() and -len(obj) <= int(head) < len(obj):
        child = obj[int(head)]
    else:
        return MISSING
    if child is MISSING or not rest:
        return child
    return dig(child, rest)
