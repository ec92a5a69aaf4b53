"""Structured-config schema (dataclasses): every default lives here, once; validation reports all errors at once."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Optional

from deepcritic.errors import ConfigError, Problem

SOURCES = ("synthetic", "processbench", "mr_gsm8k", "prm800k", "contract", "generic", "hub")


@dataclass
class SyntheticConfig:
    """The built-in arithmetic-critique task: seeded chains of arithmetic steps, some with one injected error."""

    num_records: int = 512
    seed: int = 0
    min_steps: int = 3
    max_steps: int = 5
    max_operand: int = 20  # operands drawn from 1..max_operand (difficulty)
    ops: list[str] = field(default_factory=lambda: ["+", "-", "*"])
    error_rate: float = 0.5  # fraction of records with one wrong step
    max_error_delta: int = 3  # a wrong result differs from the right one by 1..max_error_delta


@dataclass
class DataConfig:
    """Where records come from and what to do with bad ones.

    ``source`` picks the converter: ``synthetic`` (built in, no download), ``processbench`` /
    ``mr_gsm8k`` (local JSON or the Hub), ``prm800k`` (raw label files), ``contract`` (data-contract
    JSONL written by ``deepcritic convert``), ``generic`` (json/jsonl/parquet with a field mapping) and
    ``hub`` (any Hub dataset with a field mapping).
    """

    source: str = "synthetic"
    path: Optional[str] = None  # local file; when null, the Hub dataset below is used
    hub_name: Optional[str] = None  # e.g. Qwen/ProcessBench
    subset: Optional[str] = None  # Hub config name, or the ProcessBench split (gsm8k, math, ...)
    split: str = "train"
    revision: Optional[str] = None
    # generic/hub: record field -> source field (dotted paths allowed), e.g. {problem: question}
    fields: dict[str, str] = field(default_factory=dict)
    name: Optional[str] = None  # source name written into records; defaults per source
    on_error: str = "raise"  # raise | skip
    rejects_path: Optional[str] = None  # skipped records go here (default: <run dir>/rejects.jsonl)
    limit: Optional[int] = None  # keep the first N records (after loading)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)


@dataclass
class ModelConfig:
    """The model to train or evaluate: a Hub name or a local path in Hugging Face format."""

    name_or_path: str = "Qwen/Qwen2.5-7B-Instruct"
    revision: Optional[str] = None
    tokenizer: Optional[str] = None  # defaults to name_or_path
    dtype: str = "auto"  # auto (bf16 on GPU, fp32 on CPU) | bf16 | fp16 | fp32
    attn_implementation: Optional[str] = None  # e.g. flash_attention_2, sdpa
    trust_remote_code: bool = False  # off unless you trust the model repository's code
    template: Optional[str] = None  # critic prompt template file; null = deepcritic/critique/templates/critic.txt


@dataclass
class LoggerConfig:
    """Experiment tracking. wandb ``mode``: online | offline | disabled; an unreachable server never fails a run."""

    backend: str = "wandb"  # wandb | none
    mode: str = "offline"
    project: str = "deepcritic"
    entity: Optional[str] = None
    name: Optional[str] = None  # default: <recipe>-<run dir name>
    group: Optional[str] = None
    tags: list[str] = field(default_factory=list)


@dataclass
class DeepSpeedConfig:
    """DeepSpeed ZeRO through accelerate. ``stage`` 0 means plain DDP / single process."""

    stage: int = 0  # 0 | 2 | 3
    offload_optimizer: bool = False
    offload_params: bool = False  # ZeRO-3 only
    config_file: Optional[str] = None  # a full DeepSpeed JSON; overrides the fields above


@dataclass
class ConvertConfig:
    """``deepcritic convert``: read any supported source and write data-contract JSONL."""

    data: DataConfig = field(default_factory=DataConfig)
    output: Optional[str] = None  # default: <run dir>/records.jsonl
    seed: int = 0


# ----------------------------------------------------------------------------------------------------
# Validation: every check appends a Problem; nothing raises until all sections are checked.

VALID_OPS = ("+", "-", "*")


def _check_data(d: DataConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if d.source not in SOURCES:
        out.append(Problem(f"{key}.source", d.source, f"use one of {', '.join(SOURCES)}"))
    if d.on_error not in ("raise", "skip"):
        out.append(Problem(f"{key}.on_error", d.on_error, "use 'raise' (stop at the first bad record) or 'skip'"))
    if d.source in ("prm800k", "contract", "generic") and not d.path:
        out.append(Problem(f"{key}.path", d.path, f"source '{d.source}' reads a local file: set {key}.path=<file>"))
    if d.source in ("processbench", "mr_gsm8k") and not d.path and not d.hub_name:
        out.append(Problem(f"{key}.path", d.path, f"set {key}.path=<file> or {key}.hub_name=<dataset>"))
    if d.source == "hub" and not d.hub_name:
        out.append(Problem(f"{key}.hub_name", d.hub_name, f"set {key}.hub_name=<owner/dataset>"))
    if d.source in ("generic", "hub"):
        missing = [f for f in ("problem", "steps", "label") if f not in d.fields]
        if missing:
            out.append(Problem(f"{key}.fields", dict(d.fields),
                               f"map every required record field to a source field; missing: {', '.join(missing)} "
                               f"(e.g. +{key}.fields.{missing[0]}=<column>)"))
    if d.limit is not None and d.limit < 1:
        out.append(Problem(f"{key}.limit", d.limit, "use a positive count, or null for all records"))
    if d.source == "synthetic":
        out += _check_synthetic(d.synthetic, f"{key}.synthetic")
    return out


def _check_synthetic(s: SyntheticConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if s.num_records < 1:
        out.append(Problem(f"{key}.num_records", s.num_records, "use at least 1"))
    if s.min_steps < 1:
        out.append(Problem(f"{key}.min_steps", s.min_steps, "use at least 1"))
    if s.max_steps < s.min_steps:
        out.append(Problem(f"{key}.max_steps", s.max_steps, f"must be >= min_steps ({s.min_steps})"))
    if s.max_operand < 1:
        out.append(Problem(f"{key}.max_operand", s.max_operand, "use at least 1"))
    bad_ops = [op for op in s.ops if op not in VALID_OPS]
    if not s.ops or bad_ops:
        out.append(Problem(f"{key}.ops", list(s.ops), f"a non-empty subset of {list(VALID_OPS)}"))
    if not 0.0 <= s.error_rate <= 1.0:
        out.append(Problem(f"{key}.error_rate", s.error_rate, "a fraction in [0, 1]"))
    if s.max_error_delta < 1:
        out.append(Problem(f"{key}.max_error_delta", s.max_error_delta, "use at least 1"))
    return out


def _check_model(m: ModelConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if not m.name_or_path:
        out.append(Problem(f"{key}.name_or_path", m.name_or_path, "set a Hub model name or a local path"))
    if m.dtype not in ("auto", "bf16", "fp16", "fp32"):
        out.append(Problem(f"{key}.dtype", m.dtype, "use auto, bf16, fp16 or fp32"))
    return out


def _check_logger(lg: LoggerConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if lg.backend not in ("wandb", "none"):
        out.append(Problem(f"{key}.backend", lg.backend, "use wandb or none"))
    if lg.mode not in ("online", "offline", "disabled"):
        out.append(Problem(f"{key}.mode", lg.mode, "use online, offline or disabled"))
    return out


def _check_deepspeed(ds: DeepSpeedConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if ds.stage not in (0, 2, 3):
        out.append(Problem(f"{key}.stage", ds.stage, "use 0 (off), 2 or 3"))
    if ds.offload_params and ds.stage != 3:
        out.append(Problem(f"{key}.offload_params", True, "parameter offload needs stage=3"))
    if (ds.offload_optimizer or ds.offload_params) and ds.stage == 0:
        out.append(Problem(f"{key}.offload_optimizer", ds.offload_optimizer, "offload needs stage=2 or 3"))
    return out


_SECTION_CHECKS = {
    DataConfig: _check_data,
    ModelConfig: _check_model,
    LoggerConfig: _check_logger,
    DeepSpeedConfig: _check_deepspeed,
}


def validate(cfg: Any) -> list[Problem]:
    """Every problem in a recipe config (a dataclass instance), section by section, in one list.

    Sections are found by type, so a new recipe config gets the checks of the groups it holds for free.
    """
    problems: list[Problem] = []
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        check = _SECTION_CHECKS.get(type(value))
        if check is not None:
            problems += check(value, f.name)
    return problems


def ensure_valid(cfg: Any) -> None:
    """Raise one ConfigError listing every problem, or return quietly."""
    problems = validate(cfg)
    if problems:
        raise ConfigError(problems)
