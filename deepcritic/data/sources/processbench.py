"""ProcessBench and MR-GSM8K (which is published in ProcessBench form) -> data contract.

ProcessBench fields: ``id, generator, problem, steps, final_answer_correct, label`` with ``label`` the
0-based index of the earliest wrong step or -1, exactly the contract's convention, so only the extras
move: ``generator`` and ``final_answer_correct`` go to ``meta``. No reference answer is given, so
``answer`` is null.

MR-GSM8K steps carry a ``Step k:`` prefix, which is stripped. A step that is empty once its prefix is
gone (MR-GSM8K record 98 opens with ``"Step 1: "``) is dropped and the label shifted to keep pointing
at the same step; dropped positions (0-based, original numbering) are listed in
``meta["dropped_empty_steps"]``. An empty step that is itself the labeled one is kept, so that the
contract check rejects the record.

MR-GSM8K's release schema (source ``mr_gsm8k_raw``: ``uuid, question, question_type, model_output_steps,
model_output_solution_correctness, model_output_solution_first_error_step`` 1-based or ``"N/A"``,
``model_output_solution_first_error_reason, ground_truth_answer``; dvlab-research/MR-GSM8K
``dataset/MR-GSM8K.json``, 3,000 records of three question types, original / reversed / POT) becomes the
ProcessBench form first (id = uuid, label 0-based, -1 for a correct solution), keeping the question type, the
gold error reason (MR-GSM8K's task 3) and the answer. Three labels of the ProcessBench-form file (RUCBM/DeepCritic
``data/MR-GSM8K/processed_test.json`` ids 76, 635 and 973) disagree with the release: 0 / 2 / 2 there, 2 / 3 / 3
(0-based) in the release; the release is MR-GSM8K's own annotation.

The source's own step texts stay in ``meta["original_steps"]`` (and the source's label in
``meta["original_label"]`` when steps were dropped): the official evaluation protocols show the steps exactly as
published (``deepcritic.eval.protocols``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from deepcritic.data.sources import Converted, FieldProblem, Filtered, pick, require_object
from deepcritic.data.sources.mapped import label_from

STEP_PREFIX = re.compile(r"^\s*Step\s*\d+\s*[:.]\s*", re.IGNORECASE)
EXTRAS = ("generator", "final_answer_correct")


def convert_processbench(obj: Any, index: int, *, source: str) -> dict:
    """One ProcessBench record -> contract dict (``index`` unused: ProcessBench has ids)."""
    obj = require_object(obj)
    out = {**pick(obj, "id", "problem", "steps", "label"), "source": source, "answer": None}
    out["meta"] = pick(obj, *EXTRAS)
    return out


def convert_mr_gsm8k_raw(obj: Any, index: int, *, source: str, types: Sequence[str] | None = None) -> Converted:
    """One record of MR-GSM8K's release -> contract dict; a question type not in ``types`` is filtered out."""
    obj = require_object(obj)
    if types is not None and obj.get("question_type") not in types:
        return Filtered(f"question type {obj.get('question_type')}")
    out = _mr_gsm8k(_from_release(obj), index, source)
    out["answer"] = obj.get("ground_truth_answer")
    out["meta"] = {**pick(obj, "question_type", "model_output_solution_first_error_reason"), **out["meta"]}
    return out


def convert_mr_gsm8k(obj: Any, index: int, *, source: str) -> dict:
    """One MR-GSM8K record (ProcessBench form, ``Step k:`` prefixes) -> contract dict."""
    return _mr_gsm8k(require_object(obj), index, source)


def _mr_gsm8k(obj: dict, index: int, source: str) -> dict:
    out = convert_processbench(obj, index, source=source)
    steps, label = out.get("steps"), out.get("label")
    if isinstance(steps, list) and all(isinstance(s, str) for s in steps):
        stripped = [STEP_PREFIX.sub("", s, count=1).strip() for s in steps]
        kept, dropped = _drop_empty(stripped, label)
        out["steps"] = kept
        out["meta"]["original_steps"] = steps
        if dropped:
            out["meta"]["original_label"] = label
            out["label"] = label - sum(1 for i in dropped if i < label) if _is_index(label) else label
            out["meta"]["dropped_empty_steps"] = dropped
    return out


def _from_release(obj: dict) -> dict:
    """MR-GSM8K's release schema in ProcessBench form (label 0-based, -1 for a correct solution)."""
    correctness = str(obj.get("model_output_solution_correctness", "")).strip().lower()
    if correctness not in ("correct", "wrong"):
        raise FieldProblem("wrong type", "model_output_solution_correctness", "correct or wrong", correctness)
    step = obj.get("model_output_solution_first_error_step")
    try:
        label = -1 if correctness == "correct" else label_from(step, base=1, no_error=())
    except ValueError as exc:
        raise FieldProblem("wrong type", "model_output_solution_first_error_step", str(exc), step) from None
    if correctness == "wrong" and label == -1:
        raise FieldProblem("wrong type", "model_output_solution_first_error_step", "a step of a wrong solution", step)
    return {
        "id": obj.get("uuid", ""),
        "problem": obj.get("question"),
        "steps": obj.get("model_output_steps"),
        "label": label,
    }


def _drop_empty(steps: list[str], label: Any) -> tuple[list[str], list[int]]:
    """Steps without the empty ones (except the labeled step), and the dropped 0-based positions."""
    dropped = [i for i, s in enumerate(steps) if not s and i != label]
    return [s for i, s in enumerate(steps) if i not in dropped], dropped


def _is_index(label: Any) -> bool:
    return isinstance(label, int) and not isinstance(label, bool) and label >= 0
