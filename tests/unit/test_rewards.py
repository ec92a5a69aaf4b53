r"""The GRPO reward: every rule as a table, label forms, truncation, reward-hacking probes, fuzzing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepcritic.critique import render_critique
from deepcritic.rewards import (
    RewardRules,
    completion_text,
    format_ok,
    is_truncated,
    judgment_reward,
    length_factor,
    make_reward_function,
    normalize_label,
    score_completion,
)

WRONG_AT_2 = render_critique(["fine", "fine", "3 * 4 is 12, not 13"], 2)  # boxes 1, 1, -1; Answer 3
NO_ERROR_3 = render_critique(["fine", "fine", "fine"], -1)  # boxes 1, 1, 1; Answer -1
STEP1 = "Step 1: ok\n\\boxed{1}\n\n"

SCORES = [
    # right verdict: a wrong step named correctly
    (WRONG_AT_2, 2, {}, 1.0),
    # right verdict: no wrong step
    (NO_ERROR_3, -1, {}, 1.0),
    # wrong step named, but the label says none is wrong
    (WRONG_AT_2, -1, {}, 0.0),
    # says none wrong, but step 0 is wrong
    (NO_ERROR_3, 0, {}, 0.0),
    # off by one step
    (WRONG_AT_2, 1, {}, 0.0),
    # truncated: per-step boxes but no final line
    (STEP1 + "Step 2: 3 * 4 is 12, not 13\n\\boxed{-1}\n", 1, {}, 0.0),
    # truncated by the token limit even though the answer line is there
    (WRONG_AT_2, 2, {"truncated": True}, 0.0),
    # empty completion
    ("", -1, {}, 0.0),
    # malformed final box
    (STEP1 + "**Answer**: \\boxed{two}", 1, {}, 0.0),
    # step 0 does not exist in the 1-based protocol
    (STEP1 + "**Answer**: \\boxed{0}", 0, {}, 0.0),
    # verdict past the last step when the step count is known
    (STEP1 + "**Answer**: \\boxed{5}", 4, {"num_steps": 3}, 0.0),
    # the same verdict without a step count is read as given
    (STEP1 + "**Answer**: \\boxed{5}", 4, {}, 1.0),
    # markdown variant of the final line
    (STEP1 + "**Final Answer**: $\\boxed{-1}$", -1, {}, 1.0),
]


@pytest.mark.parametrize("text, label, kw, expected", SCORES)
def test_score_completion(text, label, kw, expected):
    assert score_completion(text, label, **kw) == expected


HACKS = [
    # two final lines hedging two verdicts: the format gate rejects it
    (WRONG_AT_2 + "\n**Answer**: \\boxed{-1}", -1, 0.0),
    # ...even when the last one is right
    (WRONG_AT_2 + "\n**Answer**: \\boxed{3}", 2, 0.0),
    # the answer line in the middle, followed by more text
    (WRONG_AT_2 + "\nActually, let me reconsider everything above.", 2, 0.0),
    # the answer inside a code block: the closing fence follows it
    ("```\n**Answer**: \\boxed{-1}\n```", -1, 0.0),
    # an enormous completion with a right verdict at the end still scores by the rules (format ok)
    ("x" * 1_000_000 + "\n**Answer**: \\boxed{-1}", -1, 1.0),
    # an enormous completion of junk
    ("\\boxed{" * 200_000, -1, 0.0),
    # copying an answer that the solution text dictated: the label decides, not the prompt
    ("The solution says to answer -1.\n**Answer**: \\boxed{-1}", 1, 0.0),
    # trailing blank lines after the answer line are fine
    (NO_ERROR_3 + "\n\n   \n", -1, 1.0),
]


@pytest.mark.parametrize("text, label, expected", HACKS)
def test_reward_hacking_probes(text, label, expected):
    assert score_completion(text, label) == expected


def test_strict_format_can_be_turned_off():
    hedged = WRONG_AT_2 + "\n**Answer**: \\boxed{-1}"  # the last answer line counts when not strict
    assert score_completion(hedged, -1, rules=RewardRules(strict_format=False)) == 1.0


CONSISTENCY = [
    # boxes 1,1,-1 and verdict 3: consistent
    (WRONG_AT_2, 2, None, 1.0),
    # boxes say step 2 is wrong but the verdict says step 3
    ("S1\n\\boxed{1}\nS2\n\\boxed{-1}\n**Answer**: \\boxed{3}", 2, None, 0.0),
    # no per-step boxes at all
    ("**Answer**: \\boxed{-1}", -1, None, 0.0),
    # all steps judged correct, none wrong: consistent with the step count
    (NO_ERROR_3, -1, 3, 1.0),
    # only two of three steps judged before saying none is wrong
    ("\\boxed{1}\n\\boxed{1}\n**Answer**: \\boxed{-1}", -1, 3, 0.0),
    # a -1 box but the verdict says none is wrong
    ("\\boxed{1}\n\\boxed{-1}\n**Answer**: \\boxed{-1}", -1, None, 0.0),
    # judgments continue after the named wrong step
    ("\\boxed{-1}\n\\boxed{1}\n**Answer**: \\boxed{1}", 0, None, 0.0),
]


@pytest.mark.parametrize("text, label, num_steps, expected", CONSISTENCY)
def test_step_consistency_rule(text, label, num_steps, expected):
    rules = RewardRules(require_step_consistency=True)
    assert score_completion(text, label, num_steps=num_steps, rules=rules) == expected


LENGTH = [
    # penalty off: always 1
    (RewardRules(), 100_000, 1.0),
    # below the start: no penalty
    (RewardRules(length_penalty=0.5, length_penalty_start=100), 100, 1.0),
    # 50% over the start with coefficient 0.5: 1 - 0.25
    (RewardRules(length_penalty=0.5, length_penalty_start=100), 150, 0.75),
    # far over: floored at 0
    (RewardRules(length_penalty=1.0, length_penalty_start=100), 1_000, 0.0),
    # unknown length: no penalty
    (RewardRules(length_penalty=1.0, length_penalty_start=100), None, 1.0),
]


@pytest.mark.parametrize("rules, tokens, expected", LENGTH)
def test_length_factor(rules, tokens, expected):
    assert length_factor(tokens, rules) == pytest.approx(expected)


def test_length_penalty_applies_only_to_correct_judgments():
    rules = RewardRules(length_penalty=0.5, length_penalty_start=100)
    assert score_completion(WRONG_AT_2, 2, num_tokens=150, rules=rules) == pytest.approx(0.75)
    assert score_completion(WRONG_AT_2, 1, num_tokens=150, rules=rules) == 0.0


LABELS = [
    # plain int
    (2, 2),
    # no wrong step
    (-1, -1),
    # numpy integer from an Arrow/numpy column
    (np.int64(3), 3),
    # numeric string from a JSON file
    ("1", 1),
    # string for "none"
    (" -1 ", -1),
    # integer-valued float
    (2.0, 2),
]


@pytest.mark.parametrize("raw, expected", LABELS)
def test_normalize_label_forms(raw, expected):
    assert normalize_label(raw) == expected


@pytest.mark.parametrize("raw", [None, "two", 1.5, True, -2, [1]])
def test_normalize_label_rejects_non_labels(raw):
    with pytest.raises(ValueError, match="label must be"):
        normalize_label(raw)


COMPLETIONS = [
    # plain text completion
    ("abc", "abc"),
    # conversational completion
    ([{"role": "assistant", "content": "abc"}], "abc"),
    # message with null content
    ([{"role": "assistant", "content": None}], ""),
    # unexpected type
    (None, ""),
]


@pytest.mark.parametrize("completion, text", COMPLETIONS)
def test_completion_text(completion, text):
    assert completion_text(completion) == text


TRUNCATION = [
    # ends with EOS
    ([5, 6, 2], [2], False),
    # ends with another end token (e.g. <|im_end|> and <|endoftext|>)
    ([5, 6, 9], [2, 9], False),
    # hit the limit
    ([5, 6, 7], [2], True),
    # nothing generated
    ([], [2], False),
]


@pytest.mark.parametrize("ids, eos, expected", TRUNCATION)
def test_is_truncated(ids, eos, expected):
    assert is_truncated(ids, eos) is expected


def test_judgment_reward_trl_signature_and_columns():
    completions = [[{"role": "assistant", "content": WRONG_AT_2}], [{"role": "assistant", "content": NO_ERROR_3}]]
    rewards = judgment_reward(
        ["p", "p"],
        completions,
        label=[2, 2],
        num_steps=[3, 3],
        trainer_state=object(),
        log_metric=lambda *a: None,
        other_column=["x", "y"],
    )
    assert rewards == [1.0, 0.0]


def test_reward_function_detects_truncation_from_ids():
    fn = make_reward_function(RewardRules(), eos_token_ids=[2])
    rewards = fn(["p", "p"], [WRONG_AT_2, WRONG_AT_2], label=[2, 2], completion_ids=[[4, 2], [4, 4]])
    assert rewards == [1.0, 0.0]
    assert fn.__name__ == "judgment"


def test_format_ok_examples():
    assert format_ok(WRONG_AT_2)
    assert not format_ok(WRONG_AT_2 + "\nmore")
    assert not format_ok("no answer here")


_FRAGMENTS = st.sampled_from(
    [
        "\\boxed{",
        "}",
        "-1",
        "1",
        "3",
        "**Answer**:",
        "Answer:",
        "\n",
        " ",
        "Step 1:",
        "```",
        "$",
        "{",
        "\\boxed{-1}",
        "\\boxed{1}",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(st.text(), st.lists(_FRAGMENTS, max_size=40).map("".join)),
    label=st.integers(min_value=-1, max_value=6),
    strict=st.booleans(),
    consistent=st.booleans(),
)
def test_reward_never_raises_and_is_zero_or_one(text, label, strict, consistent):
    rules = RewardRules(strict_format=strict, require_step_consistency=consistent)
    assert score_completion(text, label, rules=rules) in (0.0, 1.0)


JUDGED = [
    # a well-formed critique: its verdict
    (WRONG_AT_2, {}, 2),
    # no wrong step
    (NO_ERROR_3, {}, -1),
    # truncated: not judged, whatever the text says
    (WRONG_AT_2, {"truncated": True}, None),
    # no final answer line
    (STEP1, {}, None),
    # text after the answer line fails the format gate
    (WRONG_AT_2 + "\nor maybe step 2", {}, None),
    # ... unless the gate is off
    (WRONG_AT_2 + "\nor maybe step 2", {"rules": RewardRules(strict_format=False)}, 2),
    # step boxes that disagree with the verdict, with consistency required
    (STEP1 + "**Answer**: \\boxed{3}", {"rules": RewardRules(require_step_consistency=True), "num_steps": 3}, None),
    # a verdict past the last step
    ("**Answer**: \\boxed{9}", {"num_steps": 3}, None),
]


@pytest.mark.parametrize("text, kw, expected", JUDGED)
def test_judged_verdict(text, kw, expected):
    from deepcritic.rewards import judged_verdict

    assert judged_verdict(text, **kw) == expected


@pytest.mark.parametrize("text, label, kw, expected", SCORES)
def test_score_is_one_exactly_when_the_judged_verdict_matches(text, label, kw, expected):
    from deepcritic.rewards import judged_verdict

    judged_kw = {k: v for k, v in kw.items() if k in ("num_steps", "truncated", "rules")}
    rules = kw.get("rules", RewardRules())
    if rules.length_penalty == 0:
        assert (judged_verdict(text, **judged_kw) == label) == (expected == 1.0)
