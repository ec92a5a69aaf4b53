"""Reading raw objects out of local files, each located for error messages.

Every reader yields :data:`Item` tuples ``(where, obj, error)``: ``where`` locates the object in the file
(``"line 17"`` for JSON Lines; ``"record 3 (line 57)"`` for a JSON array or concatenated JSON objects,
the record index 0-based like ``data[3]``, the line 1-based; ``"row 3"`` for parquet, 0-based), and
``error`` is a :class:`RecordError` for an item that could not be used: a JSON Lines line that does not
parse, or any JSON value that parses but no record can hold (a repeated key, nesting past
:data:`~deepcritic.data.jsontext.MAX_DEPTH`, an unpaired surrogate: :mod:`deepcritic.data.jsontext`).

Whole-file problems raise :class:`DataError` at once, whatever ``on_error`` says, because no record of
that file can be trusted: a missing file, a file that is not UTF-8 (a UTF-16 or UTF-32 byte-order mark says
so at once) or not valid JSON as a whole (a JSON array or pretty-printed objects), an unreadable parquet
file, an unsupported extension. Lines end at ``\\r\\n``, ``\\n`` or a lone ``\\r``, in locations too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deepcritic.data.jsontext import (
    Decoder,
    Unparsable,
    breaks,
    foreign_bom,
    json_problem,
    line_and_column,
    not_utf8_expected,
)
from deepcritic.data.records import iter_jsonl
from deepcritic.errors import DataError, RecordError

Item = tuple[str, Any, RecordError | None]  # (where, object, parse error)

JSONL_SUFFIXES = (".jsonl", ".ndjson")
JSON_SUFFIXES = (".json",)
PARQUET_SUFFIXES = (".parquet",)


def require_file(path: str | Path) -> Path:
    """Return ``path`` as a Path, or raise DataError when it does not exist or is not a file."""
    path = Path(path)
    if not path.exists():
        raise DataError(str(path), "", None, "an existing file (no such file)")
    if not path.is_file():
        raise DataError(str(path), "", None, "a file (this is a directory or a special file)")
    return path


def iter_file(path: Path) -> Iterator[Item]:
    """Items of a local file, the format chosen by extension: .jsonl/.ndjson, .json, .parquet."""
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return iter_jsonl_items(path)
    if suffix in JSON_SUFFIXES:
        return iter_json_items(path)
    if suffix in PARQUET_SUFFIXES:
        return iter_parquet_items(path)
    supported = ", ".join(JSONL_SUFFIXES + JSON_SUFFIXES + PARQUET_SUFFIXES)
    raise DataError(str(path), "", None, f"a file ending in one of {supported}", path.suffix or "no extension")


def iter_jsonl_items(path: Path) -> Iterator[Item]:
    """JSON Lines: one item per non-blank line; a bad line is yielded with its error, not raised."""
    for lineno, obj, error in iter_jsonl(path):
        yield f"line {lineno}", obj, error


def iter_json_items(path: Path) -> Iterator[Item]:
    """A .json file: a JSON array of records, or one or more JSON objects one after another.

    The second form covers the PRM800K example files (pretty-printed objects concatenated) and the
    common ``.json`` file that really holds JSON Lines. Parsing failures anywhere raise DataError.
    """
    text = read_text(path)
    start = _skip_ws(text, 0)
    if start == len(text):
        return
    if text[start] == "[":
        yield from _iter_array(text, str(path), start)
    else:
        yield from _iter_concatenated(text, str(path), start)


def iter_parquet_items(path: Path) -> Iterator[Item]:
    """A parquet file: one item per row (a dict of column values)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(str(path), "", None, f"a readable parquet file ({_arrow_problem(exc)})") from None
    for i, row in enumerate(table.to_pylist()):
        yield f"row {i}", row, None


def _arrow_problem(exc: Exception) -> str:
    """Arrow's message on one line, without the path it repeats."""
    return re.sub(r"^Could not open Parquet input source '.*?': ", "", " ".join(str(exc).split()))


def read_text(path: Path) -> str:
    """The file's text (a UTF-8 byte-order mark dropped); raises DataError at the first byte that is not UTF-8,
    and at once for a UTF-16 or UTF-32 byte-order mark."""
    data = path.read_bytes()
    encoding = foreign_bom(data)
    if encoding:
        raise DataError(str(path), "line 1", None, not_utf8_expected(encoding))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start
        line = data.count(b"\n", 0, start) + data.count(b"\r", 0, start) - data.count(b"\r\n", 0, start) + 1
        raise DataError(str(path), f"line {line}", None, f"UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _iter_array(text: str, file: str, pos: int) -> Iterator[Item]:
    """The elements of the JSON array starting at ``text[pos] == "["``, located by index and line."""
    decoder = Decoder()
    pos = _skip_ws(text, pos + 1)
    index, line, line_pos = 0, 1, 0
    if text.startswith("]", pos):
        _expect_end(text, file, pos + 1, "nothing after the closing ']'")
        return
    while True:
        line, line_pos = line + breaks(text, line_pos, pos), pos
        where = f"record {index} (line {line})"
        item, end = _decode_at(decoder, text, file, pos, where)
        yield item
        pos = _skip_ws(text, end)
        if text.startswith(",", pos):
            pos, index = _skip_ws(text, pos + 1), index + 1
        elif text.startswith("]", pos):
            _expect_end(text, file, pos + 1, "nothing after the closing ']'")
            return
        else:
            expected = f"',' or ']' after record {index} (the JSON array is cut off or malformed)"
            raise DataError(file, _line_of(text, pos), None, expected)


def _iter_concatenated(text: str, file: str, pos: int) -> Iterator[Item]:
    """JSON values one after another (separated by whitespace), located by index and start line."""
    decoder = Decoder()
    index, line, line_pos = 0, 1, 0
    while pos < len(text):
        line, line_pos = line + breaks(text, line_pos, pos), pos
        where = f"record {index} (line {line})"
        item, end = _decode_at(decoder, text, file, pos, where)
        yield item
        pos, index = _skip_ws(text, end), index + 1


def _decode_at(decoder: Decoder, text: str, file: str, pos: int, where: str) -> tuple[Item, int]:
    """The item of the JSON value at ``pos`` (a value no record can hold comes with its RecordError) and where
    it ends. Text that does not parse raises DataError with its line and column: nothing after it can be found."""
    try:
        obj, end, flaw = decoder.decode(text, pos)
    except Unparsable as exc:
        record = where.split(" (")[0]
        if exc.pos is None:  # json stopped without saying where: the record's own line
            raise DataError(file, where, None, exc.expected) from None
        line, column = line_and_column(text, exc.pos)
        expected = f"valid JSON ({json_problem(exc.problem, column)})"
        raise DataError(file, f"{record}, line {line}", None, expected) from None
    if flaw is None:
        return (where, obj, None), end
    error = RecordError(flaw.reason, file, where, flaw.field, flaw.expected, flaw.got, raw=text[pos:end])
    return (where, None, error), end


def _expect_end(text: str, file: str, pos: int, expected: str) -> None:
    """Raise DataError when anything but whitespace follows ``pos``."""
    pos = _skip_ws(text, pos)
    if pos < len(text):
        raise DataError(file, _line_of(text, pos), None, expected, text[pos : pos + 20])


def _line_of(text: str, pos: int) -> str:
    return f"line {line_and_column(text, pos)[0]}"


def _skip_ws(text: str, pos: int) -> int:
    """Index of the first non-whitespace character at or after ``pos`` (len(text) if none)."""
    n = len(text)
    while pos < n and text[pos] in " \t\r\n":
        pos += 1
    return pos
