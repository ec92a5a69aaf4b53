"""Evaluation protocols in config: which protocol ``eval`` and ``score`` use, and ``deepcritic score``'s inputs.

The protocols themselves (prompt, tagging, reader, vote, official decoding) are defined in
``deepcritic.eval.protocols``; each has a group file ``conf/protocol/<name>.yaml`` that selects it and sets its
official decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from deepcritic.config.base import as_section, cross_check, key_of, option
from deepcritic.config.data import ProblemsConfig
from deepcritic.config.generation import RoleConfig, SamplingConfig
from deepcritic.config.training import LoggerConfig
from deepcritic.errors import Problem

#: The protocols of deepcritic.eval.protocols (a unit test keeps the two lists equal).
PROTOCOL_NAMES = ("deepcritic", "deepcritic_paper", "processbench", "mr_gsm8k")
#: The solver protocols of deepcritic.eval.solver_protocols (``deepcritic solve``).
SOLVE_PROTOCOL_NAMES = ("deepcritic", "cft_paper")
#: The problem-set formats (ProblemsConfig.source) protocol cft_paper reads, each by the rules of one dataset of the
#: Qwen2.5-Math harness (deepcritic.eval.math_harness). MATH-500 is read as "math": the release's script runs
#: "math" (the full MATH test, same format).
HARNESS_DATASETS = {
    "math500": "math",
    "minerva_math": "minerva_math",
    "gsm8k": "gsm8k",
    "olympiadbench": "olympiadbench",
    "aime24": "aime24",
    "amc23": "amc23",
    "theoremqa": "theoremqa",
}


@dataclass
class ProtocolConfig:
    """How outputs are prompted for and read: deepcritic's own strict protocol or a paper's official one."""

    name: str = option(
        "deepcritic",
        "deepcritic (strict final line) | deepcritic_paper (RUCBM/DeepCritic eval.py) | processbench "
        "(QwenLM/ProcessBench run_eval.py) | mr_gsm8k (MR-GSM8K eval_mr_gsm8k.py)",
        choices=PROTOCOL_NAMES,
    )
    template: Optional[str] = option(
        None,
        "official protocols: a local copy of the official prompt file (its sha256 is checked); null = download "
        "it once into $DEEPCRITIC_CACHE (default ~/.cache/deepcritic). For deepcritic use model.template",
    )


@cross_check(ProtocolConfig)
def _protocol_template(p: ProtocolConfig, key: str) -> list[Problem]:
    if p.name == "deepcritic" and p.template is not None:
        return [
            Problem(
                key_of(key, "template"),
                p.template,
                "protocol deepcritic reads its prompt from model.template; protocol.template is the local copy "
                "of an official protocol's prompt (deepcritic_paper, processbench, mr_gsm8k)",
            )
        ]
    return []


@dataclass
class SolveProtocolConfig:
    """How ``deepcritic solve`` prompts the solver and reads its answers (the group file conf/protocol/cft_paper.yaml
    selects the CFT paper's protocol and its official decoding; the critic protocols of the same group are
    ``eval``'s and ``score``'s)."""

    name: str = option(
        "deepcritic",
        "deepcritic (solve_template as a chat turn, math-verify over the output) | cft_paper (the CFT paper's "
        "Qwen2.5-Math harness: its qwen25-math-cot prompt as raw text, its answer extraction per set, math-verify)",
        choices=SOLVE_PROTOCOL_NAMES,
        fix="use deepcritic or cft_paper (the critic protocols deepcritic_paper, processbench and mr_gsm8k are "
        "for deepcritic eval and score)",
    )
    official_dir: Optional[str] = option(
        None,
        "cft_paper: a folder holding copies of the official tools/evaluate_math/utils.py and parser.py (their sha256 "
        "is checked); null = download them once into $DEEPCRITIC_CACHE (default ~/.cache/deepcritic)",
    )


@cross_check(SolveProtocolConfig)
def _solve_protocol_files(p: SolveProtocolConfig, key: str) -> list[Problem]:
    if p.name == "deepcritic" and p.official_dir is not None:
        return [
            Problem(
                key_of(key, "official_dir"),
                p.official_dir,
                "protocol deepcritic reads no official file (its prompt is solve_template); unset it, or use "
                "protocol=cft_paper",
            )
        ]
    return []


def harness_problems(
    protocol: SolveProtocolConfig, solve_template: str | None, benchmarks: dict, key: str
) -> list[Problem]:
    """Under protocol cft_paper: no solve template (the official one prompts), and only problem sets whose format
    the harness has rules for (HARNESS_DATASETS)."""
    if protocol.name != "cft_paper":
        return []
    out: list[Problem] = []
    if solve_template is not None:
        out.append(
            Problem(
                key_of(key, "solve_template"),
                solve_template,
                "protocol cft_paper prompts with its official qwen25-math-cot template: unset it, or use "
                "protocol.name=deepcritic",
            )
        )
    for name, entry in benchmarks.items():
        section, _ = as_section(entry, ProblemsConfig, key_of(key, f"benchmarks.{name}"))
        if section is not None and section.source not in HARNESS_DATASETS:
            out.append(
                Problem(
                    key_of(key, f"benchmarks.{name}.source"),
                    section.source,
                    f"protocol cft_paper reads answers by the harness's rules for its datasets: use one of "
                    f"{', '.join(HARNESS_DATASETS)}",
                )
            )
    return out


@dataclass
class GraderConfig(RoleConfig):
    """MR-GSM8K's task 3: a grader model judges the critic's error reasons (the paper used GPT-4-Turbo through
    its API: ``grader.rollout.backend=openai``), which completes MR-Score."""

    enabled: bool = option(False, "grade error reasons (protocol mr_gsm8k; records need MR-GSM8K's gold reasons)")


def grader_problems(protocol: ProtocolConfig, grader: GraderConfig, key: str) -> list[Problem]:
    """A grader reads MR-GSM8K's fields, so it runs under protocol mr_gsm8k only."""
    if grader.enabled and protocol.name != "mr_gsm8k":
        return [
            Problem(key, True, f"task-3 grading is MR-GSM8K's: use protocol=mr_gsm8k (not {protocol.name}) or unset it")
        ]
    return []


