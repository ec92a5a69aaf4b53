"""Pathological files through every loader a user's file reaches (tests/helpers/loaders.py), in-process.

One table: (what the file holds, the loaders it goes through, how the file is made, the outcome written by hand).
Either the file converts, and the converted values are checked, or the loader raises ONE located line (file,
line or record, field when there is one, what was expected) as a DeepcriticError, which the CLI prints as
``error: ...`` with exit status 2 (tests/integration/test_reliability_bad_input.py runs a sample of these
through the CLI). Never another exception. Files are made here from each loader's own good rows, or read from
tests/data/bad/pathological/ (see its README).
"""

from __future__ import annotations

import codecs
import math
from dataclasses import dataclass

import pytest

from deepcritic.errors import DeepcriticError
from tests.helpers.loaders import LOADERS, RECORD_VALUES
from tests.helpers.pathological import (
    COMMITTED,
    PATHOLOGICAL,
    Make,
    array,
    between,
    committed,
    many,
    mixed,
    parquet,
    replaced,
    whole,
    zero_bytes,
)

RECORDS = ("contract", "generic", "processbench", "mr_gsm8k", "mr_gsm8k_raw", "prm800k")
PROBLEMS = ("problems", "math500", "gsm8k")
LINES = (*RECORDS, "messages", "cft", *PROBLEMS, "candidates")  # JSON Lines files, read line by line
EVERY = (*LINES, "score")  # score reads JSON values one after another, whatever the extension
PARQUET = ("contract", "generic", "messages", "cft", "problems", "candidates")


@dataclass(frozen=True)
class Error:
    """The message: ``<file>[, <where>][, field '<field>']: expected <expected>...`` (``expected`` may be its start)."""

    where: str
    field: str | None
    expected: str


@dataclass(frozen=True)
class Says:
    """The message names the file and holds each fragment (``deepcritic score`` words its messages its own way)."""

    fragments: tuple[str, ...]


CONVERTS = "converts"  # the loader's two good rows, converted as its LOADERS entry says


DEEP = b"[" * 100_000 + b"]" * 100_000
UTF16LE = "UTF-8 text (the file starts with a UTF-16 LE byte-order mark: convert it, e.g. iconv -f UTF-16 -t UTF-8)"
UTF16BE = "UTF-8 text (the file starts with a UTF-16 BE byte-order mark: convert it, e.g. iconv -f UTF-16 -t UTF-8)"
SURROGATE = "valid Unicode text (a \\uD800-\\uDFFF escape without its pair cannot be written as UTF-8)"
ONCE = "each key once per object (this key appears more than once)"
DEPTH = "JSON nested at most 100 levels deep"
NUL = "the line holds NUL bytes: a binary file, or UTF-16 without a byte-order mark?"
NOT_PARQUET = (
    "a readable parquet file (Parquet magic bytes not found in footer. "
    "Either the file is corrupted or this is not a parquet file.)"
)
OUT_OF_RANGE = "an integer in [-1, 0] (-1 = no wrong step; 0-based), got 5"
BAD_R3 = {"id": "c", "source": "t", "problem": "3+3?", "steps": ["3+3=6"], "label": 5}


def each(loaders: tuple[str, ...], outcome: object) -> dict[str, object]:
    return dict.fromkeys(loaders, outcome)


