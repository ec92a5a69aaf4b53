"""What ``on_error=skip`` leaves out of a load: records (``data.on_error``) and chat rows (``chat.on_error``) alike.

A bad item (a line that does not parse, a record that breaks the data contract, a chat row without a target)
is a :class:`RecordError` whose ``reason`` is the short key it is counted under. Under ``raise`` the first one
stops the load. Under ``skip`` it is counted and kept as one rejects line ``{"file", "where", "field",
"reason", "error", "raw"}``; the loader writes them (:meth:`Skips.write`) and checks that something usable is
left (:meth:`Skips.require`): a file with no item, or with no usable one, still stops the run with one located
line, whatever ``on_error`` says.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from deepcritic.data.readers import Item
from deepcritic.errors import DataError, RecordError

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class Skips:
    """The bad items of one load: counted by reason (``counts``, which a loader may add its own leave-outs to)
    and their rejects lines; ``items`` is how many items were read."""

    skip: bool
    counts: Counter[str] = field(default_factory=Counter)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    items: int = 0

    def screen(self, items: Iterable[Item], convert: Callable[[Any, int, str], T]) -> Iterator[T]:
        """``convert(obj, index, where)`` of every good item; a bad one (a parse error, or a RecordError from
        ``convert``) is raised, or under ``skip`` counted and kept for the rejects file."""
        for index, (where, obj, error) in enumerate(items):
            self.items += 1
            try:
                if error is not None:
                    raise error
                converted = convert(obj, index, where)
            except RecordError as exc:
                self.reject(exc, obj)
                continue
            yield converted

    def reject(self, exc: RecordError, obj: Any) -> None:
        """Raise ``exc``; under ``skip``, count it under its reason and keep its rejects line instead."""
        if not self.skip:
            raise exc
        self.counts[exc.reason] += 1
        self.rejects.append(reject_line(exc, obj))

    def write(self, path: str | Path | None, setting: str = "data.rejects_path") -> Path | None:
        """Write the rejects as JSON Lines to ``path``; returns it, or None when there was nothing to write.
        The file is replaced whole (written beside it, then renamed), so that processes loading the same data
        at once each leave one complete copy."""
        if not self.rejects:
            return None
        if path is None:
            log.warning("%d item(s) skipped but no rejects file is set (%s)", len(self.rejects), setting)
            return None
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with partial.open("w", encoding="utf-8", errors="backslashreplace") as fh:
            for line in self.rejects:
                fh.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        os.replace(partial, path)
        return path

    def require(self, file: str, kept: int, noun: str, rejects_path: Path | None) -> None:
        """Raise DataError when the load read nothing (an empty file) or kept nothing (``noun``: what it keeps)."""
        if self.items == 0:
            raise DataError(file, "", None, f"at least one {noun} (the file is empty)")
        if kept == 0:
            where = f"; see {rejects_path}" if rejects_path else ""
            reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(self.counts.items()))
            expected = f"at least one usable {noun} (all {self.items} were left out: {reasons}{where})"
            raise DataError(file, "", None, expected)


def reject_line(exc: RecordError, obj: Any) -> dict[str, Any]:
    """One rejects-file line for a skipped item: its file, place, field, reason, message and raw input."""
    return {
        "file": exc.file,
        "where": exc.where,
        "field": exc.field,
        "reason": exc.reason,
        "error": str(exc),
        "raw": exc.raw if exc.raw is not None else obj,
    }


def skip_metrics(counts: Counter[str]) -> dict[str, int]:
    """The data metrics of what a load left out: ``data/skipped`` (all) and ``data/skipped/<reason>``."""
    if not counts:
        return {}
    return {"data/skipped": sum(counts.values()), **{f"data/skipped/{r}": n for r, n in sorted(counts.items())}}
