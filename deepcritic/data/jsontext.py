"""JSON text as every reader parses it: Python's ``json``, plus the checks it does not make.

``json`` accepts some inputs silently that would break a run later, or mean something other than they seem:

- an object with a key twice: the last value wins, so a record could say ``"label": 0`` and ``"label": 3``;
- nesting deep enough to exhaust the interpreter's recursion limit: a RecursionError here, or later in code
  that walks the value (copying a record, writing it, printing it);
- a ``\\uD800``-``\\uDFFF`` escape without its pair: a string that cannot be written back as UTF-8;
- an integer of more than 4300 digits: a ValueError (Python's limit on converting integers to text).

:class:`Decoder` parses as ``json`` does and reports each of them: :class:`Unparsable` when no value comes out
(json's syntax errors among them), a :class:`Flaw` when one does but no record can hold it. The readers turn
both into located errors. :func:`lines` reads the line breaks of old and mixed files (``\\r\\n``, ``\\n`` and a
lone ``\\r`` each end a line), :func:`foreign_bom` names a byte-order mark that says the text is not UTF-8.

NaN, Infinity, -Infinity and 1e999 (which overflows to infinity) are read as ``json`` reads them, to floats:
a number field or text field refuses them in its own check (:func:`deepcritic.data.records.text_of`; a label
must be an integer anyway), while free-form ``meta`` keeps them as they are.
"""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

MAX_DEPTH = 100  # arrays and objects inside one another; far above any real record, far below the recursion limit

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # in the text: where a lone surrogate may come from
_SURROGATE = re.compile("[\ud800-\udfff]")  # in a decoded string: a surrogate that had no pair
_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "UTF-32 BE"),
    (codecs.BOM_UTF16_LE, "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "UTF-16 BE"),
)


@dataclass(frozen=True)
class Flaw:
    """What is wrong with a value that did parse: the reason it is counted under, the field (a key or a path
    such as ``steps[1]``; None for the whole value), what was expected, and what was found."""

    reason: str
    field: str | None
    expected: str
    got: object = None


class Unparsable(Exception):
    """Text from which no JSON value comes out: the reason it is counted under, the problem in json's words
    (``"Expecting ',' delimiter"``) with the character offset it stopped at, or what was expected instead
    (``expected``, when the text is JSON that Python cannot hold)."""

    def __init__(self, reason: str, problem: str = "", pos: int | None = None, expected: str | None = None):
        self.reason, self.problem, self.pos, self.expected = reason, problem, pos, expected
        super().__init__(expected or problem)


class Decoder:
    """``json``'s decoder that also notes repeated keys (through ``object_pairs_hook``); one per file, not
    shared between threads."""

    def __init__(self) -> None:
        self._repeated: list[str] = []
        self._json = json.JSONDecoder(object_pairs_hook=self._object)

    def _object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) < len(pairs) and not self._repeated:
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    self._repeated.append(key)
                    break
                seen.add(key)
        return obj

    def decode(self, text: str, pos: int = 0, whole: bool = False) -> tuple[Any, int, Flaw | None]:
        """The JSON value at ``text[pos:]``, where it ends, and its flaw (None when it has none). ``whole``: the
        value must be all of ``text`` but whitespace (a JSON Lines line). Raises :class:`Unparsable`."""
        self._repeated.clear()
        try:
            value, end = (self._json.decode(text), len(text)) if whole else self._json.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise Unparsable("malformed JSON", exc.msg, exc.pos) from None
        except RecursionError:
            raise Unparsable("too deeply nested", expected=_DEPTH_EXPECTED) from None
        except ValueError:  # the only other error json raises: an integer too long to convert
            expected = f"integers of at most {sys.get_int_max_str_digits()} digits"
            raise Unparsable("number too long", expected=expected) from None
        return value, end, self._flaw(value, text, pos, end)

    def _flaw(self, value: Any, text: str, start: int, end: int) -> Flaw | None:
        """What no record can hold in ``value`` (parsed from ``text[start:end]``). The walks over the value run only
        when the text could hold the flaw: more than MAX_DEPTH brackets, a ``\\uD8..``-``\\uDF..`` escape."""
        if self._repeated:
            key = printable(self._repeated[0])
            return Flaw("duplicate key", key, "each key once per object (this key appears more than once)")
        if text.count("[", start, end) + text.count("{", start, end) > MAX_DEPTH and too_deep(value):
            return Flaw("too deeply nested", None, _DEPTH_EXPECTED)
        if _SURROGATE_ESCAPE.search(text, start, end):
            found = lone_surrogate(value)
            if found is not None:
                expected = "valid Unicode text (a \\uD800-\\uDFFF escape without its pair cannot be written as UTF-8)"
                return Flaw("lone surrogate", found[0], expected, found[1])
        return None


