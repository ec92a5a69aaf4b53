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
    # --- what the critique request asks for, and how WebInstruct-CFT outputs end
    # the requested form, right
    ("The steps check out.\n\nConclusion: right [END]", "right"),
    # the requested form, wrong
    ("Step 2 adds wrongly.\n\nConclusion: wrong [END]", "wrong"),
    # bold conclusion, the end marker after it
    ("Step 2 adds wrongly.\n\n**Conclusion: wrong** [END]", "wrong"),
    # the end marker inside the bold
    ("All steps hold.\n**Conclusion: right [END]**", "right"),
    # bold label only, capitals
    ("All steps hold.\n**Conclusion**: Right [END]", "right"),
    # "incorrect" for wrong
    ("The area is 12, not 10.\nConclusion: incorrect", "wrong"),
    # "correct" for right
    ("The area is 12.\nConclusion: correct [END]", "right"),
    # a sentence after the label
    ("The area is 12.\nConclusion: The solution is right.", "right"),
    # a negated sentence after the label
    ("The area is 12, not 10.\nConclusion: The student's answer is not correct. [END]", "wrong"),
    # "isn't right"
    ("The area is 12, not 10.\nConclusion: the answer isn't right", "wrong"),
    # a verdict sentence and no label
    ("The area is 12, not 10.\nThe solution is wrong.", "wrong"),
    # a verdict sentence in bold with a lead-in
    ("The area is 12.\n**Therefore, the given solution is correct.**", "right"),
    # text after the conclusion (no end marker): still the conclusion
    ("The area is 12.\nConclusion: right\n\nLet me know if anything is unclear.", "right"),
    # text after the end marker is not read
    ("The area is 12.\nConclusion: right [END]\nConclusion: wrong", "right"),
    # the escaped end marker of LaTeX output
    ("The area is 12, not 10.\nConclusion: wrong \\[END\\]", "wrong"),
    # the parenthesised end marker
    ("The area is 12.\nConclusion: right (END)", "right"),
    # the bold end marker
    ("The area is 12.\nConclusion: right **END**", "right"),
    # a heading, the verdict on the next line
    ("The area is 12, not 10.\n\n### Conclusion\nThe solution is wrong.", "wrong"),
    # the label on its own line, the verdict below it
    ("The area is 12.\n\n**Conclusion:**\n\nright [END]", "right"),
    # "the correct answer" after the verdict is not a second verdict
    ("The area is 12, not 10.\nConclusion: wrong, the correct answer is 12. [END]", "wrong"),
    # what follows the verdict's sentence does not count
    ("The area is 12, not 10.\nConclusion: wrong. The student should have been right. [END]", "wrong"),
    # two labels that agree
    ("Conclusion: wrong (step 2).\nChecking again, step 2 fails.\nConclusion: wrong [END]", "wrong"),
    # the label mid-line
    ("Every step holds, so Conclusion: right", "right"),
    # --- no usable verdict: None
    # no conclusion at all
    ("The area is 12.", None),
    # nothing
    ("", None),
    # the request's two options echoed
    ("Conclusion: right/wrong [END]", None),
    # both words
    ("Conclusion: right or wrong", None),
    # two labels that disagree
    ("Conclusion: right\nOn second thought, step 2 fails.\nConclusion: wrong [END]", None),
    # one clause with both verdicts
    ("Conclusion: the answer is right but the reasoning is wrong", None),
    # a double negation is no verdict
    ("Conclusion: not wrong", None),
    # a hedge is no verdict
    ("Conclusion: partially correct [END]", None),
    # a label whose clause states no verdict, and no verdict sentence
    ("The area is 12.\nConclusion: the area is 12", None),
    # a critique sentence about one step is not the verdict on the solution
    ("Step 1 is fine.\nThe second step is wrong.", None),
    # the conclusion only after the end marker
    ("The area is 12. [END]\nConclusion: right", None),
]


@pytest.mark.parametrize("text, expected", CONCLUSIONS)
def test_read_conclusion(text, expected):
    assert read_conclusion(text) == expected


NORMALIZED = [
    # the conclusion line is rewritten in the release's form, [END] kept
    ("The sum is off by one.\n**Conclusion: WRONG** [END]", "The sum is off by one.\n\nConclusion: wrong [END]"),
    # blank lines before it collapse to one
    ("All good.\n\n\nConclusion: right", "All good.\n\nConclusion: right [END]"),
    # what follows the conclusion is dropped
    ("All good.\nConclusion: correct.\nHope this helps!", "All good.\n\nConclusion: right [END]"),
    # a verdict sentence becomes the conclusion line
    ("The sum is off by one.\nThe solution is incorrect.", "The sum is off by one.\n\nConclusion: wrong [END]"),
    # the critique before a mid-line label is kept, the lead-in "In" goes with the label
    ("All good. In conclusion: right", "All good.\n\nConclusion: right [END]"),
    # a conclusion with no critique before it is not a critique
    ("Conclusion: right [END]", None),
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


# Teacher-like text: the reader's own pieces shuffled together, so hypothesis reaches labels, markers and
# negations, plus arbitrary text.
PIECES = st.sampled_from(
    [
        "Conclusion:",
        "conclusion",
        "**",
        "### ",
        "\n",
        " ",
        "right",
        "wrong",
        "correct",
        "not",
        "the",
        "[END]",
        "\\[END\\]",
        "(END)",
        "The solution is",
        ".",
        "partially",
        "In ",
        "x",
    ]
)
TEACHER_TEXT = st.one_of(
    st.text(max_size=300), st.lists(st.one_of(PIECES, st.text(max_size=5)), max_size=40).map("".join)
)


@given(TEACHER_TEXT)
def test_teacher_text_never_raises(text):
    assert read_conclusion(text) in (None, "right", "wrong")
    normalized = normalized_critique(text)
    assert normalized is None or read_conclusion(normalized) == read_conclusion(text)
    assert normalized is None or normalized.endswith(("Conclusion: right [END]", "Conclusion: wrong [END]"))


@pytest.mark.parametrize(
    "text",
    [
        "conclusion:" * 20000,  # a label every 11 characters
        ("Conclusion: " + "*" * 7 + " ") * 10000,  # labels with markup to skip
        " " * 200000 + "Conclusion: right",  # a long run of blanks
        "not right wrong " * 15000,  # verdict words with no label
        "#" * 12 + "conclusion" + " " * 8 + "x" * 200000,  # a heading that is not one
    ],
)
def test_reader_is_linear_on_adversarial_input(text):
    import time

    start = time.perf_counter()
    read_conclusion(text), normalized_critique(text)
    assert time.perf_counter() - start < 5.0  # about 1 s on a slow CPU; a quadratic reader takes minutes
