"""Per-source converters: one raw object in, one dict in data-contract form out.

A converter is ``convert(obj, index) -> dict | Filtered | list[dict | Filtered]`` (a list when one raw object
holds several records, as a PRM800K phase-1 labeling does). It only reshapes: every returned dict then goes
through :func:`deepcritic.data.records.record_from_dict`, which checks the contract. A converter raises
:class:`FieldProblem` for what only it can see (a source-specific field that is missing or mistyped);
the loader adds the file and the line. It returns :class:`Filtered` for a record that the source's own
rules leave out (PRM800K ``give_up``), which is counted but is not an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True)
class Filtered:
    """A record deliberately left out by a source's rules; ``reason`` is the key it is counted under."""

    reason: str


class FieldProblem(Exception):
    """A source-specific field is missing or mistyped; the loader turns it into a located RecordError."""

    def __init__(self, reason: str, field: str | None, expected: str, got: object = None):
        self.reason, self.field, self.expected, self.got = reason, field, expected, got
        super().__init__(f"{field}: expected {expected}")


Converted = Union[dict, Filtered, list[Union[dict, Filtered]]]
Converter = Callable[[Any, int], Converted]


def require_object(obj: Any) -> dict:
    """``obj`` if it is a mapping; else a FieldProblem (so that converters may index it safely)."""
    if not isinstance(obj, dict):
        raise FieldProblem("not an object", None, "a JSON object", obj)
    return obj


def pick(obj: dict, *names: str) -> dict:
    """The entries of ``obj`` among ``names`` that are present (absent ones stay absent, so that the
    contract check reports them as missing rather than as null)."""
    return {name: obj[name] for name in names if name in obj}
