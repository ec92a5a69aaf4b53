r"""Solver protocols: how ``deepcritic solve`` prompts a solver and reads its answers (``protocol.name``).

* ``deepcritic``: this project's own. The solve template (``solve_template``, default
  ``deepcritic/critique/templates/solve.txt``) is one user turn of the model's chat template; math-verify reads the
  whole output (its last ``\boxed{}``, else its last expression) against the set's reference answer.
* ``cft_paper``: the CFT paper's solver evaluation (arXiv 2501.17703), i.e. TIGER-AI-Lab/CritiqueFineTuning
  ``tools/evaluate_math`` (Qwen2.5-Math's ``math_eval.py``) as ``evaluate_qwen.sh`` runs it: prompt type
  ``qwen25-math-cot`` filled with the harness's question and sent as raw text (the template carries its own
  ``<|im_start|>`` markup; no chat template is applied), greedy, 2048 new tokens, the harness's stop words, and
  Qwen2's end tokens for models whose name holds "qwen2"; the answer the harness would grade is extracted and
  normalised per dataset (:mod:`deepcritic.eval.math_harness`) and graded with math-verify against the harness's
  reference. The strict reading (math-verify over the whole output against the set's raw reference answer) is
  reported beside it.

The official prompt template (``utils.py``) and unit words (``parser.py``) are not shipped: they are read at run
time from a local copy or downloaded once, and pinned by sha256 (:mod:`deepcritic.eval.official`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from string import Formatter
from typing import TYPE_CHECKING, Any, Protocol

from deepcritic.answers import answers_match, extract_boxed, parse_answer, parse_reference
from deepcritic.config import HARNESS_DATASETS, SamplingConfig
from deepcritic.critique import load_template, solve_messages
from deepcritic.data.problems import MathProblem
from deepcritic.errors import DataError, DeepcriticError
from deepcritic.eval.math_harness import MathHarness, harness_output, prompt_template, unit_words, wants_tool_call
from deepcritic.eval.official import OfficialFile, official_bytes

if TYPE_CHECKING:  # types only: this module stays pure (no backend is imported)
    from deepcritic.generation import Completion, Prompt

_CFT_REPO, _CFT_COMMIT = "TIGER-AI-Lab/CritiqueFineTuning", "44b83b8c442aa4c3f2a2921dad4a3a6eb4a87e7d"
#: The official files the cft_paper protocol reads (repository, commit, path, sha256).
CFT_FILES: dict[str, OfficialFile] = {
    "utils.py": OfficialFile(
        _CFT_REPO,
        _CFT_COMMIT,
        "tools/evaluate_math/utils.py",
        "414880c8d6af5edfb34ad18b9ce26b1448934771396b72a34c22271ae90c36d0",
    ),
    "parser.py": OfficialFile(
        _CFT_REPO,
        _CFT_COMMIT,
        "tools/evaluate_math/parser.py",
        "ad0dd4f72ed2963c2e984cdfb54e5dd1cebab4a8951471d73c007751a76dcc34",
    ),
}
PROMPT_TYPE = "qwen25-math-cot"
#: math_eval.py's stop words for every prompt type but cot / pal / ... (none is added for qwen25-math-cot).
CFT_STOP = ("</s>", "<|im_end|>", "<|endoftext|>", "(END)", "\\[END\\]", "**END**", "[END]")
#: math_eval.py's stop_token_ids when "qwen2" is in the model's name: <|im_end|>, <|endoftext|>.
QWEN2_STOP_IDS = (151645, 151643)


@dataclass(frozen=True)
class SolveItem:
    """What a protocol makes of one problem: the prompt, the question shown, the reference answers are compared
    with and the set's raw reference (the strict reading's), and, for the harness, its dataset and first reference.
    The references are parsed by math-verify when first graded against."""

    prompt: Prompt
    question: str
    reference: str
    strict_reference: str
    dataset: str = ""
    first_reference: str = ""
    timeout_s: int = 5

    @cached_property
    def gold(self) -> list[Any]:
        return parse_reference(self.reference, self.timeout_s)

    @cached_property
    def strict_gold(self) -> list[Any]:
        return parse_reference(self.strict_reference, self.timeout_s)


def graded_sample(completion: Completion, gold: list[Any], timeout_s: int) -> tuple[dict[str, Any], list[Any]]:
    """(stored sample: text, boxed answer, parsed, correct, finish reason, tokens; math-verify's parse of it):
    deepcritic's own reading, which ``refine`` and ``verify-vote`` use too."""
    parsed = parse_answer(completion.text, timeout_s)
    sample = {
        "text": completion.text,
        "answer": extract_boxed(completion.text),
        "parsed": bool(parsed),
        "correct": answers_match(gold, parsed, timeout_s),
        "finish_reason": completion.finish_reason,
        "num_tokens": completion.num_tokens,
    }
    return sample, parsed


class SolverProtocol(Protocol):
    """Prompt and grade under one solver protocol (see the module docstring)."""

    name: str

    def item(self, problem: MathProblem, timeout_s: int) -> SolveItem: ...

    def grade(self, item: SolveItem, completion: Completion, timeout_s: int) -> tuple[dict[str, Any], list[Any]]: ...

    def official_sampling(self, model: str) -> SamplingConfig | None: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class OwnProtocol:
    """deepcritic's own solver protocol: the solve template as a chat turn, math-verify over the output."""

    template: str
    template_source: str
    name: str = "deepcritic"

    def item(self, problem: MathProblem, timeout_s: int) -> SolveItem:
        prompt = solve_messages(self.template, problem.problem)
        return SolveItem(prompt, problem.problem, problem.answer, problem.answer, timeout_s=timeout_s)

    def grade(self, item: SolveItem, completion: Completion, timeout_s: int) -> tuple[dict[str, Any], list[Any]]:
        return graded_sample(completion, item.gold, timeout_s)

    def official_sampling(self, model: str) -> SamplingConfig | None:
        return None  # our own protocol: whatever decoding the run chooses

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "summary": "deepcritic's own: the solve template as a chat turn, math-verify over the whole output",
            "prompt": self.template_source,
        }


