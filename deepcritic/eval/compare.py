"""Comparing runs (pure): pick one metric per (run, benchmark) out of several runs' metrics.json."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def metric_value(bench: Mapping[str, Any], metric: str, primary: str) -> float | None:
    """One metric of one benchmark's metrics: a top-level key (``f1``, ``acc_error``, ``parse_rate``,
    ``accuracy``, ...) or ``maj@k`` (the run's primary metric under Maj@k). None when absent."""
    if metric.startswith("maj@"):
        entry = bench.get("maj", {}).get(metric[4:])
        return entry.get(primary) if isinstance(entry, Mapping) else entry
    value = bench.get(metric)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def has_metric(bench: Mapping[str, Any], metric: str) -> bool:
    """Whether a benchmark's metrics define ``metric`` at all (its value may still be None: undefined)."""
    if metric.startswith("maj@"):
        return metric[4:] in bench.get("maj", {})
    return metric in bench


def run_labels(metrics: Sequence[Mapping[str, Any]], run_names: Sequence[str], names: Sequence[str]) -> list[str]:
    """Row labels: the given ``names``, else each run's model; a model seen twice gets its run dir name
    added, and a label still repeated gets ``#<position>``, so labels are unique."""
    if names:
        labels = list(names)
    else:
        models = [str(m.get("model") or name) for m, name in zip(metrics, run_names)]
        labels = [f"{model} ({run})" if models.count(model) > 1 else model for model, run in zip(models, run_names)]
    return [f"{label} #{i + 1}" if labels.count(label) > 1 else label for i, label in enumerate(labels)]


def comparison(
    metrics: Sequence[Mapping[str, Any]], labels: Sequence[str], metric: str | None
) -> tuple[list[str], dict[str, dict[str, float | None]], str]:
    """(benchmarks in first-seen order plus ``average``, {label: {benchmark: value}}, metric name used).

    ``metric`` None uses the first run's ``primary_metric`` (``f1`` for eval runs). The ``average``
    column is each run's own average entry when it has the metric, else the mean of its benchmarks.
    """
    name = metric or str(metrics[0].get("primary_metric", "f1")) if metrics else (metric or "f1")
    benchmarks = list(dict.fromkeys(b for m in metrics for b in m.get("benchmarks", {})))
    table: dict[str, dict[str, float | None]] = {}
    for m, label in zip(metrics, labels):
        primary = str(m.get("primary_metric", "f1"))
        row = {
            b: metric_value(m["benchmarks"][b], name, primary) if b in m.get("benchmarks", {}) else None
            for b in benchmarks
        }
        avg = metric_value(m.get("average", {}), name, primary)
        present = [v for v in row.values() if v is not None]
        row["average"] = avg if avg is not None else (sum(present) / len(present) if present else None)
        table[label] = row
    return [*benchmarks, "average"], table, name
