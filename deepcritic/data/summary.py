"""A short account of a load, for ``deepcritic convert`` to print and save as summary.json."""

from __future__ import annotations

from collections import Counter
from typing import Any

from deepcritic.data.loaders import LoadResult


def summarize(result: LoadResult) -> dict[str, Any]:
    """Counts of a load: records, with/without a wrong step, skipped by reason, per source, rejects file."""
    with_error = sum(1 for r in result.records if r.has_error)
    return {
        "records": len(result.records),
        "with_error": with_error,
        "without_error": len(result.records) - with_error,
        "skipped": dict(sorted(result.skipped.items())),
        "sources": dict(sorted(Counter(r.source for r in result.records).items())),
        "rejects": str(result.rejects_path) if result.rejects_path else None,
    }
