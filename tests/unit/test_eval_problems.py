"""Math problem sets: MATH500, GSM8K and the other sets of the CFT paper's evaluation (real files from
../shared/data), field mappings, and errors that name the file, row and field."""

from __future__ import annotations

import json

import pytest

from deepcritic.config import ProblemsConfig
from deepcritic.data.problems import load_problems, problem_from_row
from deepcritic.errors import DataError

FIELDS = {"problem": "q", "answer": "a"}

ROWS = [
    # a plain row; the id is the row index when no id column is mapped
    ({"q": " What? ", "a": "3"}, FIELDS, "file", ("7", "What?", "3")),
    # an id column
    ({"q": "P", "a": "x", "k": "id-1"}, {**FIELDS, "id": "k"}, "file", ("id-1", "P", "x")),
    # numeric answers become text (AMC 2023 stores 27.0)
    ({"q": "P", "a": 12}, FIELDS, "file", ("7", "P", "12")),
    ({"q": "P", "a": 27.0}, FIELDS, "amc23", ("7", "P", "27.0")),
    # GSM8K: the reference solution is cut to the number after ####
    ({"q": "P", "a": "3 + 4 = 7\n#### 7"}, FIELDS, "gsm8k", ("7", "P", "7")),
    # Minerva-Math: the solution's last boxed answer
    (
        {"q": "P", "a": "so $x=\\boxed{1}$ and \\boxed{2.5 \\mathrm{~m}}"},
        FIELDS,
        "minerva_math",
        ("7", "P", "2.5 \\mathrm{~m}"),
    ),
    # OlympiadBench: the final_answer list, $ stripped, joined
    ({"q": "P", "a": ["$3$", "$-1$"]}, FIELDS, "olympiadbench", ("7", "P", "3, -1")),
]


@pytest.mark.parametrize("row, fields, source, want", ROWS)
def test_problem_from_row(row, fields, source, want):
    p = problem_from_row(row, fields, source, file="f.jsonl", where="line 8", index=7)
    assert (p.id, p.problem, p.answer, p.source) == (*want, source)
    assert p.row == row  # the source row is kept for an official harness


BAD_ROWS = [
    # missing answer column
    ({"q": "P"}, "file", "field 'a'"),
    # empty problem
    ({"q": "  ", "a": "1"}, "file", "field 'q'"),
    # GSM8K answer without ####
    ({"q": "P", "a": "7"}, "gsm8k", "#### <number>"),
    # a Minerva solution without a boxed answer; an OlympiadBench answer that is not a list
    ({"q": "P", "a": "no box"}, "minerva_math", "boxed"),
    ({"q": "P", "a": "3"}, "olympiadbench", "a list of final answers"),
    # not an object
    (["q", "a"], "file", "an object"),
]


@pytest.mark.parametrize("row, source, message", BAD_ROWS)
def test_bad_rows_name_file_row_and_field(row, source, message):
    with pytest.raises(DataError) as exc:
        problem_from_row(row, FIELDS, source, file="f.jsonl", where="line 8", index=7)
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


# (source, file under ../shared/data, records, first id, first answer, first problem's start): the files'
# first records read by eye
CFT_SETS = [
    ("aime24", "math_eval/aime24/test.jsonl", 30, "60", "204", "Every morning Aya"),
    ("amc23", "math_eval/amc23/test.jsonl", 40, "0", "27.0", "Cities $A$ and $B$"),
    ("minerva_math", "math_eval/minerva_math/test.jsonl", 272, "0", "1.6", "Each of the two Magellan"),
    ("olympiadbench", "math_eval/olympiadbench/test.jsonl", 675, "1606", "2", "Xenia and Sergey"),
    ("theoremqa", "math_eval/theoremqa/test.jsonl", 800, "0", "11760", "How many ways are there to divide"),
]


@pytest.mark.parametrize("source, relative, count, first_id, answer, start", CFT_SETS)
def test_cft_paper_sets_from_their_files(shared_data, source, relative, count, first_id, answer, start):
    problems = load_problems(ProblemsConfig(source=source, path=str(shared_data / relative)))
    assert len(problems) == count and len({p.id for p in problems}) == count
    first = problems[0]
    assert (first.id, first.answer, first.source) == (first_id, answer, source) and first.problem.startswith(start)


def test_a_local_only_format_without_a_path_says_where_the_file_is():
    from deepcritic.config import validate

    problems = validate(ProblemsConfig(source="minerva_math"))
    assert [p.key for p in problems] == ["path"] and "QwenLM/Qwen2.5-Math" in problems[0].fix
    assert validate(ProblemsConfig(source="aime24", split="train")) == []  # the Hub has AIME 2024 in this format
