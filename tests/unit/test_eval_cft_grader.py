"""Where protocol cft_paper's grader (math-verify, :func:`harness_match`) agrees with the harness's own grader
(grader.py's ``math_equal``, executed from ../shared/data/reference/cft/) and where it does not.

The cases are grader.py's own examples and the kinds of answer the seven sets hold (numbers and percentages, fractions
and decimals, intervals, matrices, equations, units, choices, True/False), written as the harness hands them to the
grader (already normalised). ``official`` is math_equal's verdict, ``ours`` math-verify's; each row's comment says
why they agree or differ. Then the agreement on the sets' real references, pair by pair.
"""

from __future__ import annotations

import contextlib
import io

import pytest

from deepcritic.config import HARNESS_DATASETS, ProblemsConfig
from deepcritic.data.problems import load_problems
from deepcritic.eval.solver_protocols import get_solver_protocol, harness_match
from tests.helpers.official_cft import CFT, SET_FILES, math_equal

NESTED = "\\sqrt{\\sqrt{11}+\\sqrt{194}}"
# (prediction, reference, official, ours)
CASES = [
    # --- both say equal
    ("0.0833333333333333", "\\frac{1}{12}", True, True),  # grader.py's example: a decimal for a fraction
    ("(1,4.5)", "(1,\\frac{9}{2})", True, True),  # grader.py's example: a pair, decimal vs fraction
    ("\\frac{x}{7}+\\frac{2}{7}", "\\frac{x+2}{7}", True, True),  # grader.py's example: symbolic
    ("\\sec^2(y)", "\\tan^2(y)+1", True, True),  # grader.py's example: an identity
    # grader.py's example: a nested radical, terms reordered
    (f"\\frac{{{NESTED}}}{{2\\sqrt{{33}}+15}}", f"\\frac{{{NESTED}}}{{15+2\\sqrt{{33}}}}", True, True),
    ("-34x-45y+20z-100=0", "34x+45y-20z+100=0", True, True),  # grader.py's example: an equation times -1
    # matrices, decimal vs fraction
    ("\\begin{pmatrix}0.5\\\\2\\end{pmatrix}", "\\begin{pmatrix}\\frac{1}{2}\\\\2\\end{pmatrix}", True, True),
    ("x=3", "3", True, True),  # a short left side
    ("y=2x+1", "2x+1", True, True),
    ("1000", "1,000", True, True),  # a thousands separator
    ("1/2", "0.5", True, True),
    ("\\pi/2", "\\frac{\\pi}{2}", True, True),
    ("\\sqrt{2}/2", "\\frac{\\sqrt{2}}{2}", True, True),
    ("2", "2.0", True, True),
    ("1.5", "\\frac{3}{2}", True, True),
    ("3\\sqrt{2}", "\\sqrt{18}", True, True),
    ("x^2+2x+1", "(x+1)^2", True, True),
    ("{1,2}", "{2,1}", True, True),  # sets
    ("[1,2]", "[1,2]", True, True),  # intervals
    ("(-\\infty,3]", "(-\\infty,3]", True, True),
    ("150", "150^\\circ", True, True),  # degrees
    ("\\text{(C)}", "C", True, True),  # a choice letter in text
    ("B", "B", True, True),
    ("True", "True", True, True),  # TheoremQA
    # --- both say different
    ("False", "True", False, False),
    ("\\frac{100}{3}", "33.3", False, False),  # grader.py's example: a rounded decimal is not the fraction
    ("\\frac{1}{3}", "0.333", False, False),
    ("\\frac{1+\\sqrt{5}}{2}", "2", False, False),  # grader.py's example
    ("2\\pi", "6.28", False, False),
    ("e^{i\\pi}", "-1", False, False),
    # --- math_equal says equal, math-verify does not
    ("50", "0.5", True, False),  # math_equal's percentage rule: x counts for x/100 and 100x
    ("0.5", "50", True, False),
    ("10%", "0.1", True, False),
    ("3.14", "3.1", True, False),  # math_equal first compares numbers rounded to ONE decimal
    ("1", "1.0472", True, False),
    ("7.4e-12", "5.89e-7", True, False),  # ... so tiny numbers all equal 0.0
    ("0", "0.0000672", True, False),
    ("True", "1", True, False),  # sympy: True == 1
    ("5.89\\times10^{-7}", "5.89e-7", True, False),  # grader.py's example: its own scientific-notation rules
    ("(0.6,2.6667]", "(\\frac{3}{5},\\frac{8}{3}]", True, False),  # grader.py's example: endpoints to 4 digits
    ("(1,2)", "[1,2]", True, False),  # math_equal strips the brackets: open equals closed
    ("[1,2)", "[1,2]", True, False),
    ("123", "1,2,3", True, False),  # commas read as thousands separators
    ("", "", True, False),  # two empty answers (MATH-500's "\text{east}" normalises to "")
    # --- math-verify says equal, math_equal does not
    ("1,2,3", "3,2,1", False, True),  # math-verify compares a list of answers as a set
    ("-2", "-2,-2", False, True),
    ("11", "11_2", False, True),  # math-verify drops the base subscript (11 in base 2 is 3: a math-verify miss)
    ("6", "6m", False, True),  # math-verify drops a trailing unit letter (OlympiadBench writes "6m")
]  # fmt: skip


def _official(pred: str, reference: str) -> bool:
    with contextlib.redirect_stdout(io.StringIO()):  # math_equal prints when its post-processing fires
        return math_equal(pred, reference)


@pytest.mark.parametrize("pred, reference, official, ours", CASES)
def test_equivalence_case(pred, reference, official, ours):
    assert _official(pred, reference) is official
    assert harness_match(pred, reference) is ours


def test_the_table_agreement():
    agree = sum(official == ours for *_, official, ours in CASES)
    assert (agree, len(CASES)) == (30, 48)  # 30 of 48 cases, chosen to show the differences


def _references(dataset: str) -> list[tuple[str, str]]:
    """(first reference, graded reference) of every record, as protocol cft_paper reads them."""
    protocol = get_solver_protocol("cft_paper", official_dir=str(CFT))
    source = next(s for s, d in HARNESS_DATASETS.items() if d == dataset)
    problems = load_problems(ProblemsConfig(source=source, path=str(SET_FILES[dataset])))
    return [(item.reference, problem.answer) for problem in problems for item in [protocol.item(problem, 5)]]


# (dataset, the (prediction, reference) pairs where the two graders disagree): on every record, the reference
# against itself, against the set's raw answer column normalised (MATH-500) and against the next record's reference
DISAGREEMENTS = [
    ("math", [("", ""), ("", ""), ("2", "200")]),  # the empty "\text{east}" twice; the percentage rule
    ("gsm8k", [("8", "800"), ("20", "2000"), ("1", "100")]),  # the percentage rule
    ("aime24", []),
    ("amc23", []),
]


@pytest.mark.parametrize("dataset, disagreements", DISAGREEMENTS)
def test_agreement_on_the_real_references(dataset, disagreements):
    protocol = get_solver_protocol("cft_paper", official_dir=str(CFT))
    refs = _references(dataset)
    pairs = [(g, g) for g, _ in refs] + [(refs[(i + 1) % len(refs)][0], g) for i, (g, _) in enumerate(refs)]
    if dataset == "math":
        pairs += [(protocol.harness.normalize(raw), g) for g, raw in refs]
    found = [(p, g) for p, g in pairs if _official(p, g) != harness_match(p, g)]
    assert sorted(found) == sorted(disagreements)
