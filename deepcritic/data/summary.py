"""A short account of a load, for ``deepcritic convert`` to print and save as summary.json."""

from __future__ import annotations

from collections import Counter
from typing import Any

from deepcritic.data.loaders import LoadResult


def summarize(result: LoadResult) -> dict[str, Any]:
    """Counts of a load: records, with/without a wrong step, skipped by reason (repeats dropped by ``data.dedup``
    among them), per source, rejects file; for PRM800K also per phase and kind, and the human-written share."""
    with_error = sum(1 for r in result.records if r.has_error)
    summary = {
        "records": len(result.records),
        "with_error": with_error,
        "without_error": len(result.records) - with_error,
        "skipped": dict(sorted(result.skipped.items())),
        "duplicates_dropped": sum(n for reason, n in result.skipped.items() if reason.startswith("duplicate ")),
        "sources": dict(sorted(Counter(r.source for r in result.records).items())),
        "rejects": str(result.rejects_path) if result.rejects_path else None,
    }
    prm800k = [r for r in result.records if "phase" in r.meta and "kind" in r.meta]
    if prm800k:
        summary["prm800k"] = prm800k_counts(prm800k)
    return summary


def prm800k_counts(records: list) -> dict[str, Any]:
    """Per phase: records, with/without a wrong step, path vs sibling records (phase 1), and the share of
    records holding a step the labeler wrote (``meta.human_steps``)."""
    out: dict[str, Any] = {}
    for phase in sorted({r.meta["phase"] for r in records}):
        group = [r for r in records if r.meta["phase"] == phase]
        errors = sum(r.has_error for r in group)
        human = sum(bool(r.meta["human_steps"]) for r in group)
        out[f"phase{phase}"] = {
            "records": len(group),
            "with_error": errors,
            "without_error": len(group) - errors,
            "kinds": dict(sorted(Counter(r.meta["kind"] for r in group).items())),
            "with_human_steps": human,
            "human_step_share": round(human / len(group), 4),
        }
    return out
