"""Critic metrics (pure functions): ProcessBench F1, majority voting over sampled verdicts, Maj@k.

Conventions (DESIGN.md, data contract): a verdict is the 0-based index of the first wrong step, -1 for
"no step is wrong", or ``None`` when the critique could not be parsed. A ``None`` prediction is always
wrong. Accuracies are fractions in [0, 1]; reports multiply by 100.

Empty classes: when a benchmark has no record with a wrong step, ``acc_error`` is ``None`` (there is
nothing to be accurate on); likewise ``acc_correct`` when no record is error-free. ``f1`` is the
harmonic mean of the two accuracies, so it is ``None`` whenever either accuracy is ``None`` (a one-class
benchmark has no ProcessBench F1). When both accuracies are 0, ``f1`` is 0.0 (the official ProcessBench and
DeepCritic scripts compute 0/0 there and print nan; every other value agrees with theirs).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

#: A protocol's vote: (the texts of a record's first k samples, the record's step count) -> a verdict.
Vote = Callable[[Sequence[str], "int | None"], "int | None"]

NO_ERROR = -1


def _fraction(hits: int, total: int) -> float | None:
    return hits / total if total else None


def harmonic_mean(a: float | None, b: float | None) -> float | None:
    """Harmonic mean of two fractions; ``None`` if either is ``None``; 0.0 when both are 0."""
    if a is None or b is None:
        return None
    return 0.0 if a + b == 0 else 2 * a * b / (a + b)


def critic_f1(predictions: Sequence[int | None], labels: Sequence[int]) -> dict[str, Any]:
    """ProcessBench metrics of one critic on one benchmark.

    Args:
        predictions: per record, the predicted 0-based first wrong step, -1 (no wrong step), or None
            (unparseable; counts as wrong).
        labels: per record, the gold 0-based first wrong step or -1.

    Returns:
        ``acc_error``: fraction of records with a wrong step whose exact step was predicted (None if
        there are no such records); ``acc_correct``: fraction of error-free records predicted -1 (None
        if there are none); ``f1``: their harmonic mean (None if either is None); ``n_error``,
        ``n_correct``: the class sizes.

    Raises:
        ValueError: when the two sequences differ in length.
    """
    if len(predictions) != len(labels):
        raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    err_hits = err_total = ok_hits = ok_total = 0
    for pred, label in zip(predictions, labels):
        if label == NO_ERROR:
            ok_total += 1
            ok_hits += pred == NO_ERROR
        else:
            err_total += 1
            err_hits += pred is not None and pred == label
    acc_error, acc_correct = _fraction(err_hits, err_total), _fraction(ok_hits, ok_total)
    return {
        "acc_error": acc_error,
        "acc_correct": acc_correct,
        "f1": harmonic_mean(acc_error, acc_correct),
        "n_error": err_total,
        "n_correct": ok_total,
    }


def majority_vote(verdicts: Sequence[int | None]) -> int | None:
    """The most frequent parsed verdict; unparseable samples (None) do not vote.

    Tie-break (deterministic): among verdicts with the top count, the one whose FIRST occurrence comes
    earliest in ``verdicts`` wins (so with one sample per verdict, the first sample wins). Returns None
    when no sample has a verdict.
    """
    counts = Counter(v for v in verdicts if v is not None)
    if not counts:
        return None
    top = max(counts.values())
    return next(v for v in verdicts if v is not None and counts[v] == top)


def maj_at_k(samples: Sequence[Sequence[int | None]], labels: Sequence[int], k: int) -> dict[str, Any]:
    """:func:`critic_f1` of the majority vote over each record's FIRST ``k`` samples.

    Raises ValueError when ``k < 1`` or a record has fewer than ``k`` samples.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    short = [i for i, s in enumerate(samples) if len(s) < k]
    if short:
        raise ValueError(f"record {short[0]} has {len(samples[short[0]])} samples, fewer than k={k}")
    return critic_f1([majority_vote(s[:k]) for s in samples], labels)


