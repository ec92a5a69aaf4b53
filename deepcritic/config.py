"""Structured-config schema (dataclasses): every default lives here, once; validation reports all errors at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

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
