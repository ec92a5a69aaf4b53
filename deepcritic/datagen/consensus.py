"""Consensus filtering of Monte-Carlo labels: keep a label only where a judge model agrees with it.

Monte-Carlo estimates are noisy labels of the first wrong step: a wrong step that later steps happen to repair
reads as right, and a hard problem's right step can read as wrong when few continuations recover. Qwen's
lessons on process reward models (arXiv 2501.07301) found that keeping only the labels on which the Monte-Carlo
estimate and an LLM judge agree gives better data than either alone. Here the judge is any generation backend
reading each labeled solution under an evaluation protocol (``label.judge.protocol``: ProcessBench's prompt for
an instruct model, deepcritic's for a trained critic); its verdict (the protocol's vote over
``judge.sampling.n`` samples) must equal the record's label, the first wrong step or "none".

The stage is resumable like the others: one row per record, keyed ``[record id, "judge", 0]``, in the run's
``stages.jsonl``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from deepcritic.config import SamplingConfig
from deepcritic.data.records import StepRecord
from deepcritic.datagen.stages import run_stage, stage_key
from deepcritic.generation import Completion, Generator, Prompt
from deepcritic.store import ResultStore


class Reading(Protocol):
    """What the judge stage needs of an evaluation protocol (``deepcritic.eval.protocols.Protocol`` has it)."""

    def build_messages(self, record: Any) -> Prompt: ...

    def steps_of(self, record: Any) -> list[str]: ...

    def extract_verdict(self, text: str, num_steps: int | None = None) -> int | None: ...

    def vote(self, texts: Sequence[str], num_steps: int | None = None) -> int | None: ...


def judge_stage(
    store: ResultStore,
    records: Sequence[StepRecord],
    judge: Generator,
    sampling: SamplingConfig,
    protocol: Reading,
    batch_size: int,
) -> dict[str, Any]:
    """Stage ``judge``: the judge's samples and verdict (contract base) for every labeled record."""

    def row(record: StepRecord, outs: list[Completion]) -> dict[str, Any]:
        texts = [c.text for c in outs]
        num_steps = len(protocol.steps_of(record))
        return {
            "record": record.id,
            "stage": "judge",
            "texts": texts,
            "verdicts": [protocol.extract_verdict(t, num_steps) for t in texts],
            "verdict": protocol.vote(texts, num_steps),
        }

    return run_stage(
        store,
        "judge",
        records,
        lambda r: stage_key(r.id, "judge", 0),
        protocol.build_messages,
        row,
        judge,
        sampling,
        batch_size,
    )


def judged_verdict(rows: dict[str, dict[str, Any]], record: StepRecord) -> tuple[bool, int | None]:
    """(judged, verdict): whether the judge stage holds a row for ``record``, and the judge's verdict."""
    row = rows.get(stage_key(record.id, "judge", 0))
    return (row is not None, row["verdict"] if row else None)


def consensus(
    records: Sequence[StepRecord], rows: dict[str, dict[str, Any]]
) -> tuple[list[StepRecord], list[StepRecord], dict[str, Any]]:
    """(kept, dropped, counts): each judged record with the judge's verdict in ``meta.judge_verdict``; kept when it
    equals the Monte-Carlo label. Records the judge stage has no row for (a failed request) are neither, and
    counted as ``unjudged``. Counts: overall and per Monte-Carlo class (with / without a wrong step)."""
    kept: list[StepRecord] = []
    dropped: list[StepRecord] = []
    unjudged = 0
    for record in records:
        judged, verdict = judged_verdict(rows, record)
        if not judged:
            unjudged += 1
            continue
        marked = replace(record, meta={**record.meta, "judge_verdict": verdict})
        (kept if verdict == record.label else dropped).append(marked)
    judged_records = kept + dropped
    counts = {
        "judged": len(judged_records),
        "unjudged": unjudged,
        "agree": len(kept),
        "agreement": _rate(len(kept), len(judged_records)),
        "judge_no_verdict": sum(r.meta["judge_verdict"] is None for r in dropped),
        "with_error": _class_counts([r for r in judged_records if r.has_error], kept),
        "without_error": _class_counts([r for r in judged_records if not r.has_error], kept),
        "kept": len(kept),
        "dropped": len(dropped),
    }
    return kept, dropped, counts


def _class_counts(group: list[StepRecord], kept: list[StepRecord]) -> dict[str, Any]:
    ids = {r.id for r in kept}
    agree = sum(r.id in ids for r in group)
    return {"records": len(group), "agree": agree, "agreement": _rate(agree, len(group))}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
