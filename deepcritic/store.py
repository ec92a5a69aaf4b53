"""Append-only JSONL result files that make evaluation resumable.

Rows are appended and flushed after each batch, so an interrupted run loses at most the batch in
flight. Reopening the file reads the ids already done; a line cut short by a crash (no newline at the
end) is dropped before appending, and unreadable lines are ignored, so a rerun redoes only what is
missing. When an id appears twice the last row wins.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable


class ResultStore:
    """Rows keyed by ``id`` in one JSONL file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._drop_partial_line()
        self._rows: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                row = _loads(line)
                if isinstance(row, dict) and "id" in row:
                    self._rows[str(row["id"])] = row

    def _drop_partial_line(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1  # 0 when the only line is partial
            with self.path.open("r+b") as fh:
                fh.truncate(keep)

    def done(self) -> set[str]:
        """Ids that already have a row."""
        return set(self._rows)

    def rows(self) -> list[dict[str, Any]]:
        """Every row, one per id, in first-written order."""
        return list(self._rows.values())

    def append(self, rows: Iterable[dict[str, Any]]) -> int:
        """Append rows, flush and fsync; returns how many were written."""
        rows = list(rows)
        if not rows:
            return 0
        with self.path.open("a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                self._rows[str(row["id"])] = row
            fh.flush()
            os.fsync(fh.fileno())
        return len(rows)


def _loads(line: str) -> Any:
    try:
        return json.loads(line) if line.strip() else None
    except json.JSONDecodeError:
        return None