# (what the file holds, how it is made, the outcome per loader)
CASES: list[tuple[str, Make, dict[str, object]]] = [
    # ---- structure
    # 100,000 nested arrays on line 2 (json's own recursion limit)
    (
        "nesting 100,000 deep",
        between(DEEP),
        {**each(LINES, Error("line 2", None, DEPTH)), "score": Says(("record 1 (line 2): expected " + DEPTH,))},
    ),
    # 101 nested arrays: json parses them, the reader refuses them before anything walks them
    (
        "nesting 101 deep",
        between(b"[" * 101 + b"]" * 101),
        {**each(LINES, Error("line 2", None, DEPTH)), "score": Says(("record 1 (line 2): expected " + DEPTH,))},
    ),
    # a record whose meta holds 98 nested arrays: 100 levels in all, kept
    ("nesting 100 deep", committed("nested_100.jsonl"), {"contract": [RECORD_VALUES[0]]}),
    # ... and 99 of them: 101 levels
    ("nesting 101 deep in a record", committed("nested_101.jsonl"), {"contract": Error("line 2", None, DEPTH)}),
    # a number where an object is expected
    (
        "a top-level scalar",
        between(b"42"),
        {
            **each(RECORDS, Error("line 2", None, "a JSON object, got 42")),
            "messages": Error(
                "line 2", None, "an object with 'messages': a non-empty list of {role, content} messages, got 42"
            ),
            "cft": Error("line 2", None, "an object with instruction, input and output fields, got 42"),
            **each(PROBLEMS, Error("line 2", None, "an object with problem and answer fields, got 42")),
            "candidates": Error("line 2", None, "an object with question and solution, got 42"),
            "score": Says(("record 1 (line 2): expected a JSON object, got int",)),
        },
    ),
    # a .json file that is one number
    (
        "a .json file holding a number",
        committed("top_level_scalar.json"),
        {"contract": Error("record 0 (line 1)", None, "a JSON object, got 42")},
    ),
    # a JSON array on a line of records
    (
        "a JSON array as a line",
        committed("top_level_array.jsonl"),
        {"contract": Error("line 2", None, "a JSON object, got ['2+2?', ['2+2=4'], 1]")},
    ),
    # a JSON array of arrays
    (
        "a JSON array of arrays",
        committed("array_of_arrays.json"),
        {"contract": Error("record 0 (line 1)", None, "a JSON object, got ['a', '1+1?']")},
    ),
    (
        "a JSON array of arrays",
        array("[[1, 2], @1]"),
        {
            "processbench": Error("record 0 (line 1)", None, "a JSON object, got [1, 2]"),
            "score": Says(("record 0 (line 1): expected a JSON object, got list",)),
        },
    ),
    # {} on line 2: the first field each loader needs is missing
    (
        "an empty object",
        between(b"{}"),
        {
            **each(("contract", "processbench", "mr_gsm8k"), Error("line 2", "id", "a string id (field is missing)")),
            "generic": Error("line 2", "q", "a value for record field 'problem' (field is missing)"),
            "mr_gsm8k_raw": Error("line 2", "model_output_solution_correctness", "correct or wrong, got ''"),
            "prm800k": Error("line 2", "label", "an object with steps and finish_reason (field is missing)"),
            "messages": Error("line 2", "messages", "a non-empty list of {role, content} messages (field is missing)"),
            "cft": Error("line 2", "instruction", "a string (field is missing)"),
            **each(("problems", "gsm8k"), Error("line 2", "question", "a non-empty problem text")),
            "math500": Error("line 2", "problem", "a non-empty problem text"),
            "candidates": Error("line 2", "question", "a non-empty string (field is missing)"),
            "score": Says(("record 1 (line 2): no field 'generated_critique'",)),
        },
    ),
    (
        "an empty object",
        committed("empty_object.jsonl"),
        {"contract": Error("line 2", "id", "a string id (field is missing)")},
    ),
    # two JSON objects on one line (a lost newline): the second is trailing garbage
    (
        "two objects on a line",
        between(b'{"id": "b"} {"id": "c"}'),
        {
            **each(LINES, Error("line 2", None, "one JSON object per line (Extra data at column 13)")),
            "score": Says(("record 1 (line 2): no field 'generated_critique'",)),
        },
    ),
    (
        "two objects on a line",
        committed("two_objects_on_a_line.jsonl"),
        {"contract": Error("line 2", None, "one JSON object per line (Extra data at column 88)")},
    ),
    # text after a JSON array
    (
        "garbage after a JSON array",
        array("[@1] x"),
        {"processbench": Error("line 1", None, "nothing after the closing ']', got 'x'")},
    ),
    # a key twice: json would keep the last value silently
    (
        "a repeated key",
        between(b'{"a": 1, "a": 2}'),
        {**each(LINES, Error("line 2", "a", ONCE)), "score": Says(("record 1 (line 2), field 'a': expected " + ONCE,))},
    ),
    # "label": 1, then "label": -1 in the same record
    ("a repeated label", committed("duplicate_label.jsonl"), {"contract": Error("line 2", "label", ONCE)}),
    (
        "a repeated key in a JSON array",
        array('[@1,\n{"id": "x", "id": "y"}]'),
        {"processbench": Error("record 1 (line 2)", "id", ONCE)},
    ),
    # 100,000 nested arrays as record 1 of a JSON array: nothing after it can be found
    (
        "nesting 100,000 deep in a JSON array",
        array("[@1,\n@deep]"),
        {"processbench": Error("record 1 (line 2)", None, DEPTH)},
    ),
    # ---- sizes
    # 20,000 one-line records; 20,000 chats (their dataset is built 10,000 rows at a time)
    (
        "20,000 tiny lines",
        many(20_000),
        {"contract": [RECORD_VALUES[0]] * 20_000, "messages": [("1+1?", "2")] * 20_000},
    ),
    # a million blank lines, then a bad record: located at its line
    (
        "a million blank lines, then a bad record",
        many(0, blank_before=1_000_000, last=BAD_R3),
        {"contract": Error("line 1000001", "label", OUT_OF_RANGE)},
    ),
    # an integer of 5000 digits (Python converts at most 4300)
    (
        "a 5000-digit integer",
        between(b'{"n": ' + b"7" * 5000 + b"}"),
        {
            **each(LINES, Error("line 2", None, "integers of at most 4300 digits")),
            "score": Says(("record 1 (line 2): expected integers of at most 4300 digits",)),
        },
    ),
    (
        "a 5000-digit label",
        committed("long_integer.jsonl"),
        {"contract": Error("line 2", None, "integers of at most 4300 digits")},
    ),
]