def default_ks(n: int) -> list[int]:
    """Maj@k points when none are configured: powers of two below ``n``, then ``n`` (e.g. 8 -> 1 2 4 8)."""
    ks, k = [], 1
    while k < n:
        ks.append(k)
        k *= 2
    return ks + [n]


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(kept) / len(kept) if kept else None


def benchmark_metrics(rows: Sequence[Mapping[str, Any]], ks: Sequence[int], vote: Vote | None = None) -> dict[str, Any]:
    """All metrics of one benchmark from its prediction rows.

    Each row has ``label`` and ``samples``: a list (the same length ``n`` for every row) of dicts with
    ``verdict`` (int or None), ``text`` and optionally ``num_tokens`` and ``finish_reason``.

    ``acc_error`` / ``acc_correct`` / ``f1`` are :func:`critic_f1` of each sample index j (sample j of
    every record) averaged over j, so with ``n = 1`` they are the plain single-sample metrics.
    ``parse_rate``: fraction of all samples with a verdict. ``mean_tokens``: mean generated tokens per
    sample (None when the backend does not report them); ``mean_chars``: mean characters per sample;
    ``truncation_rate``: fraction of samples that stopped at the token limit (among those whose finish reason
    is known; None when none is). ``maj``: for each k in
    ``ks`` (k <= n), :func:`maj_at_k`, keyed by ``str(k)``: the majority of parsed verdicts, or ``vote``
    (a protocol's own rule, over the texts) when given. When samples carry a ``strict`` verdict (the strict
    reading beside a protocol's), ``strict_f1`` / ``strict_acc_*`` / ``strict_parse_rate`` are computed alike.
    """
    labels = [int(r["label"]) for r in rows]
    n = min((len(r["samples"]) for r in rows), default=0)
    per_index = [critic_f1([r["samples"][j]["verdict"] for r in rows], labels) for j in range(n)]
    samples = [s for r in rows for s in r["samples"]]
    tokens = [s.get("num_tokens") for s in samples]
    out: dict[str, Any] = {
        "records": len(rows),
        "n_error": sum(label != NO_ERROR for label in labels),
        "n_correct": sum(label == NO_ERROR for label in labels),
        "samples_per_record": n,
    }
    for key in ("acc_error", "acc_correct", "f1"):
        out[key] = _mean(m[key] for m in per_index)
    out["parse_rate"] = _fraction(sum(s.get("verdict") is not None for s in samples), len(samples))
    out["mean_tokens"] = None if any(t is None for t in tokens) else _mean(tokens)
    out["mean_chars"] = _mean(len(s.get("text") or "") for s in samples)
    known = [s for s in samples if s.get("finish_reason") is not None]  # saved outputs may not say
    out["truncation_rate"] = _fraction(sum(s["finish_reason"] == "length" for s in known), len(known))
    if samples and all("strict" in s for s in samples):
        strict = [critic_f1([r["samples"][j]["strict"] for r in rows], labels) for j in range(n)]
        for key in ("acc_error", "acc_correct", "f1"):
            out[f"strict_{key}"] = _mean(m[key] for m in strict)
        out["strict_parse_rate"] = _fraction(sum(s["strict"] is not None for s in samples), len(samples))
    if vote is None:
        votes = [[s["verdict"] for s in r["samples"][:n]] for r in rows]
        out["maj"] = {str(k): maj_at_k(votes, labels, k) for k in ks if k <= n} if rows else {}
    else:
        out["maj"] = {
            str(k): critic_f1([vote([s["text"] for s in r["samples"][:k]], r.get("num_steps")) for r in rows], labels)
            for k in ks
            if k <= n
        }
    return out


