"""Pass rates for ``deepcritic filter`` (pure functions; table-tested in tests/unit/test_grpo_passrate.py).

A record's pass rate under the current critic is the fraction of its ``n`` sampled critiques whose
judgment the reward counts as right (``rewards.judged_verdict`` equals the label; the length penalty is
not a judgment and is ignored). With a 0/1 reward, GRPO gets no gradient from a record every sample
gets right (rate 1) or every sample gets wrong (rate 0); keeping ``min_pass <= rate <= max_pass``
removes them before training.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deepcritic.rewards import RewardRules, judged_verdict


def sample_passes(
    texts: Sequence[str], finish_reasons: Sequence[str | None], label: int, num_steps: int, rules: RewardRules
) -> list[bool]:
    """Per sample: did the critique judge the record right? A sample cut at the token limit never passes."""
    return [
        judged_verdict(text, num_steps=num_steps, truncated=reason == "length", rules=rules) == label
        for text, reason in zip(texts, finish_reasons)
    ]


def pass_rate(passes: Sequence[bool]) -> float:
    """Fraction of passing samples (0.0 for no samples)."""
    return sum(passes) / len(passes) if passes else 0.0


def keep(rate: float, min_pass: float, max_pass: float) -> bool:
    """Inside the bounds, both ends included (with a small tolerance, since rates are fractions k/n)."""
    eps = 1e-9
    return min_pass - eps <= rate <= max_pass + eps


def summary(rates: Sequence[float], kept: Sequence[bool], n: int) -> dict[str, Any]:
    """Counts for metrics.json: records, kept, all-pass / all-fail counts, and the histogram over k/n."""
    counts = Counter(round(r * n) for r in rates)
    return {
        "records": len(rates),
        "kept": sum(kept),
        "dropped": len(rates) - sum(kept),
        "all_pass": counts.get(n, 0),
        "all_fail": counts.get(0, 0),
        "mean_pass_rate": sum(rates) / len(rates) if rates else None,
        "histogram": {f"{k}/{n}": counts.get(k, 0) for k in range(n + 1)},
    }


def plot_histogram(rates: Sequence[float], n: int, min_pass: float, max_pass: float, title: str, path: Path) -> Path:
    """A bar per possible pass rate k/n, kept bars in blue and dropped ones in grey; PNG via matplotlib Agg."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = Counter(round(r * n) for r in rates)
    xs = list(range(n + 1))
    colors = ["tab:blue" if keep(k / n, min_pass, max_pass) else "lightgrey" for k in xs]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.5 * (n + 1)), 3.2))
    ax.bar(xs, [counts.get(k, 0) for k in xs], color=colors)
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{k}/{n}" for k in xs], rotation=45 if n > 10 else 0)
    ax.set_xlabel("pass rate (right judgments / samples)")
    ax.set_ylabel("records")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title)
    ax.text(0.99, 0.95, f"kept: {min_pass:g} <= rate <= {max_pass:g}", transform=ax.transAxes, ha="right", va="top")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
