"""MR-GSM8K task 3 and MR-Score: an LLM grader judges whether the critic's error reason matches the gold one.

MR-GSM8K (``eval_mr_gsm8k.py``) asks a grader model (GPT-4-Turbo in the paper) about every wrong solution the
critic judged wrong *and* whose first error step it found (task 2 right): given the question, the steps, the
gold step and the gold error reason, is the critic's "Error Analysis" right? Its answer ends with "Final
Decision: Correct|Wrong"; the official code counts it when ``correct`` is a substring of the lowered decision
(so "Incorrect" counts too: reproduced, and the strict count, "Correct" alone, is reported beside it). The
grader prompt is read out of the official script, pinned by sha256, like the critic prompt.

MR-Score = 0.2 * max(0, task-1 MCC) + 0.3 * task-2 accuracy + 0.5 * task-3 accuracy.

Grades are stored per record in ``grades/<benchmark>.jsonl`` (appended per batch: a rerun resumes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from deepcritic.config import SamplingConfig
from deepcritic.critique.templates import fill
from deepcritic.data.records import StepRecord
from deepcritic.errors import DeepcriticError
from deepcritic.eval.official import fstring_template, official_bytes
from deepcritic.eval.protocols import OFFICIAL_FILES, Protocol
from deepcritic.eval.readers import mr_gsm8k_fields
from deepcritic.generation import Generator
from deepcritic.store import ResultStore, rows_in_order, run_pending

_NAMES = {
    "data['question']": "problem",
    "data['model_output_steps']": "solution",
    "data['model_output_solution_first_error_step']": "step",
    "data['model_output_solution_first_error_reason']": "reason",
    "data['Evaluation_Result']['error_reason']": "explanation",
}
_DECISION_RE = re.compile(
    r"Step-by-Step Reasoning:\s*(.*?)\s*Student Error Reason Analysis:\s*(.*?)\s*Final Decision:\s*(.*)", re.DOTALL
)
REASON = "model_output_solution_first_error_reason"  # the release's gold error reason, kept in meta
_FIELDS = ("Step-by-Step Reasoning:", "Student Error Reason Analysis:", "Final Decision:")


def grader_template(template_path: str | None = None) -> str:
    """MR-GSM8K's grading prompt, read out of the official script (downloaded once, or ``template_path``)."""
    source = official_bytes(OFFICIAL_FILES["mr_gsm8k"], template_path).decode("utf-8")
    return fstring_template(source, "data['grade_prompt']", _NAMES, OFFICIAL_FILES["mr_gsm8k"].name)


def read_decision(text: str) -> dict[str, Any]:
    """The grader's decision: official (``correct`` is a substring of it) and strict (it is "Correct")."""
    match = _DECISION_RE.search(text) if all(f in text for f in _FIELDS) else None
    decision = match.group(3) if match else "PARSE_ERROR"
    strict = decision.strip().strip("*_ .").lower() == "correct"
    return {"decision": decision[:200], "correct": "correct" in decision.lower(), "strict": strict}


def needs_grade(row: Mapping[str, Any], sample: Mapping[str, Any]) -> bool:
    """Task 3 looks only at wrong solutions judged wrong whose first error step the critic found (task 2)."""
    label = int(row["label"])
    return label != -1 and "wrong" in (sample.get("judgement") or "") and sample.get("key") == str(label + 1)


def grade_prompt(template: str, record: StepRecord, protocol: Protocol, critique: str) -> list[dict[str, str]]:
    """The grader's chat messages for one critique (the steps as the official f-string prints a list)."""
    fields = mr_gsm8k_fields(critique)
    values = {
        "problem": record.problem,
        "solution": str(protocol.steps_of(record)),
        "step": str(protocol.label_of(record) + 1),
        "reason": record.meta.get(REASON, ""),
        "explanation": fields[2] if fields else "",
    }
    return [{"role": "user", "content": fill(template, **values)}]


def grade_rows(
    grader: Generator,
    rows: Sequence[dict[str, Any]],
    records: Mapping[str, StepRecord],
    protocol: Protocol,
    sampling: SamplingConfig,
    store: ResultStore,
    batch_size: int,
    template: str,
) -> list[dict[str, Any]]:
    """``rows`` with ``reason_grade`` on every sample (None where task 3 does not look), grading what ``store``
    does not hold yet. Raises :class:`DeepcriticError` when a wrong solution has no gold error reason (the
    ProcessBench-form file has none: grade the release, ``benchmarks=mr_gsm8k_raw``)."""
    lacking = [r.id for r in records.values() if r.label != -1 and not r.meta.get(REASON)]
    if lacking:
        raise DeepcriticError(
            f"task 3 compares error reasons with MR-GSM8K's gold ones, but {len(lacking)} wrong solutions have none "
            f"(e.g. id {lacking[0]}): evaluate MR-GSM8K's release (benchmarks=mr_gsm8k_raw, data source "
            "mr_gsm8k_raw), or set grader.enabled=false"
        )

    def grade(batch: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        jobs = [(r, j) for r in batch for j, s in enumerate(r["samples"]) if needs_grade(r, s)]
        prompts = [grade_prompt(template, records[r["id"]], protocol, r["samples"][j]["text"]) for r, j in jobs]
        outputs = grader.generate(prompts, sampling) if prompts else []
        grades: dict[str, list[Any]] = {r["id"]: [None] * len(r["samples"]) for r in batch}
        failed: dict[str, str] = {}
        for (r, j), outs in zip(jobs, outputs):
            if outs[0].finish_reason == "error":  # the record is graded again on the next run
                failed[r["id"]] = outs[0].error or "request failed"
            grades[r["id"]][j] = {**read_decision(outs[0].text), "finish_reason": outs[0].finish_reason}
        return [
            {"id": rid, "error": failed[rid]} if rid in failed else {"id": rid, "grades": g}
            for rid, g in grades.items()
        ]

    run_pending(rows, lambda r: r["id"], store, batch_size, grade, desc="task 3 grades")
    stored = {g["id"]: g["grades"] for g in rows_in_order(store, [r["id"] for r in rows])}
    return [{**r, "samples": [{**s, "reason_grade": g} for s, g in zip(r["samples"], stored[r["id"]])]} for r in rows]