def official_prompt_clash(protocol: ProtocolConfig, template: str | None, key: str) -> list[Problem]:
    """An official protocol brings its own prompt: a critic template set beside it would be silently unused."""
    if protocol.name != "deepcritic" and template is not None:
        return [
            Problem(
                key,
                template,
                f"protocol {protocol.name} prompts with its official template; unset it (point "
                "protocol.template at a local copy of the official file), or use protocol=deepcritic",
            )
        ]
    return []


@dataclass
class ScoreConfig:
    """``deepcritic score``: re-score saved critic outputs under a protocol, without a model.

    Each input is our ``predictions/<benchmark>.jsonl`` (rows with ``samples``) or any JSON / JSONL file of
    records holding a text field (a string, or a list of strings for several samples) and a label field.
    """

    inputs: dict[str, Any] = option(
        {}, "benchmark name -> a file, a glob, or a list of them (e.g. ProcessBench's *_error + *_correct files)"
    )
    protocol: ProtocolConfig = option(ProtocolConfig, "the protocol to read the outputs under")
    model: Optional[str] = option(None, "the critic's name or path (official rules that depend on it; the report)")
    sampling: SamplingConfig = option(
        SamplingConfig,
        "the decoding the saved outputs were made with, as the report states it (nothing is generated or checked; "
        "the protocol group fills in its official decoding)",
    )
    text_field: str = option(
        "generated_critique", "field of the critic's output (a dotted path reaches into objects: a.b.c)"
    )
    label_field: str = option("label", "field of the gold first wrong step (dotted path allowed)")
    label_base: int = option(
        0, "index base of label_field: 0 (ProcessBench, data contract) or 1 (MR-GSM8K raw)", choices=(0, 1)
    )
    steps_field: Optional[str] = option("steps", "field holding the steps (their count bounds the strict reading)")
    id_field: Optional[str] = option("id", "record id field; null = the line number")
    maj_k: Optional[list[int]] = option(None, "Maj@k points (each <= the samples per record); null = 1, 2, 4, ..., n")
    logger: LoggerConfig = option(LoggerConfig, "tracking")


@cross_check(ScoreConfig)
def _score_inputs(cfg: ScoreConfig, key: str) -> list[Problem]:
    if not cfg.inputs:
        return [
            Problem(
                key_of(key, "inputs"),
                {},
                "name at least one input, e.g. +inputs.gsm8k=runs/eval/x/predictions/processbench_gsm8k.jsonl",
            )
        ]
    if cfg.maj_k is not None and (not cfg.maj_k or any(k < 1 for k in cfg.maj_k)):
        return [Problem(key_of(key, "maj_k"), list(cfg.maj_k), "each k >= 1, or null")]
    return []
