"""records.iter_jsonl (errors yielded, not raised) and record_from_dict's skip reasons."""

from __future__ import annotations

import pytest

from deepcritic.data.records import iter_jsonl, record_from_dict
from deepcritic.errors import DataError, RecordError


def test_iter_jsonl_goes_on_after_bad_lines(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\n{"a": \n\xff\n  \n{"a": 3}\r\n')
    got = [(n, obj, err.reason if err else None) for n, obj, err in iter_jsonl(path)]
    # a byte-order mark is dropped; blank lines are skipped but counted; CRLF is fine
    assert got == [(1, {"a": 1}, None), (3, None, "malformed JSON"), (4, None, "not UTF-8"), (6, {"a": 3}, None)]


GOOD = {"id": "x", "source": "s", "problem": "p", "steps": ["a", "b"], "label": 1}

REASONS = [
    # not an object
    ([GOOD], "not an object", None),
    # each required field missing
    ({k: v for k, v in GOOD.items() if k != "steps"}, "missing field", "steps"),
    ({k: v for k, v in GOOD.items() if k != "label"}, "missing field", "label"),
    # a bool is not a label
    ({**GOOD, "label": True}, "wrong type", "label"),
    # a step that is not a string
    ({**GOOD, "steps": ["a", 3]}, "wrong type", "steps[1]"),
    # a blank problem
    ({**GOOD, "problem": " "}, "empty problem", "problem"),
    # label below -1
    ({**GOOD, "label": -2}, "label out of range", "label"),
    # meta must be an object
    ({**GOOD, "meta": [1]}, "wrong type", "meta"),
]


@pytest.mark.parametrize("raw, reason, field", REASONS)
def test_record_from_dict_reasons(raw, reason, field):
    with pytest.raises(RecordError) as info:
        record_from_dict(raw, "f.jsonl", "line 9")
    assert (info.value.reason, info.value.field, info.value.where) == (reason, field, "line 9")
    assert isinstance(info.value, DataError) and info.value.raw is raw


def test_record_from_dict_normalizes():
    # int ids and numeric answers become strings; meta defaults to {}
    rec = record_from_dict({**GOOD, "id": 7, "answer": 4})
    assert (rec.id, rec.answer, rec.meta) == ("7", "4", {})
