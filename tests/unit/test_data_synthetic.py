"""The synthetic arithmetic task: deterministic, labeled right, arithmetic right except at the label."""

from __future__ import annotations

import dataclasses
import re

import pytest

from deepcritic.config import SyntheticConfig
from deepcritic.critique import parse_critique
from deepcritic.data import generate_synthetic
from deepcritic.data.records import record_from_dict
from deepcritic.data.synthetic import (
    Step,
    compared_count_critique,
    counting_step_critique,
    step_critique,
    terse_step_critique,
)
from deepcritic.errors import ConfigError

STEP_RE = re.compile(r"^(\d+) ([+\-*]) (\d+) = (\d+)$")
OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


def _cfg(**kw) -> SyntheticConfig:
    return dataclasses.replace(SyntheticConfig(), **kw)


def _parse(step: str) -> tuple[int, str, int, int]:
    left, op, right, stated = STEP_RE.match(step).groups()
    return int(left), op, int(right), int(stated)


@pytest.fixture(scope="module")
def thousand():
    return generate_synthetic(_cfg(num_records=1000, seed=11, error_rate=0.3, max_error_delta=4))


def test_same_config_same_records():
    assert generate_synthetic(_cfg(num_records=50, seed=5)) == generate_synthetic(_cfg(num_records=50, seed=5))


def test_seed_changes_records_and_prefix_is_stable():
    # another seed gives other problems; more records keep the first ones unchanged
    a, b = generate_synthetic(_cfg(num_records=30, seed=1)), generate_synthetic(_cfg(num_records=30, seed=2))
    assert [r.problem for r in a] != [r.problem for r in b]
    assert generate_synthetic(_cfg(num_records=60, seed=1))[:30] == a


def test_ids_and_source():
    records = generate_synthetic(_cfg(num_records=3, seed=7))
    assert [(r.id, r.source) for r in records] == [(f"synthetic-7-{i}", "synthetic/arith") for i in range(3)]


def test_label_rate_matches_error_rate(thousand):
    # 1000 draws at p=0.3: sd ~ 14.5, so +-60 is a 4-sigma band
    wrong = sum(r.has_error for r in thousand)
    assert 240 <= wrong <= 360


def test_error_position_is_spread_over_steps(thousand):
    # a uniform position: first, middle and last steps all get errors
    positions = {r.label for r in thousand if r.has_error}
    assert {0, 1, 2, 3, 4} <= positions


def test_every_record_validates(thousand):
    for r in thousand:
        assert record_from_dict(r.to_dict(), "synthetic", r.id) == r


def test_arithmetic_wrong_exactly_at_label(thousand):
    cfg = _cfg(max_error_delta=4)
    for r in thousand:
        parsed = [_parse(s) for s in r.steps]
        wrong = [i for i, (a, op, b, c) in enumerate(parsed) if OPS[op](a, b) != c]
        assert wrong == ([] if r.label == -1 else [r.label])
        for i, (a, op, b, c) in enumerate(parsed):
            assert 1 <= b <= cfg.max_operand and c >= 0
            if i == r.label:
                assert 1 <= abs(c - OPS[op](a, b)) <= 4
            if i > 0:  # each step starts from what the previous one stated (errors carry forward)
                assert a == parsed[i - 1][3]


def test_answer_is_true_result_and_problem_lists_moves(thousand):
    verbs = {"+": "add", "-": "subtract", "*": "multiply by"}
    for r in thousand:
        parsed = [_parse(s) for s in r.steps]
        value = parsed[0][0]
        for _, op, b, _ in parsed:
            value = OPS[op](value, b)
        assert r.answer == str(value)
        moves = ", then ".join(f"{verbs[op]} {b}" for _, op, b, _ in parsed)
        assert r.problem == f"Start with {parsed[0][0]}. {moves[0].upper()}{moves[1:]}. What is the result?"
        if r.label == -1:
            assert parsed[-1][3] == value


def test_problem_example_shape():
    # the exact form of one record (seed 0, record 0), as a reader would see it
    r = generate_synthetic(_cfg(num_records=1, seed=0))[0]
    assert r.problem.startswith("Start with ") and r.problem.endswith(". What is the result?")
    assert all(STEP_RE.match(s) for s in r.steps)
    assert _cfg().min_steps <= len(r.steps) <= _cfg().max_steps


def test_gold_critique_parses_back(thousand):
    for r in thousand[:200]:
        parsed = parse_critique(r.meta["critique"], num_steps=len(r.steps))
        assert parsed.first_error == r.label
        assert parsed.complete
        n_judged = len(r.steps) if r.label == -1 else r.label + 1
        assert parsed.step_judgments == [1] * (n_judged - 1) + [1 if r.label == -1 else -1]
        assert len(r.meta["step_critiques"]) == len(r.steps)


KNOBS = [
    # only additions with tiny operands
    ({"ops": ["+"], "max_operand": 2}, lambda p: p[1] == "+" and p[2] <= 2),
    # fixed length 2
    ({"min_steps": 2, "max_steps": 2}, None),
    # only subtraction: the value never drops below 1 on a correct chain (a subtraction at 1 becomes +)
    ({"ops": ["-"], "error_rate": 0.0}, lambda p: p[3] >= 1),
]


@pytest.mark.parametrize("knobs, check", KNOBS)
def test_difficulty_knobs(knobs, check):
    records = generate_synthetic(_cfg(num_records=200, seed=3, **knobs))
    for r in records:
        assert _cfg(**knobs).min_steps <= len(r.steps) <= _cfg(**knobs).max_steps
        if check:
            assert all(check(_parse(s)) for s in r.steps)