@dataclass(frozen=True)
class HarnessProtocol:
    """The CFT paper's solver protocol (``cft_paper``): the Qwen2.5-Math harness's prompt and answer rules."""

    template: str
    harness: MathHarness
    name: str = "cft_paper"

    def item(self, problem: MathProblem, timeout_s: int) -> SolveItem:
        """The harness's question, prompt and references for one problem (its source row, read by its dataset's
        rules). Raises :class:`DataError` for a row the harness could not read."""
        dataset = HARNESS_DATASETS.get(problem.source)
        if dataset is None:
            raise DeepcriticError(f"protocol cft_paper has no rules for problem-set format {problem.source!r}")
        try:
            first, graded = self.harness.reference(problem.row, dataset)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(problem.source, f"problem {problem.id}", None, f"a {dataset} row ({exc!r})") from None
        question = self.harness.question(problem.row, first)
        prompt = self.template.format(input=question).strip(" ")
        return SolveItem(prompt, question, graded, problem.answer, dataset, first, timeout_s)

    def grade(self, item: SolveItem, completion: Completion, timeout_s: int) -> tuple[dict[str, Any], list[Any]]:
        """The harness's answer graded with math-verify (``correct``); the strict reading beside (``strict_correct``);
        whether the harness would have run the output's code (``tool_call``)."""
        code = harness_output(item.prompt if isinstance(item.prompt, str) else "", completion.text, CFT_STOP)
        pred = self.harness.prediction(code, item.dataset, item.first_reference)
        parsed = parse_reference(pred, timeout_s) if pred else []
        sample = {
            "text": completion.text,
            "answer": pred,
            "parsed": bool(parsed),
            "correct": answers_match(item.gold, parsed, timeout_s),  # = harness_match(pred, item.reference)
            "strict_correct": answers_match(item.strict_gold, parse_answer(completion.text, timeout_s), timeout_s),
            "tool_call": wants_tool_call(completion.text),
            "finish_reason": completion.finish_reason,
            "num_tokens": completion.num_tokens,
        }
        return sample, parsed

    def official_sampling(self, model: str) -> SamplingConfig:
        """evaluate_qwen.sh's decoding (temperature 0, top-p 1, one sample, seed 0, 2048 new tokens) with
        math_eval.py's stop words, and its stop token ids when "qwen2" is in the model's name or path."""
        ids = list(QWEN2_STOP_IDS) if "qwen2" in model.lower() else []
        return SamplingConfig(max_new_tokens=2048, stop=list(CFT_STOP), stop_token_ids=ids, seed=0)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "summary": "the CFT paper's Qwen2.5-Math harness (math_eval.py, prompt type qwen25-math-cot): raw text "
            "prompt, its per-dataset answer extraction, graded with math-verify",
            "prompt": CFT_FILES["utils.py"].name,
            "files": {k: {"name": f.name, "sha256": f.sha256} for k, f in CFT_FILES.items()},
            "tool_calls": "not run: outputs that would call the harness's Python executor are counted (tool_calls)",
        }


