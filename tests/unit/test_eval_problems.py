"""Math problem sets: MATH500 and GSM8K files, field mappings, and errors that name the file, row and field."""

from __future__ import annotations

import json

import pytest

from deepcritic.config import ProblemsConfig
from deepcritic.data.problems import load_problems, problem_from_row
from deepcritic.errors import DataError

FIELDS = {"problem": "q", "answer": "a"}

ROWS = [
    # a plain row; the id is the row index when no id column is mapped
    ({"q": " What? ", "a": "3"}, FIELDS, False, ("7", "What?", "3")),
    # an id column
    ({"q": "P", "a": "x", "k": "id-1"}, {**FIELDS, "id": "k"}, False, ("id-1", "P", "x")),
    # numeric answers become text
    ({"q": "P", "a": 12}, FIELDS, False, ("7", "P", "12")),
    # GSM8K: the reference solution is cut to the number after ####
    ({"q": "P", "a": "3 + 4 = 7\n#### 7"}, FIELDS, True, ("7", "P", "7")),
]


@pytest.mark.parametrize("row, fields, gsm8k, want", ROWS)
def test_problem_from_row(row, fields, gsm8k, want):
    p = problem_from_row(row, fields, gsm8k=gsm8k, file="f.jsonl", where="line 8", index=7)
    assert (p.id, p.problem, p.answer) == want


BAD_ROWS = [
    # missing answer column
    ({"q": "P"}, False, "field 'a'"),
    # empty problem
    ({"q": "  ", "a": "1"}, False, "field 'q'"),
    # GSM8K answer without ####
    ({"q": "P", "a": "7"}, True, "#### <number>"),
    # not an object
    (["q", "a"], False, "an object"),
]


@pytest.mark.parametrize("row, gsm8k, message", BAD_ROWS)
def test_bad_rows_name_file_row_and_field(row, gsm8k, message):
    with pytest.raises(DataError) as exc:
        problem_from_row(row, FIELDS, gsm8k=gsm8k, file="f.jsonl", where="line 8", index=7)
    assert "f.jsonl, line 8" in str(exc.value) and message in str(exc.value)


def test_math500_file(shared_data):
    problems = load_problems(ProblemsConfig(source="math500", path=str(shared_data / "math500" / "test.jsonl")), 3)
    assert len(problems) == 3
    assert problems[0].id == "test/precalculus/807.json"
    assert problems[0].answer == r"\left( 3, \frac{\pi}{2} \right)"


def test_gsm8k_file_and_both_limits(shared_data):
    cfg = ProblemsConfig(source="gsm8k", path=str(shared_data / "gsm8k" / "test.jsonl"), limit=2)
    problems = load_problems(cfg, 5)
    assert [p.answer for p in problems] == ["18", "3"] and [p.id for p in problems] == ["0", "1"]
    assert problems[0].problem.startswith("Janet")


def test_generic_file_with_field_mapping(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"question": "1+1?", "final": "2", "uid": "u1"}) + "\n", encoding="utf-8")
    cfg = ProblemsConfig(source="file", path=str(path), fields={"problem": "question", "answer": "final", "id": "uid"})
    assert [(p.id, p.answer) for p in load_problems(cfg)] == [("u1", "2")]


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="at least one problem"):
        load_problems(ProblemsConfig(source="file", path=str(path), fields=FIELDS))


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_problems(ProblemsConfig(source="math500", path=str(tmp_path / "nope.jsonl")))
