"""Pure parts of CFT sample generation: the conclusion line, normalization, agreement, candidate files."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepcritic.config import CandidatesConfig
from deepcritic.datagen.cft import agrees, cft_input, normalized_critique, pick, read_candidates, read_conclusion
from deepcritic.errors import DataError

CONCLUSIONS = [
    # the documented form
    ("Checked.\nConclusion: right", "right"),
    # wrong
    ("Checked.\nConclusion: wrong", "wrong"),
    # WebInstruct-CFT's trailing [END]
    ("Checked.\nConclusion: wrong [END]", "wrong"),
    # markdown emphasis, capitals, a period
    ("Checked.\n**Conclusion: Right.**", "right"),
    # bold label only
    ("Checked.\n**Conclusion**: wrong", "wrong"),
    # a conclusion that is not the last line does not count (the output went on)
    ("Conclusion: right\nBut wait, step 2 fails.", None),
    # other words are not conclusions
    ("Conclusion: correct", None),
    # both words: not a clean conclusion
    ("Conclusion: right or wrong", None),
    # nothing
    ("", None),
]


@pytest.mark.parametrize("text, expected", CONCLUSIONS)
def test_read_conclusion(text, expected):
    assert read_conclusion(text) == expected


NORMALIZED = [
    # the conclusion line is rewritten in the canonical form
    ("The sum is off by one.\n**Conclusion: WRONG** [END]", "The sum is off by one.\n\nConclusion: wrong"),
    # blank lines before it collapse to one
    ("All good.\n\n\nConclusion: right", "All good.\n\nConclusion: right"),
    # a conclusion with no critique before it is not a critique
    ("Conclusion: right", None),
    # no conclusion
    ("All good.", None),
]


@pytest.mark.parametrize("text, expected", NORMALIZED)
def test_normalized_critique(text, expected):
    assert normalized_critique(text) == expected


AGREES = [
    # right and correct
    ("right", True, True),
    # wrong and incorrect
    ("wrong", False, True),
    # right but incorrect
    ("right", False, False),
    # unknown correctness (no reference)
    ("right", None, None),
    # no conclusion
    (None, True, None),
]


@pytest.mark.parametrize("conclusion, correct, expected", AGREES)
def test_agrees(conclusion, correct, expected):
    assert agrees(conclusion, correct) is expected


PICKS = [
    # first with a conclusion
    (["no conclusion", "x\nConclusion: wrong"], None, True, 1),
    # agreement required and known: the disagreeing first sample is skipped
    (["x\nConclusion: right", "y\nConclusion: wrong"], False, True, 1),
    # agreement not required: the first with a conclusion
    (["x\nConclusion: right", "y\nConclusion: wrong"], False, False, 0),
    # none usable
    (["x\nConclusion: right"], False, True, None),
]


@pytest.mark.parametrize("texts, correct, require, expected", PICKS)
def test_pick(texts, correct, require, expected):
    assert pick(texts, correct, require) == expected


def test_read_candidates_grades_and_locates_bad_rows(tmp_path):
    path = tmp_path / "pairs.jsonl"
    rows = [{"q": "1+1?", "s": "\\boxed{2}", "a": 2, "k": "x"}, {"q": "2+2?", "s": "\\boxed{5}", "a": "4", "k": "y"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg = CandidatesConfig(
        source="file", path=str(path), question_field="q", solution_field="s", answer_field="a", id_field="k"
    )
    got = read_candidates(cfg)
    assert [(c.id, c.correct, c.reference) for c in got] == [("x", True, "2"), ("y", False, "4")]
    assert len(read_candidates(cfg, limit=1)) == 1
    path.write_text(json.dumps({"q": "1+1?"}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 1, field 's'.*field is missing"):
        read_candidates(cfg)


def test_cft_input_labels_question_and_solution():
    assert cft_input(" Q? ", "S.\n") == "Question:\nQ?\n\nSolution:\nS."


@given(st.text(max_size=300))
def test_teacher_text_never_raises(text):
    assert read_conclusion(text) in (None, "right", "wrong")
    normalized = normalized_critique(text)
    assert normalized is None or read_conclusion(normalized) == read_conclusion(text)
