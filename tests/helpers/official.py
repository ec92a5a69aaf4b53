"""The official evaluation code of ProcessBench, DeepCritic and MR-GSM8K, run as the reference in tests.

The scripts in ``../shared/data/reference/`` import vLLM and torch at the top, so they cannot be imported here;
their pure functions (prompt building, answer extraction, MR-GSM8K's parsing and statistics) are taken from the
files' syntax trees and executed unchanged. Nothing of them is copied into the project.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from tests.helpers.paths import SHARED_DATA

REFERENCE = SHARED_DATA / "reference"
TEMPLATES = {
    "processbench": REFERENCE / "processbench" / "critique_template.txt",
    "deepcritic_paper": REFERENCE / "deepcritic" / "critique_template_new.txt",
    "mr_gsm8k": REFERENCE / "mr_gsm8k" / "eval_mr_gsm8k.py",
}
SCRIPTS = {
    "processbench": REFERENCE / "processbench" / "run_eval.py",
    "deepcritic_paper": REFERENCE / "deepcritic" / "eval.py",
    "mr_gsm8k": REFERENCE / "mr_gsm8k" / "eval_mr_gsm8k.py",
}


@cache
def official(protocol: str, **stubs: Any) -> dict[str, Callable]:
    """Every top-level function of ``protocol``'s official script, executed in a namespace with the standard
    modules they use (and ``stubs`` in place of network calls)."""
    path: Path = SCRIPTS[protocol]
    namespace: dict[str, Any] = {"re": re, "json": json, "math": math, "Counter": Counter, **stubs}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name != "main" and node.name not in stubs:
            exec(compile(ast.Module([node], []), str(path), "exec"), namespace)
    return namespace


def official_template(protocol: str) -> str:
    """The template as the official script reads it (``open(...).read().strip()``)."""
    return TEMPLATES[protocol].read_text().strip()


def official_pred(protocol: str, text: str) -> int | None:
    """The single-sample prediction of ProcessBench's / DeepCritic's script: ``extract_answer`` then ``int()``
    (the code in their ``main``, around the extracted function)."""
    pred = official(protocol)["extract_answer"](text)
    try:
        return int(pred)
    except (TypeError, ValueError):
        return None


def official_match(protocol: str, pred: int | None, label: int) -> bool:
    """Whether the official script counts ``pred`` right for a 0-based ``label`` (DeepCritic: 1-based steps)."""
    if protocol == "deepcritic_paper" and label != -1:
        return pred == label + 1
    return pred == label


def official_f1(matches_error: list[bool], matches_correct: list[bool]) -> float:
    """F1 as both scripts print it (np.mean of the matches per class, x100, harmonic mean), in [0, 100]."""
    acc1 = 100 * sum(matches_error) / len(matches_error)
    acc2 = 100 * sum(matches_correct) / len(matches_correct)
    return 2 * acc1 * acc2 / (acc1 + acc2)


def mr_gsm8k_evaluation(text: str) -> dict[str, str]:
    """MR-GSM8K's ``Evaluation_Result`` for one response: its own parsing function, the request stubbed."""
    data: dict[str, Any] = {"eval_prompt": ""}
    fns = official("mr_gsm8k", request_openai=lambda *args, **kwargs: text)
    fns["single_thread_eval_generation"](data, None, "critic", None)
    return data["Evaluation_Result"]