CASES += [
    # ---- encodings
    # a UTF-8 byte-order mark: dropped
    ("UTF-8 with a byte-order mark", whole(bom=codecs.BOM_UTF8), each(EVERY, CONVERTS)),
    ("UTF-8 with a byte-order mark", committed("bom_utf8.jsonl"), {"contract": RECORD_VALUES}),
    ("UTF-8 with a byte-order mark", array("\ufeff[@1, @2]"), {"processbench": RECORD_VALUES}),
    # UTF-16 and UTF-32 with a byte-order mark: named, and how to convert them (JSON files are UTF-8: RFC 8259)
    (
        "UTF-16 LE with a byte-order mark",
        whole(bom=codecs.BOM_UTF16_LE, codec="utf-16-le"),
        {**each(LINES, Error("line 1", None, UTF16LE)), "score": Says(("line 1: expected " + UTF16LE,))},
    ),
    (
        "UTF-16 BE with a byte-order mark",
        whole(bom=codecs.BOM_UTF16_BE, codec="utf-16-be"),
        {**each(LINES, Error("line 1", None, UTF16BE)), "score": Says(("line 1: expected " + UTF16BE,))},
    ),
    ("UTF-16 LE with a byte-order mark", committed("utf16le_bom.jsonl"), {"contract": Error("line 1", None, UTF16LE)}),
    ("UTF-16 BE with a byte-order mark", committed("utf16be_bom.jsonl"), {"contract": Error("line 1", None, UTF16BE)}),
    (
        "UTF-32 LE with a byte-order mark",
        committed("utf32le_bom.jsonl"),
        {
            "contract": Error(
                "line 1",
                None,
                "UTF-8 text (the file starts with a UTF-32 LE byte-order mark: convert it, e.g. iconv -f UTF-32 -t "
                "UTF-8)",
            )
        },
    ),
    # UTF-16 without a mark is valid UTF-8 full of NULs: the message says what it may be
    (
        "UTF-16 LE without a byte-order mark",
        committed("utf16le_no_bom.jsonl"),
        {
            "contract": Error(
                "line 1",
                None,
                f"one JSON object per line (Expecting property name enclosed in double quotes at column 2; {NUL})",
            )
        },
    ),
    # a Latin-1 byte
    (
        "a Latin-1 byte",
        between(b'{"a": "caf\xe9"}'),
        {
            **each(LINES, Error("line 2", None, "UTF-8 text (invalid continuation byte at byte 10 of the line)")),
            "score": Says(("line 2: expected UTF-8 text (invalid continuation byte at byte ",)),
        },
    ),
    (
        "a Latin-1 byte in a .json file",
        committed("latin1.json"),
        {"contract": Error("line 2", None, "UTF-8 text (invalid continuation byte at byte 13)")},
    ),
    # \ud800 alone: json reads it, but it cannot be written back as UTF-8
    (
        "a lone surrogate",
        between(b'{"text": "bad \\ud800 half"}'),
        {
            **each(LINES, Error("line 2", "text", SURROGATE + ", got 'bad \\ud800 half'")),
            "score": Says(("record 1 (line 2), field 'text': expected " + SURROGATE,)),
        },
    ),
    (
        "a lone surrogate",
        committed("lone_surrogate.jsonl"),
        {"contract": Error("line 2", "problem", SURROGATE + ", got '2+2? \\ud800'")},
    ),
    (
        "a lone surrogate in a chat turn",
        committed("chat_lone_surrogate.jsonl"),
        {"messages": Error("line 2", "messages[0].content", SURROGATE + ", got '2+2? \\udfff'")},
    ),
    # a byte-order mark, CRLF endings and six bad chat rows between seven good ones: the first bad one stops it
    ("a chat file with one of each", committed("chat_pathological.jsonl"), {"messages": Error("line 2", None, DEPTH)}),
    # an escaped pair is one character
    ("a surrogate pair", committed("surrogate_pair.jsonl"), {"contract": [("1+1? \U0001f600", ["1+1=2"], -1)]}),
    # raw NUL bytes: not JSON, with a hint
    (
        "NUL bytes",
        between(b"\x00\x00"),
        {
            **each(LINES, Error("line 2", None, f"one JSON object per line (Expecting value at column 1; {NUL})")),
            "score": Says(("record 1, line 2: expected valid JSON (Expecting value at column 1)",)),
        },
    ),
    (
        "a NUL byte inside a string",
        committed("nul_in_string.jsonl"),
        {
            "contract": Error(
                "line 2", None, f"one JSON object per line (Invalid control character at column 44; {NUL})"
            )
        },
    ),
    # an escaped NUL is a character like any other
    ("an escaped NUL", committed("nul_escaped.jsonl"), {"contract": [("1+1?\x00", ["1+1=2"], -1)]}),
    # ---- line endings
    ("CRLF line endings", whole(ending=b"\r\n"), each(EVERY, CONVERTS)),
    ("CRLF line endings", committed("crlf.jsonl"), {"contract": RECORD_VALUES}),
    # a lone CR ends a line (old Mac files): not one long line
    ("CR line endings", whole(ending=b"\r"), each(EVERY, CONVERTS)),
    ("CR line endings", committed("cr_only.jsonl"), {"contract": RECORD_VALUES}),
    ("mixed line endings and blank lines", mixed(), each(EVERY, CONVERTS)),
    ("mixed line endings and blank lines", committed("mixed_endings.jsonl"), {"contract": RECORD_VALUES}),
    # lines counted as an editor counts them: CR, CRLF, LF, then the bad line 4
    (
        "mixed line endings, then a bad line",
        mixed(b'{"id": "b"} {"id": "c"}'),
        {
            **each(LINES, Error("line 4", None, "one JSON object per line (Extra data at column 13)")),
            "score": Says(("record 2 (line 4): no field 'generated_critique'",)),
        },
    ),
    (
        "mixed line endings, then a bad line",
        committed("mixed_endings_bad_line.jsonl"),
        {"contract": Error("line 4", "label", OUT_OF_RANGE)},
    ),
    (
        "CR line endings in a JSON array",
        array('[\r@1,\r{"id": "x", "problem": "3+3?", "steps": ["3+3=6"], "label": 5}\r]'),
        {"processbench": Error("record 1 (line 3)", "label", OUT_OF_RANGE)},
    ),
]

