"""GRPO training metrics (pure functions; table-tested in tests/unit/test_grpo_metrics.py).

Logged every logging step, to the console and wandb, next to TRL's own (``reward``, ``reward_std``,
``frac_reward_zero_std``, ``completions/mean_length``, ``completions/clipped_ratio``, ``kl``,
``clip_ratio/*``, ``entropy``):

- ``critic/parse_rate``: samples with a final answer line that parses to a verdict.
- ``critic/truncation_rate``: samples that hit ``sampling.max_new_tokens`` (no end-of-sequence token).
- ``critic/acc_error`` / ``critic/acc_correct``: fraction of samples judged right, on records with a wrong
  step / without one; "judged right" is exactly what the reward pays for (length penalty aside).
- ``critic/f1``: harmonic mean of the two accuracies over the logging window (computed from the window
  means, not averaged per batch: an average of per-batch F1s is not an F1).
- ``time/*``: seconds per optimizer step: ``generation`` (sampling and the no-grad log-prob passes of the
  rollout batch), ``reward``, ``weight_sync`` (trainer -> vLLM), ``training`` (forward, backward,
  optimizer), ``step`` (all of it).

Per-batch metrics describe every sampled completion, including the extra rounds of dynamic sampling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deepcritic.critique import parse_critique
from deepcritic.eval.metrics import critic_f1, harmonic_mean
from deepcritic.rewards import RewardRules, is_truncated, judged_verdict


@dataclass(frozen=True)
class SampleOutcome:
    """What one sampled critique amounted to."""

    label: int
    parsed: int | None  # verdict of the final answer line; None when there is none
    judged: int | None  # the verdict the reward compares with the label; None when a rule rejected it
    truncated: bool
    reward: float


def sample_outcome(
    text: str,
    label: int,
    num_steps: int | None,
    completion_ids: Sequence[int] | None,
    eos_token_ids: Sequence[int],
    rules: RewardRules,
    reward: float,
) -> SampleOutcome:
    """Parse one completion the way the reward does (never raises on a malformed output)."""
    truncated = is_truncated(completion_ids, eos_token_ids)
    parsed = parse_critique(text, num_steps=num_steps).first_error
    judged = judged_verdict(text, num_steps=num_steps, truncated=truncated, rules=rules)
    return SampleOutcome(int(label), parsed, judged, truncated, float(reward))


def batch_metrics(samples: Sequence[SampleOutcome]) -> dict[str, float]:
    """``critic/*`` metrics of one generation batch; an accuracy with no record of its class is left out."""
    if not samples:
        return {}
    n = len(samples)
    f1 = critic_f1([s.judged for s in samples], [s.label for s in samples])
    out = {
        "critic/parse_rate": sum(s.parsed is not None for s in samples) / n,
        "critic/truncation_rate": sum(s.truncated for s in samples) / n,
    }
    if f1["acc_error"] is not None:
        out["critic/acc_error"] = f1["acc_error"]
    if f1["acc_correct"] is not None:
        out["critic/acc_correct"] = f1["acc_correct"]
    return out


def window_f1(logs: Mapping[str, Any]) -> float | None:
    """F1 of a logging window from its mean accuracies; None when either class was absent."""
    return harmonic_mean(logs.get("critic/acc_error"), logs.get("critic/acc_correct"))


def time_split(step_s: float, rollout_s: float, reward_s: float, sync_s: float) -> dict[str, float]:
    """Seconds of one optimizer step, split so that the parts add up to ``step_s``.

    ``rollout_s`` is the whole generate-and-score call, which contains the reward and the weight sync;
    generation is what remains of it, training what remains of the step.
    """
    generation = max(0.0, rollout_s - reward_s - sync_s)
    return {
        "time/generation": generation,
        "time/reward": reward_s,
        "time/weight_sync": sync_s,
        "time/training": max(0.0, step_s - rollout_s),
        "time/step": step_s,
    }


# (label, log key, format) of the one-line console summary; keys absent from a step are skipped
CONSOLE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("reward", "reward", "{:.3f}"),
    ("parse", "critic/parse_rate", "{:.2f}"),
    ("trunc", "critic/truncation_rate", "{:.2f}"),
    ("acc_err", "critic/acc_error", "{:.2f}"),
    ("acc_ok", "critic/acc_correct", "{:.2f}"),
    ("F1", "critic/f1", "{:.3f}"),
    ("len", "completions/mean_length", "{:.0f}"),
    ("zero_std", "frac_reward_zero_std", "{:.2f}"),
    ("kl", "kl", "{:.4f}"),
    ("clip", "clip_ratio/region_mean", "{:.3f}"),
    ("gen_s", "time/generation", "{:.2f}"),
    ("rew_s", "time/reward", "{:.3f}"),
    ("train_s", "time/training", "{:.2f}"),
    ("sync_s", "time/weight_sync", "{:.2f}"),
)


def console_line(step: int, logs: Mapping[str, Any]) -> str:
    """``step 12 | reward 0.438 | parse 0.97 | ...``: the metrics of one logging step that are present."""
    parts = [f"step {step}"]
    for label, key, fmt in CONSOLE_FIELDS:
        value = logs.get(key)
        if isinstance(value, (int, float)):
            parts.append(f"{label} {fmt.format(value)}")
    return " | ".join(parts)
