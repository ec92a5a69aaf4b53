"""Pathological files made from a loader's own good rows (tests/helpers/loaders.py), or read from
tests/data/bad/pathological/, for the table of tests/unit/test_bad_input_everywhere.py. A maker takes the loader
and a temporary directory and returns the file."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

from tests.helpers.loaders import Loader
from tests.helpers.paths import BAD_DATA

PATHOLOGICAL = BAD_DATA / "pathological"

Make = Callable[[Loader, Path], Path]  # (the loader, a temporary directory) -> the file

COMMITTED: set[str] = set()  # the files of tests/data/bad/pathological/ that the table reads


def committed(name: str) -> Make:
    COMMITTED.add(name)
    return lambda loader, tmp: PATHOLOGICAL / name


def _dumps(row: dict) -> bytes:
    return json.dumps(row).encode("utf-8")


def between(defect: bytes) -> Make:
    """JSON Lines: good row 1, the defect as line 2, good row 2."""

    def make(loader: Loader, tmp: Path) -> Path:
        path = tmp / "rows.jsonl"
        path.write_bytes(b"\n".join([_dumps(loader.rows[0]), defect, _dumps(loader.rows[1])]) + b"\n")
        return path

    return make


def whole(ending: bytes = b"\n", bom: bytes = b"", codec: str = "utf-8", tail: bytes = b"") -> Make:
    """JSON Lines: the two good rows, each ended by ``ending``, encoded with ``codec`` after ``bom``; then ``tail``."""

    def make(loader: Loader, tmp: Path) -> Path:
        path = tmp / "rows.jsonl"
        text = b"".join(_dumps(row) + ending for row in loader.rows) + tail
        path.write_bytes(bom + text.decode("utf-8").encode(codec))
        return path

    return make


def mixed(tail: bytes = b"") -> Make:
    """Row 1 ended by a lone CR, row 2 by CRLF, a blank line ended by LF; then ``tail`` (line 4) ended by CR."""

    def make(loader: Loader, tmp: Path) -> Path:
        path = tmp / "rows.jsonl"
        path.write_bytes(_dumps(loader.rows[0]) + b"\r" + _dumps(loader.rows[1]) + b"\r\n\n" + tail + b"\r")
        return path

    return make


def replaced(*keys: str | int, token: str) -> Make:
    """JSON Lines: good row 1, then good row 2 with the value at ``keys`` written as ``token`` (NaN, 1e999, ...)."""

    def make(loader: Loader, tmp: Path) -> Path:
        row = copy.deepcopy(loader.rows[1])
        parent = row
        for key in keys[:-1]:
            parent = parent[key]
        parent[keys[-1]] = "@TOKEN@"
        path = tmp / "rows.jsonl"
        path.write_bytes(_dumps(loader.rows[0]) + b"\n" + _dumps(row).replace(b'"@TOKEN@"', token.encode()) + b"\n")
        return path

    return make


def array(text: str) -> Make:
    """A .json file: ``text`` with ``@1`` / ``@2`` standing for the good rows, ``@deep`` for 100,000 nested arrays."""

    def make(loader: Loader, tmp: Path) -> Path:
        path = tmp / "rows.json"
        made = text.replace("@deep", "[" * 100_000 + "]" * 100_000)
        path.write_bytes(
            made.replace("@1", json.dumps(loader.rows[0])).replace("@2", json.dumps(loader.rows[1])).encode()
        )
        return path

    return make


def parquet(cut: int = 0, rows: list[dict] | None = None) -> Make:
    """A parquet file of the good rows (or ``rows``), its last ``cut`` bytes cut off."""

    def make(loader: Loader, tmp: Path) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = tmp / "rows.parquet"
        pq.write_table(pa.Table.from_pylist(rows or list(loader.rows)), path)
        if cut:
            path.write_bytes(path.read_bytes()[:-cut])
        return path

    return make


def zero_bytes(name: str) -> Make:
    def make(loader: Loader, tmp: Path) -> Path:
        (tmp / name).write_bytes(b"")
        return tmp / name

    return make


def many(n: int, blank_before: int = 0, last: dict | None = None) -> Make:
    """JSON Lines: ``blank_before`` blank lines, then ``n`` copies of good row 1 (ids 0, 1, ... when it has one),
    then ``last``."""

    def make(loader: Loader, tmp: Path) -> Path:
        path = tmp / "rows.jsonl"
        row = loader.rows[0]
        lines = [json.dumps({**row, "id": str(i)} if "id" in row else row) + "\n" for i in range(n)]
        tail = json.dumps(last) + "\n" if last else ""
        path.write_text("\n" * blank_before + "".join(lines) + tail, encoding="utf-8")
        return path

    return make
