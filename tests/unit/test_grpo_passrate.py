"""deepcritic filter's pass rates, bounds, summary and histogram."""

from __future__ import annotations

import pytest

from deepcritic.grpo.passrate import keep, pass_rate, plot_histogram, sample_passes, summary
from deepcritic.rewards import RewardRules

RIGHT = "Step 1 \\boxed{1}\nStep 2 \\boxed{-1}\n**Answer**: \\boxed{2}"  # first wrong step: index 1
NONE = "Step 1 \\boxed{1}\nStep 2 \\boxed{1}\n**Answer**: \\boxed{-1}"

PASSES = [
    # right, wrong, truncated (finish_reason length) although right, unparseable
    ([RIGHT, NONE, RIGHT, "no verdict"], ["stop", "stop", "length", "stop"], 1, [True, False, False, False]),
    # "no wrong step" label
    ([NONE, RIGHT], ["stop", None], -1, [True, False]),
    # no samples
    ([], [], 0, []),
]


@pytest.mark.parametrize("texts, reasons, label, expected", PASSES)
def test_sample_passes(texts, reasons, label, expected):
    assert sample_passes(texts, reasons, label, 2, RewardRules()) == expected


RATES = [
    # 3 of 8
    ([True] * 3 + [False] * 5, 0.375),
    # none
    ([], 0.0),
    # all
    ([True, True], 1.0),
]


@pytest.mark.parametrize("passes, expected", RATES)
def test_pass_rate(passes, expected):
    assert pass_rate(passes) == expected


KEEP = [
    # default bounds with n=8: 0/8 dropped, 1/8 kept, 7/8 kept, 8/8 dropped
    (0 / 8, 0.1, 0.9, False),
    (1 / 8, 0.1, 0.9, True),
    (7 / 8, 0.1, 0.9, True),
    (8 / 8, 0.1, 0.9, False),
    # bounds are inclusive, also for rates like 1/3 that are not exact in floating point
    (1 / 3, 1 / 3, 2 / 3, True),
    (2 / 3, 1 / 3, 2 / 3, True),
    # [0, 1] keeps everything
    (0.0, 0.0, 1.0, True),
]


@pytest.mark.parametrize("rate, lo, hi, expected", KEEP)
def test_keep(rate, lo, hi, expected):
    assert keep(rate, lo, hi) is expected


def test_summary_counts_and_histogram():
    rates = [0.0, 0.0, 0.25, 0.5, 1.0]
    s = summary(rates, [False, False, True, True, False], n=4)
    assert (s["records"], s["kept"], s["dropped"], s["all_pass"], s["all_fail"]) == (5, 2, 3, 1, 2)
    assert s["histogram"] == {"0/4": 2, "1/4": 1, "2/4": 1, "3/4": 0, "4/4": 1}
    assert s["mean_pass_rate"] == pytest.approx(0.35)


def test_histogram_png_is_written(tmp_path):
    path = plot_histogram([0.0, 0.125, 0.5, 1.0], 8, 0.1, 0.9, "t", tmp_path / "h" / "hist.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
