"""Final-answer extraction, grading with math-verify (with a time limit) and answer voting."""

from __future__ import annotations

import threading
import time

import pytest

from deepcritic.answers import (
    extract_boxed,
    gsm8k_reference,
    is_correct,
    parse_answer,
    parse_reference,
    vote,
)

BOXED = [
    # the last box wins
    (r"first \boxed{1} then \boxed{2}", "2"),
    # nested braces are kept whole
    (r"so \boxed{\frac{1}{2}}.", r"\frac{1}{2}"),
    # \fbox counts too
    (r"\fbox{7}", "7"),
    # no box
    ("the answer is 3", None),
    # a truncated last box falls back to the previous closed one
    (r"\boxed{4} and then \boxed{\frac{1", "4"),
    # only an unclosed box
    (r"\boxed{5", None),
    # spaces inside are stripped
    (r"\boxed{ 12 }", "12"),
]


@pytest.mark.parametrize("text, want", BOXED)
def test_extract_boxed(text, want):
    assert extract_boxed(text) == want


GSM8K = [
    # the number after ####
    ("She has 3 + 4 = <<3+4=7>>7 apples.\n#### 7", "7"),
    # thousands separators are dropped
    ("...\n#### 1,234", "1234"),
    # negative and spaced
    ("#### -5 ", "-5"),
    # no final answer marker
    ("no marker here", None),
    ("", None),
]


@pytest.mark.parametrize("answer, want", GSM8K)
def test_gsm8k_reference(answer, want):
    assert gsm8k_reference(answer) == want


CORRECT = [
    # same number
    (r"... so the answer is \boxed{18}", "18", True),
    # equivalent forms: 14/3 vs \frac{14}{3}
    (r"\boxed{14/3}", r"\frac{14}{3}", True),
    # a float equal to the integer
    (r"\boxed{18.0}", "18", True),
    # a different value
    (r"\boxed{17}", "18", False),
    # a tuple answer (MATH500's first problem)
    (r"\boxed{(3, \frac{\pi}{2})}", r"\left( 3, \frac{\pi}{2} \right)", True),
    # no answer at all (random model output)
    ("\n\n\n", "18", False),
    # garbage with braces does not raise
    ("}}}{{{\\boxed{", "1", False),
]


@pytest.mark.parametrize("solution, reference, want", CORRECT)
def test_is_correct(solution, reference, want):
    assert is_correct(solution, reference) is want


def test_pathological_expression_is_cut_off_by_the_time_limit():
    big = r"\boxed{9^{9^{9^{9^{9}}}}}"
    start = time.monotonic()
    assert is_correct(big, r"9^{9^{9^{9^{8}}}}", timeout_s=1) is False
    assert time.monotonic() - start < 10  # without the limit sympy would not finish


def test_grading_off_the_main_thread_does_not_raise():
    # signal-based time limits only work in the main thread; elsewhere they are switched off
    result = {}
    thread = threading.Thread(target=lambda: result.update(ok=is_correct(r"\boxed{2}", "2")))
    thread.start()
    thread.join(30)
    assert result == {"ok": True}


def _parsed(*answers: str):
    return [parse_answer(rf"\boxed{{{a}}}") if a else [] for a in answers]


VOTES = [
    # plain majority
    (["2", "3", "2"], None, 0, (2, 1)),
    # equivalent answers form one group (1/2 and 0.5)
    (["1/2", "3", "0.5"], None, 0, (2, 1)),
    # tie: the group seen first wins
    (["3", "2"], None, 0, (1, 1)),
    # the second group is larger; the winner is its first member
    (["5", "2", "2"], None, 1, (1, 2)),
    # empty parses never vote
    (["", "", "4"], None, 2, (1,)),
    # ineligible answers (rejected by the critic) are left out
    (["2", "2", "3"], [False, False, True], 2, (1,)),
    # nobody eligible: no winner
    (["2"], [False], None, ()),
    # nothing parsed: no winner
    (["", ""], None, None, ()),
]


@pytest.mark.parametrize("answers, eligible, winner, sizes", VOTES)
def test_vote(answers, eligible, winner, sizes):
    result = vote(_parsed(*answers), eligible)
    assert (result.winner, result.group_sizes) == (winner, sizes)


def test_parse_reference_boxes_bare_latex():
    assert parse_reference(r"\frac{1}{2}") and parse_reference("18")


# Property: a malformed model output never raises in answer extraction or grading.
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

MATHY = st.text(alphabet=st.sampled_from(list("\\boxed{}fracsqrt^_()[]$,.-+*/= 0123456789xyab\n")), max_size=80)


@settings(max_examples=200, deadline=None)
@given(st.one_of(MATHY, st.text(max_size=80)))
def test_extract_boxed_never_raises(text):
    result = extract_boxed(text)
    assert result is None or isinstance(result, str)


@settings(max_examples=40, deadline=None)
@given(MATHY)
def test_grading_never_raises(text):
    assert is_correct(text, "18", timeout_s=2) in (True, False)
    assert vote([parse_answer(text, 2), parse_answer("\\boxed{18}", 2)]).winner in (0, 1, None)