NOT_A_NUMBER = [
    # NaN, Infinity, -Infinity and 1e999 (read as floats) where an integer or a text must be
    ("contract", ("label",), "NaN", Error("line 2", "label", "an integer label, got nan")),
    ("contract", ("steps", 1), "Infinity", Error("line 2", "steps[1]", "a string, got inf")),
    ("contract", ("answer",), "1e999", Error("line 2", "answer", "a string or null, got inf")),
    ("contract", ("id",), "-Infinity", Error("line 2", "id", "a string id, got -inf")),
    ("generic", ("first",), "NaN", Error("line 2", "first", "a step number (from 1), -1 or one of ['n/a'], got nan")),
    ("processbench", ("label",), "Infinity", Error("line 2", "label", "an integer label, got inf")),
    ("mr_gsm8k", ("steps", 0), "NaN", Error("line 2", "steps[0]", "a string, got nan")),
    (
        "mr_gsm8k_raw",
        ("model_output_solution_first_error_step",),
        "1e999",
        Error(
            "line 2", "model_output_solution_first_error_step", "a step number (from 1), -1 or one of ['null'], got inf"
        ),
    ),
    (
        "prm800k",
        ("label", "steps", 0, "completions", 0, "rating"),
        "NaN",
        Error("line 2", "label.steps[0].completions[0].rating", "-1, 0, 1 or null, got nan"),
    ),
    (
        "prm800k",
        ("question", "ground_truth_answer"),
        "Infinity",
        Error("line 2", "answer", "a string or null, got inf"),
    ),
    (
        "messages",
        ("messages", 2, "content"),
        "-Infinity",
        Error(
            "line 2",
            "messages[2]",
            "an object with string 'role' and 'content', got {'role': 'assistant', 'content': -inf}",
        ),
    ),
    ("cft", ("output",), "NaN", Error("line 2", "output", "a string, got nan")),
    ("problems", ("final",), "NaN", Error("line 2", "final", "a non-empty answer text, got nan")),
    ("math500", ("answer",), "Infinity", Error("line 2", "answer", "a non-empty answer text, got inf")),
    ("gsm8k", ("answer",), "1e999", Error("line 2", "answer", "a GSM8K solution ending in '#### <number>', got inf")),
    ("candidates", ("answer",), "NaN", Error("line 2", "answer", "a string or a number, or null, got nan")),
    (
        "score",
        ("label",),
        "NaN",
        Says(("record 1 (line 2): label: expected a step number (from 0), -1 or one of ['', 'n/a', 'na']",)),
    ),
]
CASES += [
    (f"{token} in {'.'.join(map(str, keys))}", replaced(*keys, token=token), {loader: outcome})
    for loader, keys, token, outcome in NOT_A_NUMBER
]
CASES += [
    (
        "NaN in a label",
        committed("score_nan_label.jsonl"),
        {"score": Says(("record 1 (line 2): label: expected a step number (from 0)",))},
    ),
    (
        "NaN in a label",
        committed("nan_label.jsonl"),
        {"contract": Error("line 2", "label", "an integer label, got nan")},
    ),
    (
        "Infinity as a step",
        committed("infinity_step.jsonl"),
        {"contract": Error("line 2", "steps[1]", "a string, got inf")},
    ),
    (
        "1e999 as an answer",
        committed("huge_exponent_answer.jsonl"),
        {"contract": Error("line 2", "answer", "a string or null, got inf")},
    ),
    (
        "-Infinity as an id",
        committed("negative_infinity_id.jsonl"),
        {"contract": Error("line 2", "id", "a string id, got -inf")},
    ),
    # deepcritic's own predictions rows: the label must be a step index
    (
        "Infinity as a prediction row's label",
        array('{"label": Infinity, "num_steps": 1, "samples": [{"text": "x"}]}'),
        {"score": Says(("record 0 (line 1): label: expected an integer step index (-1: none), got inf",))},
    ),
    # ---- parquet
    ("parquet", parquet(), each(PARQUET, CONVERTS)),
    ("a parquet file cut off", parquet(cut=10), each(PARQUET, Error("", None, NOT_PARQUET))),
    ("a JSON Lines file named .parquet", committed("not_parquet.parquet"), each(PARQUET, Error("", None, NOT_PARQUET))),
    (
        "an empty parquet file",
        zero_bytes("rows.parquet"),
        each(PARQUET, Error("", None, "a readable parquet file (Parquet file size is 0 bytes)")),
    ),
    # a float column's NaN (how pandas writes a missing value) is no answer
    (
        "NaN in a parquet column",
        parquet(rows=[{"question": "1+1?", "final": 2.5}, {"question": "2+2?", "final": math.nan}]),
        {"problems": Error("row 1", "final", "a non-empty answer text, got nan")},
    ),
]

