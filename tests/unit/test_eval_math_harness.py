"""The Qwen2.5-Math harness's answer rules (deepcritic.eval.math_harness), table by table: each expected value is
worked out by hand from the rule named in its comment, and the official function (executed from
../shared/data/reference/cft/, tests/helpers/official_cft.py) must give the same; then random LaTeX-like text,
where ours must equal the official code and never raise."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepcritic.errors import DeepcriticError
from deepcritic.eval.math_harness import (
    MathHarness,
    choice_answer,
    harness_output,
    prompt_template,
    unit_words,
    wants_tool_call,
)
from tests.helpers.official_cft import CFT, STOP_WORDS, official_code, official_prediction, parser_fn

PARSER = (CFT / "parser.py").read_text()
HARNESS = MathHarness(unit_words(PARSER))

NORMALIZE = [
    # \dfrac -> \frac; \frac12 -> \frac{1}{2}; a/b of integers -> \frac{a}{b}, but not when it does not print back
    ("\\dfrac{1}{2}", False, "\\frac{1}{2}"),
    ("\\frac12", False, "\\frac{1}{2}"),
    ("3/4", False, "\\frac{3}{4}"),
    ("03/4", False, "03/4"),
    # percent signs, a trailing \text{} unit, degrees, dollar signs dropped; a leading "." gets its 0
    ("10\\%", False, "10"),
    ("5 \\text{ cm}", False, "5"),
    ("70^\\circ", False, "70"),
    ("\\$18.90", False, "18.90"),
    (".5", False, "0.5"),
    # "x = " (a left side of at most 2 characters) dropped, spaces removed
    ("x = 5", False, "5"),
    ("y = 2x + 1", False, "2x+1"),
    # trailing zeros of a decimal dropped only when nothing but zeros follow the point
    ("2.0", False, "2"),
    ("2.50", False, "2.50"),
    ("7.00 dollars", False, "7dollars"),
    # \left \right and \{ \} dropped; \sqrt2 -> \sqrt{2}; array -> pmatrix; infinity -> \infty; a lone j -> i
    ("\\left( 3, \\frac{\\pi}{2} \\right)", False, "(3,\\frac{\\pi}{2})"),
    ("\\{1, 2\\}", False, "{1,2}"),
    ("\\sqrt2", False, "\\sqrt{2}"),
    ("\\begin{array}{cc} 1 & 2 \\end{array}", False, "\\begin{pmatrix}1&2\\end{pmatrix}"),
    ("infinity", False, "\\infty"),
    ("j + 1", False, "i+1"),
    # number words become digits (word2number)
    ("one", False, "1"),
    # unit words removed where they stand alone: "c" empties "(c)"; "m" goes, unless the set keeps units
    ("(c)", False, "()"),
    ("5 m", False, "5"),
    ("5 m", True, "5m"),
    ("3 sq m", False, "3"),
    ("12 apples", False, "12"),
    # quirks kept: "a . m" is a regex (matches "a x m"); "and" is deleted inside words; a unit in \text{} empties it
    ("a x m", False, ""),
    ("Sandy and Bob", False, "SyBob"),
    ("\\text{east}", False, ""),
    ("\\mbox{cm}", False, ""),
    # "x \in" is removed only before the spaces are, so a spaced one survives (evaluate.py's second pass gets it)
    ("x \\in [-2, 7]", False, "x\\in[-2,7]"),
    ("1,000", False, "1,000"),
]


@pytest.mark.parametrize("answer, keep_units, want", NORMALIZE)
def test_normalize(answer, keep_units, want):
    assert HARNESS.normalize(answer, keep_units) == want
    assert parser_fn("strip_string")(answer, skip_unit=keep_units) == want


EXTRACT = [
    # the last "boxed", braces balanced; an unclosed box runs to the end; "boxed 7$" without a brace
    ("So the answer is $\\boxed{\\frac{1}{2}}$.", "math", "\\frac{1}{2}"),
    ("\\boxed{1} then \\boxed{2}", "math", "2"),
    ("\\boxed{\\frac{1}{2", "math", "\\frac{1}{2"),
    ("\\boxed 7$ ok", "math", "7"),
    ("ends with boxed", "math", ""),
    # Minerva's sentence first (before any box); "the answer is" / "final answer is" next; the last number last
    ("Final Answer: The final answer is $5$. I hope it is correct.", "minerva_math", "5"),
    ("The answer is 42.", "gsm8k", "42"),
    ("The final answer is: 3.", "aime24", "3"),
    ("so the answer is\n: 12/", "amc23", "12"),
    ("We get 3,456 and 12.5 apples", "gsm8k", "12.5"),
    ("no numbers", "gsm8k", ""),
    ("答案是 5\n\nmore", "math", "5"),
    # "ки" is deleted first
    ("x ки = 4", "gsm8k", "4"),
    # Minerva keeps its units; other sets lose the unit word
    ("\\boxed{5 \\mathrm{~cm}}", "minerva_math", "5\\mathrm{~cm}"),
    ("\\boxed{5 \\mathrm{~cm}}", "math", "5\\mathrm{~}"),
]


@pytest.mark.parametrize("text, dataset, want", EXTRACT)
def test_extract(text, dataset, want):
    assert HARNESS.extract(text, dataset) == want
    assert parser_fn("extract_answer")(text, dataset) == want


REFERENCES = [
    # MATH: the solution's last box; evaluate.py extracts it again from the solution (the answer column is unused)
    ({"solution": "so $x \\in \\boxed{[-2, 7]}$", "answer": "?"}, "math", ("[-2,7]", "[-2,7]")),
    # GSM8K: after ####; OlympiadBench: the first answer, $ stripped
    ({"answer": "4 + 3 = 7\n#### 7"}, "gsm8k", ("7", "7")),
    # Minerva: its box, extracted with the units kept (spaces go, \leq -> \le), not normalised again
    ({"solution": "\\boxed{5 \\mathrm{~m} \\leq x}"}, "minerva_math", ("5\\mathrm{~m}\\lex", "5\\mathrm{~m}\\lex")),
    ({"final_answer": ["$\\frac{1}{2}$", "$3$"]}, "olympiadbench", ("\\frac{1}{2}", "\\frac{1}{2}")),
    # AMC's numbers are floats: "27.0" -> "27"
    ({"answer": 27.0}, "amc23", ("27", "27")),
    ({"answer": "True"}, "theoremqa", ("True", "True")),
]


@pytest.mark.parametrize("row, dataset, want", REFERENCES)
def test_reference_first_and_graded(row, dataset, want):
    assert HARNESS.reference(row, dataset) == want
    gt_cot, gt = parser_fn("parse_ground_truth")(dict(row), dataset)
    assert (gt, parser_fn("parse_ground_truth")({"gt_cot": gt_cot, "gt": gt}, dataset)[1]) == want


def test_a_row_the_harness_cannot_read_raises():
    with pytest.raises(ValueError):
        HARNESS.reference({"answer": "1 #### 2 #### 3"}, "gsm8k")  # two "####": the harness's unpacking fails
    with pytest.raises(KeyError):
        HARNESS.reference({"problem": "p"}, "theoremqa")
    with pytest.raises(ValueError, match="no reference rule"):
        HARNESS.reference({"answer": "1"}, "svamp")


QUESTIONS = [
    # the first of question / problem / Question / input; a True/False or Yes/No reference adds the hint
    ({"question": " Q? ", "problem": "P"}, "3", "Q?"),
    ({"problem": "Is it?"}, "True", "Is it? (True or False)"),
    ({"input": "Is it?"}, "no", "Is it? (Yes or No)"),
]


@pytest.mark.parametrize("row, reference, want", QUESTIONS)
def test_question(row, reference, want):
    assert HARNESS.question(row, reference) == want


PREDICTIONS = [
    # an empty output (or "error") has no prediction; a reference of letters keeps the letters of the prediction
    ("", "math", "5", None),
    ("error", "math", "5", None),
    ("\\boxed{5 cm}", "math", "5", "5"),
    ("the answer is (B) because", "math", "B", "B"),
    ("\\boxed{AC2}", "math", "AC", "AC"),
    # an EMPTY reference (MATH-500's "\text{east}") keeps only A-E of any prediction
    ("\\boxed{42}", "math", "", ""),
]


@pytest.mark.parametrize("output, dataset, reference, want", PREDICTIONS)
def test_prediction(output, dataset, reference, want):
    assert HARNESS.prediction(output, dataset, reference) == want
    assert official_prediction(output, dataset, reference) == want


CHOICES = [
    # after "answer is": the first letter; without a trigger: the last standalone letter; else the cleaned text
    ("The answer is (C) not (D)", "C"),
    ("I pick A, maybe E", "E"),
    ("nothing here.", "nothing here"),
]


@pytest.mark.parametrize("text, want", CHOICES)
def test_choice_answer(text, want):
    assert choice_answer(text) == want == parser_fn("choice_answer_clean")(text)


OUTPUTS = [
    # trailing space dropped, then cut before each stop word in turn (vLLM has usually stopped there already)
    ("P", "  so \\boxed{1}  \n", "so \\boxed{1}"),
    ("P", "a [END] b (END) c", "a"),
    # the text after the LAST copy of the prompt
    ("P:", "x P: y", "y"),
]


@pytest.mark.parametrize("prompt, output, want", OUTPUTS)
def test_harness_output(prompt, output, want):
    assert harness_output(prompt, output, tuple(STOP_WORDS)) == want == official_code(prompt, output)


@pytest.mark.parametrize(
    "output, want",
    [
        ("```python\nprint(1)\n```\n", True),  # ends with a code block, no box: the harness would run it
        ("\\boxed{1}\n```python\nprint(1)\n```", False),  # a boxed answer: no tool call
        ("```python\nprint(1)\n``` then text", False),
    ],
)
def test_wants_tool_call(output, want):
    assert wants_tool_call(output) is want


def test_the_official_files_parse():
    units = unit_words(PARSER)
    assert units[:3] == ("east", "degree", "mph") and units[len(units) // 2] == "easts"  # then the plurals
    template = prompt_template((CFT / "utils.py").read_text(), "qwen25-math-cot")
    assert template.startswith("<|im_start|>system\n") and "{input}" in template and "{{}}" in template


@pytest.mark.parametrize(
    "source, call, message",
    [
        ("x = 1\n", lambda s: unit_words(s), "no list of strings is assigned to unit_texts"),
        ("PROMPT_TEMPLATES = {'cot': ('{input}', '', '')}\n", lambda s: prompt_template(s, "qwen"), "no 'qwen'"),
        ("y = 2\n", lambda s: prompt_template(s, "qwen"), "no PROMPT_TEMPLATES"),
    ],
)
def test_files_without_what_is_read_are_refused(source, call, message):
    with pytest.raises(DeepcriticError, match=message):
        call(source)


TOKENS = [
    "\\boxed{", "}", "{", "\\frac", "\\dfrac", "12", "3", "0", ".", ",", " ", "$", "-", "/", "=", "x=", "(", ")",
    "the answer is ", "final answer is $", "$. I hope", "\\text{", "cm", " m", "and", "\\sqrt", "%", "\\%", "one",
    "\n", "c", "inf", "\\left", "\\right", "a . m", "A", "B", "ки", "答案是", "^\\circ", "j", "\\mbox{", "\\!",
    "\\begin{array}{cc}", "\\end{array}", "\\infty", "```",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=14).map("".join), st.sampled_from(["math", "minerva_math"]))
def test_random_outputs_read_as_the_official_code(text, dataset):
    assert HARNESS.normalize(text) == parser_fn("strip_string")(text)
    assert HARNESS.prediction(text, dataset, "5") == official_prediction(text, dataset, "5")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_never_raises(text):
    for dataset in ("math", "gsm8k", "theoremqa"):
        pred = HARNESS.prediction(text, dataset, "")
        assert pred is None or isinstance(pred, str)
