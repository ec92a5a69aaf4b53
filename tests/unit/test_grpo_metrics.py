"""Per-batch critic metrics, F1 over a logging window, the step-time split, the console line."""

from __future__ import annotations

import pytest

from deepcritic.grpo.metrics import SampleOutcome, batch_metrics, console_line, sample_outcome, time_split, window_f1
from deepcritic.rewards import RewardRules

EOS = [9]
ANS = "Step 1: ok \\boxed{1}\nStep 2: wrong \\boxed{-1}\n\n**Answer**: \\boxed{2}"  # verdict: index 1

OUTCOMES = [
    # a right judgment of a record with an error
    (ANS, 1, 3, [5, 9], RewardRules(), 1.0, SampleOutcome(1, 1, 1, False, 1.0)),
    # the same critique on a record whose first error is elsewhere: parsed and judged, wrong
    (ANS, 0, 3, [5, 9], RewardRules(), 0.0, SampleOutcome(0, 1, 1, False, 0.0)),
    # truncated (no end token): parsed, but the reward does not judge it
    (ANS, 1, 3, [5, 5], RewardRules(), 0.0, SampleOutcome(1, 1, None, True, 0.0)),
    # garbage: neither parsed nor judged, never raises
    ("\\boxed{{{", -1, 3, [9], RewardRules(), 0.0, SampleOutcome(-1, None, None, False, 0.0)),
    # text after the answer line: parsed, but the strict format gate rejects it
    (ANS + "\nmaybe 3", 1, 3, [9], RewardRules(), 0.0, SampleOutcome(1, 1, None, False, 0.0)),
    # step consistency required and violated (says step 2 is wrong but never boxes it -1)
    (
        "Step 1 \\boxed{1}\n**Answer**: \\boxed{2}",
        1,
        3,
        [9],
        RewardRules(require_step_consistency=True),
        0.0,
        SampleOutcome(1, 1, None, False, 0.0),
    ),
]


@pytest.mark.parametrize("text, label, steps, ids, rules, reward, expected", OUTCOMES)
def test_sample_outcome(text, label, steps, ids, rules, reward, expected):
    assert sample_outcome(text, label, steps, ids, EOS, rules, reward) == expected


def _o(label, parsed, judged, truncated=False, reward=0.0):
    return SampleOutcome(label, parsed, judged, truncated, reward)


BATCHES = [
    # empty batch: nothing to log
    ([], {}),
    # two error records (one right), two clean records (both right), one sample truncated
    (
        [_o(1, 1, 1), _o(2, 0, 0), _o(-1, -1, -1), _o(-1, -1, -1, truncated=True)],
        {"critic/parse_rate": 1.0, "critic/truncation_rate": 0.25, "critic/acc_error": 0.5, "critic/acc_correct": 1.0},
    ),
    # only clean records: acc_error is left out, unparsed samples count as wrong
    (
        [_o(-1, None, None), _o(-1, -1, -1)],
        {"critic/parse_rate": 0.5, "critic/truncation_rate": 0.0, "critic/acc_correct": 0.5},
    ),
    # only error records: acc_correct is left out; a parsed but rejected verdict is wrong
    ([_o(0, 0, None), _o(0, 0, 0)], {"critic/parse_rate": 1.0, "critic/truncation_rate": 0.0, "critic/acc_error": 0.5}),
]


@pytest.mark.parametrize("samples, expected", BATCHES)
def test_batch_metrics(samples, expected):
    assert batch_metrics(samples) == pytest.approx(expected)


WINDOWS = [
    # both accuracies: harmonic mean
    ({"critic/acc_error": 0.5, "critic/acc_correct": 1.0}, 2 / 3),
    # both zero: 0
    ({"critic/acc_error": 0.0, "critic/acc_correct": 0.0}, 0.0),
    # one class absent in the window: undefined
    ({"critic/acc_error": 0.5}, None),
    # TRL writes None for a metric with no valid value in the window
    ({"critic/acc_error": None, "critic/acc_correct": 0.3}, None),
]


@pytest.mark.parametrize("logs, expected", WINDOWS)
def test_window_f1(logs, expected):
    assert window_f1(logs) == (pytest.approx(expected) if expected is not None else None)


SPLITS = [
    # rollout 3 s contains reward 0.5 and sync 0.5: generation 2; training is the rest of the 5 s step
    (
        (5.0, 3.0, 0.5, 0.5),
        {"time/generation": 2.0, "time/reward": 0.5, "time/weight_sync": 0.5, "time/training": 2.0, "time/step": 5.0},
    ),
    # a step without generation (buffered batch): all training
    (
        (1.0, 0.0, 0.0, 0.0),
        {"time/generation": 0.0, "time/reward": 0.0, "time/weight_sync": 0.0, "time/training": 1.0, "time/step": 1.0},
    ),
    # clock jitter never gives negative parts
    (
        (1.0, 1.2, 0.7, 0.6),
        {"time/generation": 0.0, "time/reward": 0.7, "time/weight_sync": 0.6, "time/training": 0.0, "time/step": 1.0},
    ),
]


@pytest.mark.parametrize("args, expected", SPLITS)
def test_time_split(args, expected):
    assert time_split(*args) == pytest.approx(expected)


def test_time_split_parts_add_up_to_the_step():
    split = time_split(7.0, 4.0, 1.0, 0.5)
    assert sum(v for k, v in split.items() if k != "time/step") == pytest.approx(7.0)


def test_console_line_shows_present_metrics_only():
    line = console_line(
        12, {"reward": 0.4375, "critic/parse_rate": 0.97, "critic/f1": None, "kl": 0.00123, "time/generation": 1.5}
    )
    assert line == "step 12 | reward 0.438 | parse 0.97 | kl 0.0012 | gen_s 1.50"
