"""The CFT release's solver evaluation (the Qwen2.5-Math harness in ``../shared/data/reference/cft/``), run as the
reference in tests.

``parser.py``, ``utils.py`` and ``grader.py`` import the harness's other modules (and vLLM-era packages) at the
top, so they are not imported: their top-level definitions are taken from each file's syntax tree and executed
unchanged, in a namespace holding the modules they use. ``latex2sympy2`` (the harness's own bundled copy) is not
installed here; math-verify's ``latex2sympy2_extended`` stands in for it, and only ``grader.symbolic_equal``
reaches it (as the last of its three parsers). Nothing of them is copied into the project.

:func:`official_item` runs, for one record, what ``math_eval.py`` + ``evaluate.py`` do before generation and
grading: the question, the two references and the prompt; :func:`official_prediction` what they do with one
output (``run_execute`` and the multiple-choice fixes of ``math_eval.main``).
"""

from __future__ import annotations

import ast
import json
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from tests.helpers.official import REFERENCE
from tests.helpers.paths import SHARED_DATA

CFT = REFERENCE / "cft"
#: The harness's dataset names and the shared files holding those sets (as the release's data/<name>/test.jsonl).
SET_FILES: dict[str, Path] = {
    "math": SHARED_DATA / "math500" / "test.jsonl",
    "minerva_math": SHARED_DATA / "math_eval" / "minerva_math" / "test.jsonl",
    "gsm8k": SHARED_DATA / "gsm8k" / "test.jsonl",
    "olympiadbench": SHARED_DATA / "math_eval" / "olympiadbench" / "test.jsonl",
    "aime24": SHARED_DATA / "math_eval" / "aime24" / "test.jsonl",
    "amc23": SHARED_DATA / "math_eval" / "amc23" / "test.jsonl",
    "theoremqa": SHARED_DATA / "math_eval" / "theoremqa" / "test.jsonl",
}
PROMPT_TYPE = "qwen25-math-cot"


def _math_eval_literal(target: str) -> Any:
    """The first literal assigned to ``target`` in math_eval.py (read from its syntax tree, not run)."""
    for node in ast.walk(ast.parse((CFT / "math_eval.py").read_text())):
        if isinstance(node, ast.Assign) and any(ast.unparse(t) == target for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(target)


def math_eval_default(option: str) -> Any:
    """The default of one of math_eval.py's command-line options (``add_argument("--x", default=...)``)."""
    for node in ast.walk(ast.parse((CFT / "math_eval.py").read_text())):
        if isinstance(node, ast.Call) and node.args and ast.unparse(node.args[0]) == repr(f"--{option}"):
            return next(ast.literal_eval(k.value) for k in node.keywords if k.arg == "default")
    raise LookupError(option)


#: math_eval.py's stop words for this prompt type (it adds none for qwen25-math-cot: only cot, pal, ... get more).
STOP_WORDS = _math_eval_literal("stop_words")


#: Imports of the official files that are not run: the harness's own modules, and latex2sympy2 (stood in for).
_NOT_IMPORTED = {"utils", "examples", "latex2sympy2"}


def _stand_ins() -> dict[str, Any]:
    from latex2sympy2_extended import latex2sympy

    return {"latex2sympy": latex2sympy, "get_examples": dict}  # utils.py's few-shot examples: unused at 0 shots


def _runs(node: ast.stmt) -> bool:
    """Whether a top-level statement is executed: everything but the ``__main__`` block and the imports of
    :data:`_NOT_IMPORTED`."""
    if isinstance(node, ast.If):
        return False
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] not in _NOT_IMPORTED
    return True


@cache
def official_module(name: str) -> dict[str, Any]:
    """The top-level statements of ``reference/cft/<name>.py`` (its imports, functions, constants, ``unit_texts``
    and its extension), executed in a fresh namespace."""
    path = CFT / f"{name}.py"
    ns = _stand_ins()
    with warnings.catch_warnings():  # the files' invalid string escapes warn when compiled
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        body = [n for n in ast.parse(path.read_text()).body if _runs(n)]
        exec(compile(ast.Module(body, []), str(path), "exec"), ns)
    return ns


def parser_fn(name: str) -> Callable[..., Any]:
    return official_module("parser")[name]


def math_equal(prediction: Any, reference: Any) -> bool:
    """grader.py's ``math_equal`` as evaluate.py calls it (``math_equal_process``: defaults, no time-out)."""
    return bool(official_module("grader")["math_equal"](prediction, reference))


class _Args:
    """math_eval.py's arguments as evaluate_qwen.sh sets them (the ones construct_prompt reads)."""

    prompt_type = PROMPT_TYPE
    num_shots = 0
    adapt_few_shot = False


@cache
def records(dataset: str) -> tuple[dict[str, Any], ...]:
    """The set's records as data_loader.load_data gives them: an ``idx`` first when the file has none."""
    rows = [json.loads(line) for line in SET_FILES[dataset].read_text(encoding="utf-8").splitlines() if line.strip()]
    if "idx" not in rows[0]:
        rows = [{"idx": i, **row} for i, row in enumerate(rows)]
    return tuple(rows)


def official_item(example: dict[str, Any], dataset: str) -> dict[str, str]:
    """math_eval.main for one record (question, gt, prompt), then evaluate.py's second parse_ground_truth."""
    example = dict(example)
    example["question"] = parser_fn("parse_question")(example, dataset)
    gt_cot, gt = parser_fn("parse_ground_truth")(example, dataset)
    example["gt_ans"] = gt
    prompt = official_module("utils")["construct_prompt"](example, dataset, _Args)
    _, graded = parser_fn("parse_ground_truth")({"gt_cot": gt_cot, "gt": gt}, dataset)
    return {"question": example["question"], "gt": gt, "graded_gt": graded, "prompt": prompt}


def official_prediction(code: str, dataset: str, gt: str) -> str | None:
    """``run_execute`` on one output, then math_eval.main's multiple-choice fixes (gt: the first reference)."""
    pred, _ = parser_fn("run_execute")(None, code, PROMPT_TYPE, dataset)
    if gt in ["A", "B", "C", "D", "E"] and pred not in ["A", "B", "C", "D", "E"]:
        return parser_fn("choice_answer_clean")(code)
    if pred is not None and all(c in "ABCDE" for c in gt) and not all(c in "ABCDE" for c in pred):
        return "".join(c for c in pred if c in "ABCDE")
    return pred


def official_code(prompt: str, output: str) -> str:
    """What math_eval.main keeps of one output (no tool call): rstrip, split on the prompt, stop words."""
    code = (prompt + output.rstrip()).split(prompt)[-1].strip()
    for word in STOP_WORDS:
        if word in code:
            code = code.split(word)[0].strip()
    return code
