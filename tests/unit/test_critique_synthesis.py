"""Pure parts of seed-critique synthesis: judgments, bodies, assembly, the mix, outcomes, keys, templates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepcritic.critique import load_template, parse_critique
from deepcritic.critique.synthesis import (
    Candidate,
    assemble,
    choose,
    critique_body,
    critique_span,
    expected_judgment,
    initial_erred,
    judged_sample,
    mix,
    outcome,
    read_judgment,
    stable_rank,
    stage_messages,
    stage_stats,
)

JUDGMENTS = [
    # plain box on the last line
    ("The step is fine.\n\\boxed{1}", 1),
    # wrong
    ("It divides by zero.\n\\boxed{-1}", -1),
    # +1 and spaces inside the braces
    ("ok\n\\boxed{ +1 }", 1),
    # a label and emphasis before the box
    ("ok\n**Judgment**: \\boxed{-1}", -1),
    # trailing blank lines do not matter
    ("ok\n\\boxed{1}\n\n  \n", 1),
    # two boxes on the last line: the last one counts
    ("\\boxed{1} at first, but \\boxed{-1}", -1),
    # the judgment must be on the last non-empty line (truncated after it is not a judgment)
    ("\\boxed{1}\nand then more text", None),
    # not a judgment box
    ("the result is\n\\boxed{2}", None),
    # \boxed{10} is not \boxed{1}
    ("\\boxed{10}", None),
    # empty output
    ("", None),
    # unclosed box (truncated)
    ("ok\n\\boxed{1", None),
]


@pytest.mark.parametrize("text, expected", JUDGMENTS)
def test_read_judgment(text, expected):
    assert read_judgment(text) == expected


BODIES = [
    # judgment line removed whole
    ("The step adds 2 and 3.\n\n\\boxed{1}", "The step adds 2 and 3."),
    # a bare label before the box goes with it
    ("Checks out.\n**Judgment:** \\boxed{1}", "Checks out."),
    # other text before the box on the last line is kept
    ("First line.\nSo the step is correct: \\boxed{1}", "First line.\nSo the step is correct:"),
    # math delimiters around the box
    ("Fine.\n$\\boxed{-1}$", "Fine."),
    # no judgment at the end: unusable
    ("Fine, I think.", None),
    # a stray judgment box in the body would parse as an extra step judgment
    ("Earlier I said \\boxed{1}.\n\\boxed{-1}", None),
    # a final-answer line in the body would change the verdict
    ("Hmm.\n**Answer**: \\boxed{2}\n\\boxed{-1}", None),
    # only the judgment: empty body
    ("\\boxed{1}", None),
    # other boxes (a value) are kept
    ("The sum is \\boxed{5}, as claimed.\n\\boxed{1}", "The sum is \\boxed{5}, as claimed."),
]


@pytest.mark.parametrize("text, expected", BODIES)
def test_critique_body(text, expected):
    assert critique_body(text) == expected


ASSEMBLY = [
    # no wrong step: every step, then -1
    (["a", "b"], -1, "Step 1: a\n\n\\boxed{1}\n\nStep 2: b\n\n\\boxed{1}\n\n**Answer**: \\boxed{-1}"),
    # wrong at the second step: stops there, answer is 1-based
    (["a", "b"], 1, "Step 1: a\n\n\\boxed{1}\n\nStep 2: b\n\n\\boxed{-1}\n\n**Answer**: \\boxed{2}"),
    # a body that already carries "Step 1:" is not prefixed twice
    (["Step 1: a"], -1, "Step 1: a\n\n\\boxed{1}\n\n**Answer**: \\boxed{-1}"),
    # an empty body cannot be rendered
    (["a", ""], -1, None),
    # a label past the critiques cannot be rendered
    (["a"], 3, None),
]


@pytest.mark.parametrize("bodies, label, expected", ASSEMBLY)
def test_assemble(bodies, label, expected):
    text = assemble(bodies, label)
    assert text == expected
    if text is not None:
        assert parse_critique(text).first_error == label  # round-trips through the strict parser


SPANS = [
    # no wrong step: all steps
    (-1, 4, 4),
    # first wrong at index 1: steps 0 and 1
    (1, 4, 2),
    # first wrong is the last step
    (3, 4, 4),
    # wrong first step: one critique
    (0, 4, 1),
]


@pytest.mark.parametrize("label, num_steps, expected", SPANS)
def test_critique_span(label, num_steps, expected):
    assert critique_span(label, num_steps) == expected


EXPECTED = [
    # before the wrong step: correct
    (0, 2, 1),
    # the wrong step itself
    (2, 2, -1),
    # a correct solution
    (1, -1, 1),
]


@pytest.mark.parametrize("step, label, expected", EXPECTED)
def test_expected_judgment(step, label, expected):
    assert expected_judgment(step, label) == expected


ERRED = [
    # all agree with a correct solution
    ([1, 1], -1, False),
    # one disagrees
    ([1, -1], -1, True),
    # one missing (unparseable) counts as erred
    ([1, None], -1, True),
    # a wrong solution judged right up to its wrong step
    ([1, -1], 1, False),
    # a wrong solution whose wrong step was missed
    ([1, 1], 1, True),
]


@pytest.mark.parametrize("judgments, label, expected", ERRED)
def test_initial_erred(judgments, label, expected):
    assert initial_erred(judgments, label) is expected


CANDS = [
    Candidate("w1", 2, False),
    Candidate("c1", -1, True),
    Candidate("c2", -1, False),
    Candidate("c3", -1, False),
    Candidate("w2", 0, True),
    Candidate("c4", -1, False),
]
MIXES = [
    # no extra correct: wrong ones and erred correct ones only
    (0, {"w1": "wrong", "c1": "correct_erred", "w2": "wrong"}),
    # every other correct one
    (
        -1,
        {
            "w1": "wrong",
            "c1": "correct_erred",
            "c2": "correct_extra",
            "c3": "correct_extra",
            "w2": "wrong",
            "c4": "correct_extra",
        },
    ),
    # more than there are: all of them
    (
        10,
        {
            "w1": "wrong",
            "c1": "correct_erred",
            "c2": "correct_extra",
            "c3": "correct_extra",
            "w2": "wrong",
            "c4": "correct_extra",
        },
    ),
]


@pytest.mark.parametrize("extra, expected", MIXES)
def test_mix(extra, expected):
    reasons = mix(CANDS, extra, seed=0)
    assert reasons == expected and list(reasons) == [c.id for c in CANDS if c.id in expected]  # input order


def test_mix_extra_choice_is_seeded_and_order_independent():
    picks = {seed: {k for k, v in mix(CANDS, 1, seed).items() if v == "correct_extra"} for seed in range(8)}
    assert all(len(p) == 1 for p in picks.values())
    assert len({frozenset(p) for p in picks.values()}) > 1  # the seed changes the pick
    assert mix(list(reversed(CANDS)), 1, 3).keys() == mix(CANDS, 1, 3).keys()
    assert stable_rank("a", 0) == stable_rank("a", 0) != stable_rank("a", 1)


def _row(chosen):
    return {"chosen": chosen}


OUTCOMES = [
    # every step agreed and merged
    (2, [_row(0), _row(1)], [_row(0), _row(0)], "kept"),
    # a step without an agreeing in-depth critique
    (2, [_row(0), _row(None)], [], "in_depth_disagreed"),
    # merge rejected for one step
    (2, [_row(0), _row(0)], [_row(0), _row(None)], "merge_rejected"),
    # an in-depth row missing (a failed request): wait for the next run
    (2, [_row(0), None], [], "incomplete"),
    # merge rows missing
    (2, [_row(0), _row(0)], [_row(0)], "incomplete"),
]


@pytest.mark.parametrize("span, in_depth, merge, expected", OUTCOMES)
def test_outcome(span, in_depth, merge, expected):
    assert outcome(span, in_depth, merge) == expected


CHOICES = [
    # first agreeing sample
    (["x\n\\boxed{-1}", "y\n\\boxed{1}", "z\n\\boxed{1}"], 1, False, 1),
    # none agrees
    (["x\n\\boxed{-1}"], 1, False, None),
    # with need_body, an agreeing sample with an unusable body is skipped
    (["\\boxed{1}", "fine\n\\boxed{1}"], 1, True, 1),
]


@pytest.mark.parametrize("texts, expected, need_body, index", CHOICES)
def test_choose(texts, expected, need_body, index):
    assert choose([judged_sample(t) for t in texts], expected, need_body) == index


def test_stage_stats_counts_parse_and_agreement():
    rows = [
        {"expected": 1, "chosen": 1, "samples": [judged_sample("\\boxed{-1}"), judged_sample("\\boxed{1}")]},
        {"expected": -1, "chosen": None, "samples": [judged_sample("nothing"), judged_sample("\\boxed{1}")]},
    ]
    assert stage_stats(rows) == {
        "steps": 2,
        "samples": 4,
        "parsed": 3,
        "agreeing": 1,
        "steps_kept": 1,
        "parse_rate": 0.75,
        "agreement": 0.25,
        "first_sample_agreement": 0.0,
    }
    assert stage_stats([])["agreement"] is None


@pytest.mark.parametrize("stage", ["initial", "in_depth", "merge"])
def test_stage_prompts_fill_the_packaged_templates(stage):
    template = load_template(stage)
    messages = stage_messages(template, "What is 1+1?", ["1+1=2", "so 2"], 1, initial="INIT", in_depth="DEEP")
    content = messages[0]["content"]
    assert "What is 1+1?" in content and "Step 1: 1+1=2\n\nStep 2: so 2" in content and "Step 2: so 2" in content
    assert "{" + "step}" not in content and ("INIT" in content) == (stage != "initial")


@given(st.text(max_size=400))
def test_teacher_text_never_raises(text):
    judgment = read_judgment(text)
    body = critique_body(text)
    assert judgment in (None, 1, -1)
    assert body is None or (judgment is not None and body.strip())
