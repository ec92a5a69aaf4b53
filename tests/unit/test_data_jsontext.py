"""The JSON text checks every reader shares (deepcritic/data/jsontext.py): line breaks, nesting depth, unpaired
surrogates and their paths, repeated keys."""

from __future__ import annotations

import io

import pytest

from deepcritic.data.jsontext import Decoder, Unparsable, line_and_column, lines, lone_surrogate, too_deep

LINES = [
    # LF, CRLF and a lone CR each end a line
    (b"a\nb\r\nc\rd", [b"a", b"b", b"c", b"d"]),
    # a CR and then a CRLF: two line ends (a blank line between)
    (b"a\r\r\nb\n", [b"a", b"", b"b"]),
    # a last line without its end, ended by a lone CR, and nothing after a final LF
    (b"a\nb\r", [b"a", b"b"]),
    # LF CR: the CR starts a new (blank) line
    (b"a\n\rb", [b"a", b"", b"b"]),
]


@pytest.mark.parametrize("data, expected", LINES)
def test_lines_end_at_lf_crlf_and_lone_cr(data, expected):
    assert list(lines(io.BytesIO(data))) == expected


def test_line_and_column_count_every_kind_of_break():
    text = "a\r\nb\rc\nde"
    # "e" is on line 4 (after CRLF, CR, LF), column 2
    assert line_and_column(text, text.index("e")) == (4, 2)


def nest(levels: int) -> list:
    """``levels`` arrays inside one another: nest(1) is []."""
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


DEPTHS = [
    # a scalar has no depth; [] is one level
    (3, False),
    ([], False),
    # 100 levels are allowed, 101 are not
    (nest(100), False),
    (nest(101), True),
    # objects count as levels too
    ({"a": nest(99)}, False),
    ({"a": {"b": nest(99)}}, True),
]


@pytest.mark.parametrize("value, deep", DEPTHS)
def test_too_deep(value, deep):
    assert too_deep(value) is deep


SURROGATES = [
    # a string value: its path as the validators name fields
    ({"steps": ["ok", "bad \ud800"]}, ("steps[1]", "bad \ud800")),
    ({"meta": {"note": "\udfff"}}, ("meta.note", "\udfff")),
    # a key: the path ends in the key, written with an escape so that it prints
    ({"a": {"\ud800": 1}}, ("a.\\ud800", "\ud800")),
    # the value itself
    ("\ud800", (None, "\ud800")),
    # a pair is one character: nothing found
    ({"a": "\U0001f600"}, None),
]


@pytest.mark.parametrize("value, found", SURROGATES)
def test_lone_surrogate_names_the_field(value, found):
    assert lone_surrogate(value) == found


def test_decoder_reports_repeated_keys_and_unparsable_text():
    decoder = Decoder()
    value, end, flaw = decoder.decode('{"a": {"b": 1, "b": 2}}', whole=True)
    assert value == {"a": {"b": 2}} and (flaw.reason, flaw.field) == ("duplicate key", "b")
    # the next value starts clean
    assert decoder.decode('{"b": 1}', whole=True)[2] is None
    with pytest.raises(Unparsable) as info:
        decoder.decode('{"a": 1} x', whole=True)
    assert (info.value.reason, info.value.problem, info.value.pos) == ("malformed JSON", "Extra data", 9)
