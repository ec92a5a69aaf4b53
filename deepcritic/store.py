"""What a run writes: resumable result files, the batch loop over them, and whole files written atomically.

- :class:`ResultStore`: append-only JSONL rows keyed by ``id``. Rows are appended and flushed after each
  batch, so an interrupted run loses at most the batch in flight. Reopening the file reads the ids already
  done; a line cut short by a crash (no newline at the end) is dropped before appending, and unreadable
  lines are ignored, so a rerun redoes only what is missing. When an id appears twice the last row wins.
- :func:`run_pending`: the resumable batch loop every generating recipe uses (eval, filter, solve, refine,
  synthesize, label, cft-data, the demo), with a progress bar (counts and rate).
- :func:`write_json` / :func:`atomic_write_jsonl` / :func:`write_rows` (JSON Lines or parquet, by the file's
  suffix): final outputs, written to a temporary file and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tqdm.auto import tqdm

from deepcritic.errors import DeepcriticError

log = logging.getLogger(__name__)

T = TypeVar("T")


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

    def by_id(self) -> dict[str, dict[str, Any]]:
        """Every row by its id (a copy: appending later does not change it)."""
        return dict(self._rows)

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


def run_pending(
    items: Sequence[T],
    item_id: Callable[[T], str],
    store: ResultStore,
    batch_size: int,
    step: Callable[[list[T]], list[dict[str, Any]]],
    desc: str,
) -> dict[str, int]:
    """Process the items ``store`` does not hold yet, ``batch_size`` at a time, appending rows per batch.

    ``step`` returns one row per item; a row with an ``"error"`` key failed (e.g. a request that failed
    after every retry) and is not stored, so a rerun retries it. A batch where every row failed stops the
    run with a :class:`DeepcriticError` (the backend is down; rows done so far are kept).

    Returns counts: ``done_before`` (skipped, already stored), ``done`` (stored now), ``failed``.
    """
    done_before = store.done()
    pending = [it for it in items if item_id(it) not in done_before]
    counts = {"done_before": len(items) - len(pending), "done": 0, "failed": 0}
    if counts["done_before"]:
        log.info("%s: %d of %d already done in %s; resuming", desc, counts["done_before"], len(items), store.path)
    with tqdm(total=len(pending), desc=desc, unit="rec", dynamic_ncols=True) as bar:
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            rows = step(batch)
            good = [r for r in rows if "error" not in r]
            errors = [r["error"] for r in rows if "error" in r]
            if batch and not good:
                raise DeepcriticError(
                    f"{desc}: every item of a batch failed ({errors[0]}); {counts['done']} "
                    "rows were saved. Fix the backend and rerun with the same run dir to resume."
                )
            store.append(good)
            counts["done"] += len(good)
            counts["failed"] += len(errors)
            bar.update(len(batch))
            bar.set_postfix(failed=counts["failed"]) if counts["failed"] else None
    if counts["failed"]:
        log.warning(
            "%s: %d items failed and were not saved; rerun with the same run dir to retry them", desc, counts["failed"]
        )
    return counts


def rows_in_order(store: ResultStore, ids: Iterable[str]) -> list[dict[str, Any]]:
    """The stored rows of ``ids``, in that order (ids without a row, e.g. failed ones, are left out)."""
    by_id = store.by_id()
    return [by_id[i] for i in ids if i in by_id]


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def write_json(path: Path, data: Any, sort_keys: bool = False) -> Path:
    """``data`` as indented JSON (UTF-8, newline at the end), written atomically; returns ``path``."""
    _atomic_write(
        Path(path), lambda fh: fh.write(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=sort_keys) + "\n")
    )
    return Path(path)


def atomic_write_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> int:
    """Write rows as JSON Lines to a temporary file and rename it over ``path``; returns the count."""
    count = [0]

    def write(fh: Any) -> None:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            count[0] += 1

    _atomic_write(Path(path), write)
    return count[0]


PARQUET_SUFFIX = ".parquet"


def write_rows(rows: Sequence[dict[str, Any]], path: Path) -> int:
    """Rows as parquet when ``path`` ends in .parquet (:func:`rows_table`), else as JSON Lines; atomically; returns
    the count."""
    path = Path(path)
    if path.suffix.lower() != PARQUET_SUFFIX:
        return atomic_write_jsonl(rows, path)
    atomic_write_parquet(rows_table(rows)[0], path)
    return len(rows)


def atomic_write_parquet(table: Any, path: Path) -> Path:
    """An Arrow table as a parquet file, written to a temporary file and renamed over ``path``."""
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return path


def rows_table(rows: Sequence[dict[str, Any]]) -> tuple[Any, list[str]]:
    """Rows as an Arrow table, columns in first-seen order, and the columns stored as JSON text.

    Nested values stay Arrow lists and structs (a struct's fields are the union of the rows' keys: a row without
    one reads back as None there). A column Arrow cannot give one type (a field holding a number in one row and
    text in another) or parquet cannot store (an empty struct) is written as JSON text instead and named."""
    import pyarrow as pa

    columns = list(dict.fromkeys(key for row in rows for key in row))
    arrays, as_json = {}, []
    for name in columns:
        values = [row.get(name) for row in rows]
        try:
            array = pa.array(values)
            if not _storable(array.type):
                raise pa.ArrowInvalid(f"{name}: an empty struct")
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            array = pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values], pa.string())
            as_json.append(name)
        arrays[name] = array
    return pa.table(arrays), as_json


def _storable(kind: Any) -> bool:
    """Whether parquet can store an Arrow type (no struct without fields, at any depth)."""
    import pyarrow as pa

    if pa.types.is_struct(kind):
        return kind.num_fields > 0 and all(_storable(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _storable(kind.value_type)
    return True
