"""The resumable batch loop shared by the evaluation recipes, with a progress bar (counts and rate)."""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence, TypeVar

from tqdm.auto import tqdm

from deepcritic.errors import DeepcriticError
from deepcritic.eval.store import ResultStore

log = logging.getLogger(__name__)

T = TypeVar("T")


def run_pending(items: Sequence[T], item_id: Callable[[T], str], store: ResultStore, batch_size: int,
                step: Callable[[list[T]], list[dict[str, Any]]], desc: str) -> dict[str, int]:
    """Process the items ``store`` does not hold yet, ``batch_size`` at a time, appending rows per batch.

    ``step`` returns one row per item; a row with an ``"error"`` key failed (e.g. a request that failed
    after every retry) and is not stored, so a rerun retries it. A batch where every row failed stops the
    run with a :class:`DeepcriticError` (the backend is down; rows done so far are kept).

    Returns counts: ``done_before`` (skipped, already stored), ``done`` (stored now), ``failed``.
    """
    done_before = store.done()
    pending = [it for it in items if item_id(it) not in done_before]
    counts = {"done_before": len(items) - len(pending), "done": 0, "failed": 0}
    if counts["done_before"]:
        log.info("%s: %d of %d already done in %s; resuming", desc, counts["done_before"], len(items), store.path)
    with tqdm(total=len(pending), desc=desc, unit="rec", dynamic_ncols=True) as bar:
        for start in range(0, len(pending), batch_size):
            batch = pending[start:start + batch_size]
            rows = step(batch)
            good = [r for r in rows if "error" not in r]
            errors = [r["error"] for r in rows if "error" in r]
            if batch and not good:
                raise DeepcriticError(f"{desc}: every item of a batch failed ({errors[0]}); {counts['done']} "
                                      "rows were saved. Fix the backend and rerun with the same run dir to resume.")
            store.append(good)
            counts["done"] += len(good)
            counts["failed"] += len(errors)
            bar.update(len(batch))
            bar.set_postfix(failed=counts["failed"]) if counts["failed"] else None
    if counts["failed"]:
        log.warning("%s: %d items failed and were not saved; rerun with the same run dir to retry them",
                    desc, counts["failed"])
    return counts
