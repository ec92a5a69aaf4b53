"""``deepcritic score``: re-score saved critic outputs under any protocol, without a model.

Reads top to bottom: build the protocol; expand each input (files, globs) and read its records: our own
``predictions/<benchmark>.jsonl`` rows as they are, any other JSON / JSONL record by its text and label fields
(ProcessBench's and DeepCritic's ``*_error.jsonl`` / ``*_correct.jsonl``, MR-GSM8K's result files, ...); read
every output under the protocol and compute what ``eval`` reports (the protocol's F1 and the strict F1 beside it,
parse rate, Maj@k with the protocol's vote, MR-GSM8K's tasks); write metrics.json, metrics.md and plots/ as
``eval`` does.
"""

from __future__ import annotations

import glob
from dataclasses import asdict
from pathlib import Path
from typing import Any

from deepcritic import tracking
from deepcritic.config import ScoreConfig
from deepcritic.data.readers import iter_json_items
from deepcritic.errors import DataError, DeepcriticError
from deepcritic.eval import report
from deepcritic.eval.metrics import average_metrics, default_ks
from deepcritic.eval.protocols import get_protocol
from deepcritic.eval.scoring import decoding_report, output_row, protocol_metrics, read_rows
from deepcritic.runtime import run_dir


def main(cfg: ScoreConfig) -> dict:
    out_dir = run_dir()
    protocol = get_protocol(cfg.protocol.name, cfg.protocol.template, model=cfg.model)
    fields = {"text": cfg.text_field, "label": cfg.label_field, "label_base": cfg.label_base}
    fields |= {"steps": cfg.steps_field, "id": cfg.id_field}
    files = {name: _expand(name, spec) for name, spec in cfg.inputs.items()}
    rows = {name: [row for path in paths for row in _rows(path, fields)] for name, paths in files.items()}
    n = min((len(r["samples"]) for rs in rows.values() for r in rs), default=1)
    ks = list(cfg.maj_k or (default_ks(n) if n else []))  # "vote" covers every sample of records of any size
    if ks and max(ks) > n:
        raise DeepcriticError(f"maj_k={ks}: some records hold only {n} sample(s); use k <= {n}")
    wandb_run = tracking.start_run(cfg.logger, asdict(cfg), out_dir, f"score-{out_dir.name}")

    read = {name: read_rows(rs, protocol) for name, rs in rows.items()}
    per_benchmark = {name: protocol_metrics(rs, protocol, ks) for name, rs in read.items()}
    metrics = {
        "recipe": "score",
        "model": cfg.model or "saved outputs",
        "protocol": protocol.describe(),
        "template": protocol.template_source,
        "sampling": asdict(cfg.sampling),
        "decoding": {**decoding_report(protocol, cfg.sampling, cfg.model or ""), "stated_only": True},
        "inputs": {name: [str(p) for p in paths] for name, paths in files.items()},
        "samples": {name: _all(rs) for name, rs in rows.items()},
        "maj_k": ks,
        "primary_metric": "f1",
        "benchmarks": per_benchmark,
        "average": average_metrics(per_benchmark),
    }
    report.write_eval_outputs(out_dir, metrics, read, wandb_run)
    tracking.finish(wandb_run)
    return metrics


def _expand(name: str, spec: Any) -> list[Path]:
    patterns = [spec] if isinstance(spec, str) else list(spec)
    paths = [Path(p) for pattern in patterns for p in (sorted(glob.glob(pattern)) or [pattern])]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DeepcriticError(f"inputs.{name}: no such file: {', '.join(missing)}")
    return paths


def _rows(path: Path, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """The prediction rows of one JSON or JSON Lines file (a JSON array, or objects one after another, read by
    the data layer's reader whatever the extension); failed requests are skipped."""
    try:
        items = [(f"{path}: {where}", obj, error) for where, obj, error in iter_json_items(path)]
    except DataError as exc:
        raise DeepcriticError(f"{path} is not JSON or JSON Lines ({exc})") from None
    bad = next((error for _, _, error in items if error is not None), None)
    if bad is not None:  # JSON that no record can hold (a repeated key, too deep, a lone surrogate)
        raise bad
    try:
        return [output_row(obj, where, fields) for where, obj, _ in items if not _failed(obj)]
    except ValueError as exc:
        raise DeepcriticError(f"{exc}; set text_field / label_field / label_base for this file") from None


def _failed(obj: Any) -> bool:
    return isinstance(obj, dict) and "error" in obj and "samples" not in obj


def _all(rows: list[dict]) -> dict[str, Any]:
    n_error = sum(r["label"] != -1 for r in rows)
    return {"how": "every saved output", "records": len(rows), "of": len(rows), "n_error": n_error}
