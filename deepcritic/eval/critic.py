"""Running a critic over step-labeled solutions and turning its outputs into prediction rows."""

from __future__ import annotations

from typing import Any, Sequence

from deepcritic.config import SamplingConfig
from deepcritic.critique import build_critic_messages, parse_critique
from deepcritic.data.records import StepRecord
from deepcritic.eval.metrics import majority_vote
from deepcritic.generation import Completion, Generator


def sample_row(completion: Completion, num_steps: int) -> dict[str, Any]:
    """One critique sample as stored: text, parsed verdict (0-based / -1 / None), and generation facts."""
    parsed = parse_critique(completion.text, num_steps=num_steps)
    return {"text": completion.text, "verdict": parsed.first_error, "complete": parsed.complete,
            "finish_reason": completion.finish_reason, "num_tokens": completion.num_tokens}


def prediction_row(record: StepRecord, completions: Sequence[Completion]) -> dict[str, Any]:
    """The predictions file's row for one record: every sample, and the majority verdict over them."""
    samples = [sample_row(c, len(record.steps)) for c in completions]
    return {"id": record.id, "source": record.source, "label": record.label, "num_steps": len(record.steps),
            "majority": majority_vote([s["verdict"] for s in samples]), "samples": samples}


def failed(completions: Sequence[Completion]) -> bool:
    """True when a request behind these completions failed (the record is retried on the next run)."""
    return any(c.finish_reason == "error" for c in completions)


def critique(critic: Generator, items: Sequence[tuple[str, list[str]]], sampling: SamplingConfig,
             template: str | None) -> list[list[Completion]]:
    """The critic's completions for each (problem, steps) pair, in order."""
    prompts = [build_critic_messages(problem, steps, template) for problem, steps in items]
    return critic.generate(prompts, sampling)


def chosen_critique(samples: Sequence[dict[str, Any]]) -> tuple[int | None, str]:
    """(majority verdict, the text of the first sample that gave it); ``(None, "")`` if none parsed."""
    verdict = majority_vote([s["verdict"] for s in samples])
    text = next((s["text"] for s in samples if s["verdict"] == verdict), "") if verdict is not None else ""
    return verdict, text