_DEPTH_EXPECTED = f"JSON nested at most {MAX_DEPTH} levels deep"


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects sit more than ``limit`` levels inside one another in ``value`` (``[]`` is one
    level). Iterative, so that a deep value cannot exhaust the stack here."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def lone_surrogate(value: Any) -> tuple[str | None, str] | None:
    """(path, string) of the first key or string in ``value`` holding an unpaired surrogate, or None. The path
    names fields as the validators do (``steps[1]``, ``meta.note``; None: the value itself), made printable."""
    stack: list[tuple[str | None, Any]] = [(None, value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return (None if path is None else printable(path)), node
        elif isinstance(node, dict):
            for key, child in reversed(node.items()):
                key_path = key if path is None else f"{path}.{key}"
                if _SURROGATE.search(key):
                    return printable(key_path), key
                stack.append((key_path, child))
        elif isinstance(node, list):
            stack.extend((f"{path or ''}[{i}]", child) for i, child in reversed(list(enumerate(node))))
    return None


def printable(text: str) -> str:
    """``text`` with unpaired surrogates written as ``\\udXXX`` escapes, so that it can be printed and written."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def foreign_bom(data: bytes) -> str | None:
    """The encoding named by a byte-order mark at the start of ``data`` when it is not UTF-8 (UTF-16, UTF-32)."""
    return next((name for bom, name in _BOMS if data.startswith(bom)), None)


def not_utf8_expected(encoding: str) -> str:
    """What a file that starts with ``encoding``'s byte-order mark should have been, and how to convert it."""
    family = encoding.split()[0]
    convert = f"convert it, e.g. iconv -f {family} -t UTF-8"
    return f"UTF-8 text (the file starts with a {encoding} byte-order mark: {convert})"


def lines(fh: IO[bytes]) -> Iterator[bytes]:
    """The lines of a binary file without their ends: ``\\r\\n``, ``\\n`` and a lone ``\\r`` each end a line. (JSON
    allows neither raw character inside a string, so no line is cut inside a value.)"""
    for chunk in fh:
        body = chunk[:-1] if chunk.endswith(b"\n") else chunk
        if body.endswith(b"\r"):
            body = body[:-1]
        if b"\r" in body:
            yield from body.split(b"\r")
        else:
            yield body


def breaks(text: str, start: int, end: int) -> int:
    """The line breaks in ``text[start:end]`` (``\\r\\n``, ``\\n``, a lone ``\\r``); ``start`` and ``end`` must not
    split a ``\\r\\n``."""
    return text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)


def line_and_column(text: str, pos: int) -> tuple[int, int]:
    """The 1-based line and column of ``text[pos]``, lines ending as :func:`breaks` counts them."""
    line_start = max(text.rfind("\n", 0, pos), text.rfind("\r", 0, pos)) + 1
    return breaks(text, 0, line_start) + 1, pos - line_start + 1


def json_problem(problem: str, column: int) -> str:
    """``"Expecting ',' delimiter at column 41"``: json's message and where (some messages already end in "at")."""
    msg = problem if problem.endswith(" at") else f"{problem} at"
    return f"{msg} column {column}"
