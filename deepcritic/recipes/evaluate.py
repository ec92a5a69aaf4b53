"""``deepcritic eval``: run a critic on several benchmarks and report ProcessBench-style metrics.

Reads top to bottom: load every benchmark's records; open the critic (vLLM, an OpenAI-compatible
server, or HF generate); for each benchmark critique the records not yet in
``predictions/<benchmark>.jsonl`` (``sampling.n`` samples each, appended batch by batch, so a rerun in
the same run dir resumes); compute metrics from the predictions file; write metrics.json, metrics.md,
plots/*.png and the wandb tables.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from deepcritic import tracking
from deepcritic.config import DataConfig, EvalConfig, sections
from deepcritic.critique import load_template
from deepcritic.data import load_records
from deepcritic.data.records import StepRecord
from deepcritic.eval import report
from deepcritic.eval.critic import critique_records
from deepcritic.eval.metrics import average_metrics, benchmark_metrics, default_ks
from deepcritic.generation import shared_generator
from deepcritic.runtime import run_dir
from deepcritic.store import ResultStore, write_json


def main(cfg: EvalConfig) -> dict:
    out_dir = run_dir()
    template = load_template("critic", cfg.model.template)
    data = sections(cfg.benchmarks, DataConfig, "benchmarks")
    benchmarks = {name: _records(d, cfg.limit, out_dir / "rejects" / f"{name}.jsonl") for name, d in data.items()}
    ks = list(cfg.maj_k or default_ks(cfg.sampling.n))
    wandb_run = tracking.start_run(cfg.logger, asdict(cfg), out_dir, f"eval-{out_dir.name}")

    critic = shared_generator(cfg.model, cfg.rollout)
    per_benchmark, predictions = {}, {}
    for name, records in benchmarks.items():
        store = ResultStore(out_dir / "predictions" / f"{name}.jsonl")
        predictions[name] = critique_records(critic, records, cfg.sampling, template, store, cfg.batch_size, desc=name)
        per_benchmark[name] = benchmark_metrics(predictions[name], ks)

    metrics = {
        "recipe": "eval",
        "model": cfg.model.name_or_path,
        "backend": cfg.rollout.backend,
        "template": cfg.model.template,
        "sampling": asdict(cfg.sampling),
        "maj_k": ks,
        "primary_metric": "f1",
        "length_units": {"mean_tokens": "generated tokens", "mean_chars": "characters"},
        "benchmarks": per_benchmark,
        "average": average_metrics(per_benchmark),
    }
    _write_outputs(out_dir, metrics, predictions, wandb_run)
    tracking.finish(wandb_run)
    return metrics


def _records(data: DataConfig, limit: int | None, rejects: Path) -> list[StepRecord]:
    records = load_records(data, rejects_default=rejects).records
    return records[:limit] if limit is not None else records


def _prediction_table(rows: list[dict], limit: int = 200) -> tuple[list[str], list[list]]:
    """A wandb table of the first ``limit`` records: label, majority verdict, first sample (cut to 2000 chars)."""
    columns = ["id", "label", "majority", "verdict_0", "critique_0"]
    return columns, [
        [r["id"], r["label"], r["majority"], r["samples"][0]["verdict"], r["samples"][0]["text"][:2000]]
        for r in rows[:limit]
        if r["samples"]
    ]


def _write_outputs(out_dir: Path, metrics: dict, predictions: dict[str, list[dict]], wandb_run) -> None:
    write_json(out_dir / "metrics.json", metrics)
    markdown = report.eval_markdown(metrics)
    (out_dir / "metrics.md").write_text(markdown, encoding="utf-8")
    groups = {
        name: {"acc_error": m["acc_error"], "acc_correct": m["acc_correct"], "F1": m["f1"]}
        for name, m in metrics["benchmarks"].items()
    }
    f1_png = report.plot_bars(
        groups, f"{Path(metrics['model']).name}: ProcessBench metrics", "%", out_dir / "plots" / "f1_per_benchmark.png"
    )
    curves = {name: {int(k): v["f1"] for k, v in m["maj"].items()} for name, m in metrics["benchmarks"].items()}
    curves["average"] = {int(k): v["f1"] for k, v in metrics["average"]["maj"].items()}
    maj_png = report.plot_curves(curves, "Maj@k", "k (samples voted)", "F1 (%)", out_dir / "plots" / "maj_at_k.png")
    header, rows = report.metrics_table_rows(metrics)
    maj_rows = [[name, k, f1] for name, curve in curves.items() for k, f1 in curve.items()]
    report.log_wandb(
        wandb_run,
        {
            "eval/metrics": (header, rows),
            "eval/maj_at_k": (["benchmark", "k", "f1"], maj_rows),
            **{f"eval/predictions/{name}": _prediction_table(rs) for name, rs in predictions.items()},
        },
        {"eval/f1_per_benchmark": f1_png, "eval/maj_at_k_plot": maj_png},
        report.flatten("eval", {"average": metrics["average"], **metrics["benchmarks"]}),
    )
    report.print_table(f"deepcritic eval: {metrics['model']} (%)", header, rows)
    print(f"eval outputs in {out_dir}: metrics.json, metrics.md, predictions/, plots/")
