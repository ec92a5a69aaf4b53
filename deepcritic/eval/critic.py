"""Running a critic over step-labeled solutions and turning its outputs into prediction rows: the one evaluation
that ``deepcritic eval``, the demo's held-out evaluations and its dev curve all use.

A protocol (:mod:`deepcritic.eval.protocols`) builds the prompts and reads the outputs; without one, outputs are
read by deepcritic's strict parser (refine and verify-vote, which act on the verdict).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deepcritic.config import SamplingConfig
from deepcritic.critique import build_critic_messages, parse_critique
from deepcritic.data.records import StepRecord
from deepcritic.eval.metrics import majority_vote
from deepcritic.eval.protocols import Protocol
from deepcritic.generation import Completion, Generator
from deepcritic.store import ResultStore, rows_in_order, run_pending


def sample_row(completion: Completion, num_steps: int, protocol: Protocol | None = None) -> dict[str, Any]:
    """One critique sample as stored: text, verdict (0-based / -1 / None), generation facts; under a protocol
    also the strict verdict beside the protocol's and what its vote counts (``key``)."""
    parsed = parse_critique(completion.text, num_steps=num_steps)
    row = {
        "text": completion.text,
        "verdict": parsed.first_error,
        "complete": parsed.complete,
        "finish_reason": completion.finish_reason,
        "num_tokens": completion.num_tokens,
    }
    if protocol is not None:
        row.update(read_sample(completion.text, num_steps, protocol))
    return row


def read_sample(text: str, num_steps: int | None, protocol: Protocol) -> dict[str, Any]:
    """The fields a protocol's reading adds to a stored sample."""
    reading = protocol.read(text, num_steps)
    fields = {"verdict": reading.verdict, "strict": reading.strict, "key": reading.vote_key}
    if protocol.reader == "mr_gsm8k":  # only MR-GSM8K's reader reads a judgement
        fields["judgement"] = reading.judgement
    return fields


def prediction_row(
    record: StepRecord, completions: Sequence[Completion], protocol: Protocol | None = None
) -> dict[str, Any]:
    """The predictions file's row for one record: every sample, and the vote over them (the protocol's rule)."""
    num_steps = len(protocol.steps_of(record)) if protocol else len(record.steps)
    samples = [sample_row(c, num_steps, protocol) for c in completions]
    vote = (
        protocol.vote([s["text"] for s in samples], num_steps)
        if protocol
        else majority_vote([s["verdict"] for s in samples])
    )
    return {
        "id": record.id,
        "source": record.source,
        "label": protocol.label_of(record) if protocol else record.label,
        "num_steps": num_steps,
        "majority": vote,
        "samples": samples,
    }


def failed(completions: Sequence[Completion]) -> bool:
    """True when a request behind these completions failed (the record is retried on the next run)."""
    return any(c.finish_reason == "error" for c in completions)


def critique(
    critic: Generator, items: Sequence[tuple[str, list[str]]], sampling: SamplingConfig, template: str | None
) -> list[list[Completion]]:
    """The critic's completions for each (problem, steps) pair, in order (deepcritic's prompt)."""
    prompts = [build_critic_messages(problem, steps, template) for problem, steps in items]
    return critic.generate(prompts, sampling)


def critique_batch(
    critic: Generator, batch: Sequence[StepRecord], sampling: SamplingConfig, protocol: Protocol
) -> list[dict[str, Any]]:
    """The prediction row of every record (``{"id", "error"}`` for one whose request failed: it is retried)."""
    outputs = critic.generate([protocol.build_messages(r) for r in batch], sampling)
    return [
        {"id": r.id, "error": next(c.error for c in outs if c.finish_reason == "error")}
        if failed(outs)
        else prediction_row(r, outs, protocol)
        for r, outs in zip(batch, outputs)
    ]


def critique_records(
    critic: Generator,
    records: Sequence[StepRecord],
    sampling: SamplingConfig,
    protocol: Protocol,
    store: ResultStore,
    batch_size: int,
    desc: str,
) -> list[dict[str, Any]]:
    """Critique the records ``store`` does not hold yet, ``batch_size`` at a time (appended per batch, so a rerun
    resumes); returns every record's stored row, in the records' order (failed ones are left out)."""
    run_pending(
        records, lambda r: r.id, store, batch_size, lambda b: critique_batch(critic, b, sampling, protocol), desc=desc
    )
    return rows_in_order(store, [r.id for r in records])


def chosen_critique(samples: Sequence[dict[str, Any]]) -> tuple[int | None, str]:
    """(majority verdict, the text of the first sample that gave it); ``(None, "")`` if none parsed."""
    verdict = majority_vote([s["verdict"] for s in samples])
    text = next((s["text"] for s in samples if s["verdict"] == verdict), "") if verdict is not None else ""
    return verdict, text
