"""Running a critic over step-labeled solutions and turning its outputs into prediction rows: the one evaluation
that ``deepcritic eval``, the demo's held-out evaluations and its dev curve all use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deepcritic.config import SamplingConfig
from deepcritic.critique import build_critic_messages, parse_critique
from deepcritic.data.records import StepRecord
from deepcritic.eval.metrics import majority_vote
from deepcritic.generation import Completion, Generator
from deepcritic.store import ResultStore, rows_in_order, run_pending


def sample_row(completion: Completion, num_steps: int) -> dict[str, Any]:
    """One critique sample as stored: text, parsed verdict (0-based / -1 / None), and generation facts."""
    parsed = parse_critique(completion.text, num_steps=num_steps)
    return {
        "text": completion.text,
        "verdict": parsed.first_error,
        "complete": parsed.complete,
        "finish_reason": completion.finish_reason,
        "num_tokens": completion.num_tokens,
    }


def prediction_row(record: StepRecord, completions: Sequence[Completion]) -> dict[str, Any]:
    """The predictions file's row for one record: every sample, and the majority verdict over them."""
    samples = [sample_row(c, len(record.steps)) for c in completions]
    return {
        "id": record.id,
        "source": record.source,
        "label": record.label,
        "num_steps": len(record.steps),
        "majority": majority_vote([s["verdict"] for s in samples]),
        "samples": samples,
    }


def failed(completions: Sequence[Completion]) -> bool:
    """True when a request behind these completions failed (the record is retried on the next run)."""
    return any(c.finish_reason == "error" for c in completions)


def critique(
    critic: Generator, items: Sequence[tuple[str, list[str]]], sampling: SamplingConfig, template: str | None
) -> list[list[Completion]]:
    """The critic's completions for each (problem, steps) pair, in order."""
    prompts = [build_critic_messages(problem, steps, template) for problem, steps in items]
    return critic.generate(prompts, sampling)


def critique_batch(
    critic: Generator, batch: Sequence[StepRecord], sampling: SamplingConfig, template: str | None
) -> list[dict[str, Any]]:
    """The prediction row of every record (``{"id", "error"}`` for one whose request failed: it is retried)."""
    outputs = critique(critic, [(r.problem, r.steps) for r in batch], sampling, template)
    return [
        {"id": r.id, "error": next(c.error for c in outs if c.finish_reason == "error")}
        if failed(outs)
        else prediction_row(r, outs)
        for r, outs in zip(batch, outputs)
    ]


def critique_records(
    critic: Generator,
    records: Sequence[StepRecord],
    sampling: SamplingConfig,
    template: str | None,
    store: ResultStore,
    batch_size: int,
    desc: str,
) -> list[dict[str, Any]]:
    """Critique the records ``store`` does not hold yet, ``batch_size`` at a time (appended per batch, so a rerun
    resumes); returns every record's stored row, in the records' order (failed ones are left out)."""
    run_pending(
        records, lambda r: r.id, store, batch_size, lambda b: critique_batch(critic, b, sampling, template), desc=desc
    )
    return rows_in_order(store, [r.id for r in records])


def chosen_critique(samples: Sequence[dict[str, Any]]) -> tuple[int | None, str]:
    """(majority verdict, the text of the first sample that gave it); ``(None, "")`` if none parsed."""
    verdict = majority_vote([s["verdict"] for s in samples])
    text = next((s["text"] for s in samples if s["verdict"] == verdict), "") if verdict is not None else ""
    return verdict, text
