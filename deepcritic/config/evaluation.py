"""Evaluation in config: which protocol ``eval`` and ``score`` use, ``deepcritic score``'s inputs, and the critic
evaluation that ``sft``, ``cft`` and ``grpo`` run while they train (``eval_during_training``).

The protocols themselves (prompt, tagging, reader, vote, official decoding) are defined in
``deepcritic.eval.protocols``; each has a group file ``conf/protocol/<name>.yaml`` that selects it and sets its
official decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from deepcritic.config.base import as_section, cross_check, key_of, option
from deepcritic.config.data import DataConfig, ProblemsConfig
from deepcritic.config.generation import RoleConfig, SamplingConfig, VLLMEngineConfig
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


METRICS = ("f1", "acc_error", "acc_correct", "parse_rate", "strict_f1")
EVAL_BACKENDS = ("auto", "hf", "vllm")


@dataclass
class EvalDuringTrainingConfig:
    """Critic evaluation while ``sft``, ``cft`` or ``grpo`` trains (``deepcritic/eval/during_training.py``); off
    while ``benchmarks`` is empty.

    The same benchmarks and protocols as ``deepcritic eval``, evaluated before the first step (step 0), every
    ``every_steps`` optimizer steps and after the last one; metrics logged as ``eval/<benchmark>/<metric>`` at
    the training step (console, wandb), predictions under ``<run>/eval_during_training/step-N/``. With
    ``keep_best`` the best evaluated model is kept as ``<run>/best/``.
    """

    # typed Any so that `+eval_during_training.benchmarks.mine={source: contract, path: x}` can add one
    benchmarks: dict[str, Any] = option(
        {},
        "name -> a data section, as eval's benchmarks group (+benchmarks@eval_during_training.benchmarks="
        "processbench_files); empty: no evaluation",
        entries=DataConfig,
    )
    limit: Optional[int] = option(
        None,
        "records per benchmark: a seeded sample stratified by label class (eval's limit); null = all",
        ge=1,
        fix="a positive count, or null for all",
    )
    limits: dict[str, int] = option({}, "benchmark -> its own record limit (stratified), overriding limit")
    seed: int = option(0, "seed of the limit sample")
    protocol: ProtocolConfig = option(ProtocolConfig, "prompt and reading (deepcritic's own, or a paper's)")
    every_steps: int = option(
        0, "evaluate every N optimizer steps; 0 = only before the first and after the last step", ge=0
    )
    at_start: bool = option(True, "evaluate before the first step (step 0)")
    at_end: bool = option(True, "evaluate after the last step")
    sampling: SamplingConfig = option(SamplingConfig, "greedy by default; n > 1 adds Maj@k")
    maj_k: Optional[list[int]] = option(None, "Maj@k points (each <= sampling.n); null = 1, 2, 4, ..., n")
    backend: str = option(
        "auto",
        "auto: a GRPO run's vLLM engine (colocated, after the weight sync) or server when it has one, else "
        "transformers generate on the training model (ZeRO-3: gathered); hf: always generate; vllm: sft/cft start "
        "a colocated vLLM engine and push the trained weights into it before each evaluation",
        choices=EVAL_BACKENDS,
    )
    vllm: VLLMEngineConfig = option(
        VLLMEngineConfig, "backend=vllm: the engine an sft/cft run starts", when=lambda c: c.backend == "vllm"
    )
    batch_size: int = option(64, "prompts per generation call (and per process)", ge=1)
    metric: str = option(
        "average/f1",
        "what picks the best model: average/<metric> over the benchmarks, or <benchmark>/<metric> (metrics: "
        + ", ".join(METRICS)
        + ")",
    )
    keep_best: bool = option(
        False, "keep the best evaluated model as <run>/best/ (HF format, a model card with its step and figures)"
    )
    early_stop_patience: Optional[int] = option(
        None, "stop after this many evaluations in a row without a better metric; null = never", ge=1
    )
    table_records: int = option(8, "critiques per benchmark in the wandb completions table", ge=0)

    @property
    def enabled(self) -> bool:
        return bool(self.benchmarks)


@cross_check(EvalDuringTrainingConfig)
def _eval_during_training(c: EvalDuringTrainingConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if not c.benchmarks:
        for name in ("keep_best", "early_stop_patience"):
            if getattr(c, name) not in (False, None):
                out.append(
                    Problem(key_of(key, name), getattr(c, name), f"needs benchmarks to evaluate: set {key}.benchmarks")
                )
        return out
    where, _, metric = c.metric.rpartition("/")
    if metric not in METRICS or (where != "average" and where not in c.benchmarks):
        choices = ", ".join(["average", *c.benchmarks])
        out.append(Problem(key_of(key, "metric"), c.metric, f"<{choices}>/<{', '.join(METRICS)}>, e.g. average/f1"))
    unknown = sorted(set(c.limits) - set(c.benchmarks))
    if unknown:
        out.append(Problem(key_of(key, "limits"), dict(c.limits), f"no benchmark named {', '.join(unknown)}"))
    if c.maj_k is not None and (not c.maj_k or any(k < 1 or k > c.sampling.n for k in c.maj_k)):
        out.append(Problem(key_of(key, "maj_k"), list(c.maj_k), f"each k in 1..sampling.n ({c.sampling.n}), or null"))
    if not (c.at_start or c.at_end or c.every_steps):
        out.append(Problem(key_of(key, "every_steps"), 0, "with at_start and at_end off, set every_steps > 0"))
    return out