def harness_match(pred: str | None, reference: str, timeout_s: int = 5) -> bool:
    """How protocol cft_paper grades: math-verify's equivalence of two answers the harness has normalised (where
    the harness itself uses grader.py's math_equal)."""
    if not pred:
        return False
    return answers_match(parse_reference(reference, timeout_s), parse_reference(pred, timeout_s), timeout_s)


def load_cft_harness(official_dir: str | None) -> tuple[str, MathHarness]:
    """The qwen25-math-cot template and the harness's unit words, read from the official files (a local folder
    holding utils.py and parser.py, or the cache / a download), each checked by sha256."""
    sources = {}
    for name, file in CFT_FILES.items():
        path = str(Path(official_dir).expanduser() / name) if official_dir else None
        local, own = "protocol.official_dir=<folder holding utils.py and parser.py>", "solve_template=<path>"
        sources[name] = official_bytes(file, path, local, own).decode("utf-8")
    template = prompt_template(sources["utils.py"], PROMPT_TYPE, CFT_FILES["utils.py"].name)
    fields = {f for _, f, _, _ in Formatter().parse(template) if f is not None}
    if fields != {"input"}:
        raise DeepcriticError(f"{CFT_FILES['utils.py'].name}: the {PROMPT_TYPE} template has fields {fields}")
    return template, MathHarness(unit_words(sources["parser.py"], CFT_FILES["parser.py"].name))


def get_solver_protocol(
    name: str, official_dir: str | None = None, solve_template: str | None = None
) -> SolverProtocol:
    """The solver protocol ``name`` (``deepcritic`` or ``cft_paper``) with its prompt."""
    if name == "deepcritic":
        return OwnProtocol(load_template("solve", solve_template), solve_template or "deepcritic/critique/solve.txt")
    if name == "cft_paper":
        return HarnessProtocol(*load_cft_harness(official_dir))
    raise DeepcriticError(f"unknown solver protocol {name!r}; protocols: deepcritic, cft_paper")


def check_problems(protocol: SolverProtocol, problem_sets: Mapping[str, Sequence[MathProblem]]) -> None:
    """Read every problem under ``protocol`` before anything is generated (a bad row fails the run at once)."""
    for problems in problem_sets.values():
        for problem in problems:
            protocol.item(problem, timeout_s=5)


def decoding_report(protocol: SolverProtocol, sampling: SamplingConfig, model: str) -> dict[str, Any]:
    """The decoding a run used and, for an official protocol, the official one and each difference from it."""
    keys = ("n", "temperature", "top_p", "top_k", "max_new_tokens", "stop", "stop_token_ids", "seed")
    used = {k: getattr(sampling, k) for k in keys}
    official = protocol.official_sampling(model)
    if official is None:
        return {"used": used, "official": None, "matches": None, "differs": {}}
    want = {k: getattr(official, k) for k in keys}
    differs = {k: {"used": used[k], "official": want[k]} for k in keys if list_of(used[k]) != list_of(want[k])}
    return {"used": used, "official": want, "matches": not differs, "differs": differs}


def list_of(value: Any) -> Any:
    """Lists and tuples compare as lists (a config list against a protocol tuple)."""
    return list(value) if isinstance(value, (list, tuple)) else value
