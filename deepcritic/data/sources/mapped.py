"""Contract files, and any file or Hub dataset described by a field mapping (``data.fields``).

``data.fields`` maps a record field to a source field: ``{problem: question, label: meta.first_error}``.
A source field may be a dotted path through objects and lists (``solution.steps``, ``labels.0``); a key
that itself contains dots is found first. A record field left unmapped is read from the source field
of the same name when present; otherwise ``id`` defaults to ``<source>-<index>`` (0-based position in
the file), ``answer`` to null and ``meta`` to ``{}``. ``source`` is ``data.name`` when set, else the
mapped or same-named value, else the default name (file stem or Hub name).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deepcritic.data.sources import FieldProblem, require_object

RECORD_FIELDS = ("id", "source", "problem", "steps", "label", "answer", "meta")
_MISSING = object()


def convert_contract(obj: Any, index: int, *, name: str | None = None) -> dict:
    """A contract record as is; ``name`` (``data.name``) replaces its ``source`` when set."""
    obj = require_object(obj)
    return {**obj, "source": name} if name else obj


def convert_mapped(
    obj: Any, index: int, *, fields: Mapping[str, str], default_name: str, name: str | None = None
) -> dict:
    """One raw object -> contract dict through the field mapping (see the module docstring)."""
    obj = require_object(obj)
    out: dict[str, Any] = {}
    for record_field in RECORD_FIELDS:
        value = _lookup(obj, record_field, fields)
        if value is not _MISSING:
            out[record_field] = value
    if name or "source" not in out:
        out["source"] = name or default_name
    out.setdefault("id", f"{out['source']}-{index}")
    return out


def unknown_fields(fields: Mapping[str, str]) -> list[str]:
    """Mapping keys that are not record fields (a typo there would otherwise be silently ignored)."""
    return sorted(set(fields) - set(RECORD_FIELDS))


def _lookup(obj: dict, record_field: str, fields: Mapping[str, str]) -> Any:
    """The value for ``record_field``: through the mapping (missing -> FieldProblem), else same name."""
    if record_field not in fields:
        return obj.get(record_field, _MISSING)
    path = fields[record_field]
    value = dig(obj, path)
    if value is _MISSING:
        raise FieldProblem("missing field", path, f"a value for record field '{record_field}' (field is missing)")
    return value


def dig(obj: Any, path: str) -> Any:
    """Follow a dotted path through dicts (keys) and lists (integer indices); ``_MISSING`` if absent."""
    if isinstance(obj, dict) and path in obj:
        return obj[path]
    head, _, rest = path.partition(".")
    if isinstance(obj, dict):
        child = obj.get(head, _MISSING)
    elif isinstance(obj, list) and head.lstrip("-").isdigit() and -len(obj) <= int(head) < len(obj):
        child = obj[int(head)]
    else:
        return _MISSING
    if child is _MISSING or not rest:
        return child
    return dig(child, rest)