def mr_gsm8k_tasks(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """MR-GSM8K's task 1 and task 2 (``eval_mr_gsm8k.py``), from samples read by its reader.

    Each sample has ``judgement`` (the normalised Final Judgement, or None) and ``key`` (the first error step as
    the official code reads it, a string, or None). Task 1: a correct solution is a true positive when the
    judgement contains "correct"; a wrong one a true negative when it contains "wrong"; false positives and
    negatives are the rest of each class (so unreadable outputs count against the critic). MCC is None when a
    class is empty or nothing was predicted in a class (a zero denominator; the official script divides by
    zero). Task 2: wrong solutions judged wrong whose step string equals the gold 1-based step, over all wrong
    solutions. Task 3 (when every sample carries a grader's ``reason_grade``, see ``eval.grading``): task-2 hits
    whose error reason the grader accepts, over all wrong solutions (``t3_accuracy_strict``: accepted with a plain
    "Correct"); MR-Score = 0.2 max(0, MCC) + 0.3 task 2 + 0.5 task 3. Averaged over sample index, like F1. Class
    sizes are the evaluated set's (the official script hard-codes those of the 3,000-record release).
    """
    n = min((len(r["samples"]) for r in rows), default=0)
    per_index = [_mr_gsm8k_one(rows, j) for j in range(n)]
    keys = ["t1_tpr", "t1_tnr", "t1_mcc", "t2_accuracy"]
    if rows and all("reason_grade" in s for r in rows for s in r["samples"]):
        keys += ["t3_accuracy", "t3_accuracy_strict", "mr_score"]
    return {key: _mean(m.get(key) for m in per_index) for key in keys}


def _mr_gsm8k_one(rows: Sequence[Mapping[str, Any]], j: int) -> dict[str, float | None]:
    tp = tn = t2 = t3 = t3_strict = correct = wrong = 0
    for row in rows:
        sample = row["samples"][j]
        judgement = sample.get("judgement") or ""
        if row["label"] == NO_ERROR:
            correct += 1
            tp += "correct" in judgement
            continue
        wrong += 1
        tn += "wrong" in judgement
        if "wrong" in judgement and sample.get("key") == str(row["label"] + 1):
            t2 += 1
            grade = sample.get("reason_grade") or {}
            t3, t3_strict = t3 + bool(grade.get("correct")), t3_strict + bool(grade.get("strict"))
    fp, fn = wrong - tn, correct - tp
    denominator = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    mcc = (tp * tn - fp * fn) / denominator if denominator else None
    out = {"t1_tpr": _fraction(tp, correct), "t1_tnr": _fraction(tn, wrong), "t1_mcc": mcc}
    out |= {"t2_accuracy": _fraction(t2, wrong), "t3_accuracy": _fraction(t3, wrong)}
    out["t3_accuracy_strict"] = _fraction(t3_strict, wrong)
    parts = (mcc, out["t2_accuracy"], out["t3_accuracy"])
    out["mr_score"] = None if None in parts else 0.2 * max(0.0, mcc) + 0.3 * parts[1] + 0.5 * parts[2]
    return out


AVERAGED = (
    "acc_error",
    "acc_correct",
    "f1",
    "strict_f1",
    "parse_rate",
    "strict_parse_rate",
    "truncation_rate",
    "mean_tokens",
    "mean_chars",
)


def average_metrics(per_benchmark: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Unweighted mean over benchmarks of each metric in ``AVERAGED`` and of every Maj@k F1.

    A benchmark where a metric is None (e.g. F1 of a one-class benchmark) is left out of that metric's
    mean; ``benchmarks`` counts all of them. Returns None for a metric no benchmark defines.
    """
    out: dict[str, Any] = {"benchmarks": len(per_benchmark)}
    for key in AVERAGED:
        out[key] = _mean(m.get(key) for m in per_benchmark.values())
    ks = sorted({k for m in per_benchmark.values() for k in m.get("maj", {})}, key=int)
    out["maj"] = {k: {"f1": _mean(m.get("maj", {}).get(k, {}).get("f1") for m in per_benchmark.values())} for k in ks}
    if any("vote" in m for m in per_benchmark.values()):
        out["vote"] = {"f1": _mean((m.get("vote") or {}).get("f1") for m in per_benchmark.values())}
    return out