def test_error_rate_extremes():
    assert all(r.label == -1 for r in generate_synthetic(_cfg(num_records=100, error_rate=0.0)))
    assert all(r.label >= 0 for r in generate_synthetic(_cfg(num_records=100, error_rate=1.0)))


def test_bad_ops_rejected():
    with pytest.raises(ConfigError, match="data.synthetic.ops"):
        generate_synthetic(_cfg(ops=["/"]))


STEP_CRITIQUES = [
    # full: a right step
    (step_critique, Step(12, "*", 3, 36), "Recompute 12 * 3: 12 * 3 = 36. The step states 36, which matches."),
    # full: a wrong step names the right value
    (
        step_critique,
        Step(12, "*", 3, 35),
        "Recompute 12 * 3: 12 * 3 = 36. The step states 35, which does not match 36.",
    ),
    (step_critique, Step(7, "-", 5, 2), "Recompute 7 - 5: 7 - 5 = 2. The step states 2, which matches."),
    # terse: a right step: the recomputation, then the claim repeated as stated
    (terse_step_critique, Step(5, "+", 2, 7), "5 + 2 is 7; 5 + 2 = 7"),
    # terse: a wrong step: the two values differ
    (terse_step_critique, Step(5, "+", 2, 8), "5 + 2 is 7; 5 + 2 = 8"),
    (terse_step_critique, Step(9, "-", 4, 5), "9 - 4 is 5; 9 - 4 = 5"),
    # count: the claim, then a count up from the left operand; the second number is how many units are left
    (counting_step_critique, Step(5, "+", 3, 8), "5 + 3 = 8? 6/2 7/1 8/0"),
    # count: subtraction counts down; a wrong claim is repeated as stated, the count ends elsewhere
    (counting_step_critique, Step(9, "-", 2, 8), "9 - 2 = 8? 8/1 7/0"),
    (counting_step_critique, Step(1, "+", 1, 2), "1 + 1 = 2? 2/0"),  # one unit
    # count: multiplication cannot be counted unit by unit: the terse form
    (counting_step_critique, Step(3, "*", 4, 12), "3 * 4 is 12; 3 * 4 = 12"),
    # count_compare: the count, then the value reached beside the value claimed
    (compared_count_critique, Step(9, "-", 3, 7), "9 - 3 = 7? 8/2 7/1 6/0 6 vs 7"),
    (compared_count_critique, Step(5, "+", 3, 8), "5 + 3 = 8? 6/2 7/1 8/0 8 vs 8"),
    (compared_count_critique, Step(3, "*", 4, 12), "3 * 4 is 12; 3 * 4 = 12 12 vs 12"),
]


@pytest.mark.parametrize("style, step, text", STEP_CRITIQUES)
def test_step_critique_text(style, step, text):
    assert style(step) == text


def test_terse_gold_critique_parses_back():
    records = generate_synthetic(_cfg(num_records=200, seed=5, critique="terse"))
    for r in records:
        parsed = parse_critique(r.meta["critique"], num_steps=len(r.steps))
        assert parsed.first_error == r.label and parsed.complete
        assert r.meta["step_critiques"] == [terse_step_critique(Step(*_parse(s)[:3], _parse(s)[3])) for s in r.steps]


def test_critique_style_does_not_change_the_records():
    full = generate_synthetic(_cfg(num_records=50, seed=2))
    terse = generate_synthetic(_cfg(num_records=50, seed=2, critique="terse"))
    assert [(r.problem, r.steps, r.label) for r in full] == [(r.problem, r.steps, r.label) for r in terse]


def test_max_value_bounds_every_right_value():
    records = generate_synthetic(
        _cfg(num_records=500, seed=3, ops=["+", "-"], max_operand=9, max_value=9, min_steps=2, max_steps=4)
    )
    for r in records:
        for i, (a, op, b, _c) in enumerate(_parse(s) for s in r.steps):
            right = OPS[op](a, b)
            if i < r.label or r.label == -1:  # before the error, the shown chain is the true one
                assert 1 <= right <= 9 and a <= 9
    assert {_parse(s)[1] for r in records for s in r.steps} == {"+", "-"}  # both operations still occur


def test_default_records_are_pinned():
    # the new knobs are opt-in: the default draws are those of earlier versions (record 1 of seed 0, as
    # generated before max_value and critique styles existed)
    r = generate_synthetic(_cfg(num_records=2, seed=0))[1]
    assert r.problem == "Start with 7. Add 4, then subtract 3, then subtract 2, then subtract 1. What is the result?"
    assert (r.steps, r.label) == (["7 + 4 = 11", "11 - 3 = 8", "8 - 2 = 6", "6 - 1 = 5"], -1)


BAD_NEW_KNOBS = [
    # an unknown critique style
    ({"critique": "long"}, "data.synthetic.critique"),
    # a bound that leaves no room for a chain
    ({"max_value": 1}, "data.synthetic.max_value"),
]


@pytest.mark.parametrize("knobs, key", BAD_NEW_KNOBS)
def test_bad_new_knobs_rejected(knobs, key):
    with pytest.raises(ConfigError, match=key):
        generate_synthetic(_cfg(**knobs))


def test_count_ends_at_the_right_value_and_parses_back():
    records = generate_synthetic(_cfg(num_records=300, seed=6, critique="count", ops=["+", "-"], max_operand=4))
    for r in records:
        assert parse_critique(r.meta["critique"], num_steps=len(r.steps)).first_error == r.label
        for text, body in zip(r.steps, r.meta["step_critiques"]):
            a, op, b, _ = _parse(text)
            units = body.split("? ", 1)[1].split(" ")
            assert len(units) == b and units[-1] == f"{OPS[op](a, b)}/0"