TABLE = [(case, loader, make, outcome) for case, make, outcomes in CASES for loader, outcome in outcomes.items()]


@pytest.mark.parametrize("case, loader, make, outcome", TABLE, ids=[f"{c}-{loader}" for c, loader, _, _ in TABLE])
def test_pathological_file(case, loader, make, outcome, tmp_path):
    entry = LOADERS[loader]
    path = make(entry, tmp_path)
    if isinstance(outcome, (Error, Says)):
        with pytest.raises(DeepcriticError) as info:
            entry.load(path)
        message = str(info.value)
        assert "\n" not in message, message  # one line
        if isinstance(outcome, Error):
            where = f", {outcome.where}" if outcome.where else ""
            field = f", field '{outcome.field}'" if outcome.field else ""
            assert message.startswith(f"{path}{where}{field}: expected {outcome.expected}"), message
        else:
            assert str(path) in message and all(f in message for f in outcome.fragments), message
        return
    expected = entry.values if outcome == CONVERTS else outcome
    assert entry.load(path) == expected


def test_nan_in_meta_is_kept():
    from deepcritic.config import DataConfig
    from deepcritic.data import load_records

    (record,) = load_records(DataConfig(source="contract", path=str(PATHOLOGICAL / "nan_in_meta.jsonl"))).records
    assert record.id == "a" and math.isnan(record.meta["mc"])


def test_every_loader_and_every_committed_file_is_in_the_table():
    assert {loader for _, loader, _, _ in TABLE} == set(LOADERS)
    files = {p.name for p in PATHOLOGICAL.iterdir() if p.name != "README.md"}
    assert files == COMMITTED | {"nan_in_meta.jsonl"}, "add new files of tests/data/bad/pathological to CASES"
