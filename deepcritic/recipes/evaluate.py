"""``deepcritic eval``: run a critic on several benchmarks under an evaluation protocol and report its metrics.

Reads top to bottom: build the protocol (deepcritic's own, or a paper's official one: prompt, tagging, reader,
vote; ``conf/protocol/``); load every benchmark's records (``limit``: a seeded sample stratified by label class);
open the critic (vLLM, an OpenAI-compatible server, or HF generate); for each benchmark critique the records not
yet in ``predictions/<benchmark>.jsonl`` (``sampling.n`` samples each, appended batch by batch, so a rerun in
the same run dir resumes); under MR-GSM8K with ``grader.enabled``, have the grader judge the error reasons
(task 3, MR-Score; ``grades/<benchmark>.jsonl``); score the predictions under the protocol (its F1 and the
strict F1 beside it, parse and truncation rates, Maj@k with the protocol's vote); write metrics.json,
metrics.md, plots/*.png and the wandb tables, saying how the numbers were made (protocol, decoding against the
official one, samples).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from deepcritic import tracking
from deepcritic.config import DataConfig, EvalConfig, sections
from deepcritic.data import load_records
from deepcritic.data.records import StepRecord
from deepcritic.data.sample import stratified_sample
from deepcritic.eval import report
from deepcritic.eval.critic import critique_records
from deepcritic.eval.grading import grade_rows, grader_template
from deepcritic.eval.metrics import average_metrics, default_ks
from deepcritic.eval.protocols import get_protocol
from deepcritic.eval.scoring import decoding_report, protocol_metrics, read_rows
from deepcritic.generation import shared_generator
from deepcritic.runtime import run_dir
from deepcritic.store import ResultStore


def main(cfg: EvalConfig) -> dict:
    out_dir = run_dir()
    protocol = get_protocol(
        cfg.protocol.name, cfg.protocol.template or cfg.model.template, model=cfg.model.name_or_path
    )
    decoding = decoding_report(protocol, cfg.sampling, cfg.model.name_or_path)
    if decoding["differs"]:
        print(f"note: decoding differs from protocol {protocol.name}'s official one: {decoding['differs']}")
    data = sections(cfg.benchmarks, DataConfig, "benchmarks")
    loaded = {name: _records(d, cfg, out_dir / "rejects" / f"{name}.jsonl") for name, d in data.items()}
    ks = list(cfg.maj_k or default_ks(cfg.sampling.n))
    wandb_run = tracking.start_run(cfg.logger, asdict(cfg), out_dir, f"eval-{out_dir.name}")

    critic = shared_generator(cfg.model, cfg.rollout)
    per_benchmark, predictions = {}, {}
    for name, (records, _) in loaded.items():
        store = ResultStore(out_dir / "predictions" / f"{name}.jsonl")
        rows = critique_records(critic, records, cfg.sampling, protocol, store, cfg.batch_size, name)
        predictions[name] = read_rows(rows, protocol)  # rows resumed from a run under another protocol, too
    if cfg.grader.enabled:  # MR-GSM8K task 3: the grader judges the error reasons of task-2 hits
        grader, template = (
            shared_generator(cfg.grader.model, cfg.grader.rollout),
            grader_template(cfg.protocol.template),
        )
        for name, (records, _) in loaded.items():
            grades = ResultStore(out_dir / "grades" / f"{name}.jsonl")
            by_id = {r.id: r for r in records}
            predictions[name] = grade_rows(
                grader, predictions[name], by_id, protocol, cfg.grader.sampling, grades, cfg.batch_size, template
            )
    for name, rows in predictions.items():
        per_benchmark[name] = protocol_metrics(rows, protocol, ks)

    metrics = {
        "recipe": "eval",
        "model": cfg.model.name_or_path,
        "backend": cfg.rollout.backend,
        "protocol": protocol.describe(),
        "template": protocol.template_source,
        "sampling": asdict(cfg.sampling),
        "decoding": decoding,
        "grader": cfg.grader.model.name_or_path if cfg.grader.enabled else None,
        "samples": {name: info for name, (_, info) in loaded.items()},
        "maj_k": ks,
        "primary_metric": "f1",
        "length_units": {"mean_tokens": "generated tokens", "mean_chars": "characters"},
        "benchmarks": per_benchmark,
        "average": average_metrics(per_benchmark),
    }
    report.write_eval_outputs(out_dir, metrics, predictions, wandb_run)
    tracking.finish(wandb_run)
    return metrics


def _records(data: DataConfig, cfg: EvalConfig, rejects: Path) -> tuple[list[StepRecord], dict]:
    return stratified_sample(load_records(data, rejects_default=rejects).records, cfg.limit, cfg.seed)
