"""User-facing errors.

A :class:`DeepcriticError` is a mistake the user can fix (a bad config value, a malformed data file).
The CLI prints its message without a Python traceback and exits with status 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class DeepcriticError(Exception):
    """An error caused by user input; its message says what is wrong and how to fix it."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config: the key, the offending value and how to fix it."""

    key: str
    value: object
    fix: str

    def __str__(self) -> str:
        return f"{self.key} = {self.value!r}: {self.fix}"


class ConfigError(DeepcriticError):
    """Every problem found in a config, reported at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        n = len(self.problems)
        super().__init__(f"invalid config ({n} problem{'s' if n != 1 else ''}):\n{lines}")


class DataError(DeepcriticError):
    """A record that does not fit the data contract, located by file and line (or record index).

    ``where`` is e.g. ``"line 17"`` for JSONL or ``"record 3"`` for a JSON array.
    """

    def __init__(self, file: str, where: str, field: str | None, expected: str, got: object = None):
        self.file, self.where, self.field, self.expected, self.got = file, where, field, expected, got
        loc = f"{file}, {where}" if where else file
        fld = f", field '{field}'" if field else ""
        got_s = "" if got is None else f", got {_short(got)}"
        super().__init__(f"{loc}{fld}: expected {expected}{got_s}")


def _short(value: object, limit: int = 80) -> str:
    """repr() of a value, cut to ``limit`` characters so that huge inputs keep messages readable."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RecordError(DataError):
    """A :class:`DataError` about one record (or one line) rather than a whole file.

    With ``data.on_error=skip`` such a record is left out instead of stopping the run: ``reason`` is the
    short key it is counted under (e.g. ``"label out of range"``) and ``raw`` is the offending input
    (the parsed object, or the text of an unparsable line), written to the rejects file.
    """

    def __init__(
        self,
        reason: str,
        file: str,
        where: str,
        field: str | None,
        expected: str,
        got: object = None,
        raw: object = None,
    ):
        self.reason, self.raw = reason, raw
        super().__init__(file, where, field, expected, got)
