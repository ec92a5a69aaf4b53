"""``deepcritic filter``: keep the records that give GRPO a learning signal under the current critic.

Reads top to bottom: load the records; open the critic (vLLM, HF generate or a server, through
``deepcritic.generation``); sample ``sampling.n`` critiques per record not yet in ``samples.jsonl``
(saved per batch: a rerun in the same run dir resumes, and one with another critic, sampling, prompt or reward
is refused, ``resume_settings.json``) and score each with the reward's judgment;
keep the records whose pass rate lies in [min_pass, max_pass]; write the kept records (data-contract
JSONL, pass rate in ``meta``), metrics.json and the pass-rate histogram (PNG, also to wandb).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from pathlib import Path

from deepcritic import tracking
from deepcritic.config import FilterConfig
from deepcritic.critique import load_template
from deepcritic.data import load_records, write_jsonl
from deepcritic.data.records import StepRecord
from deepcritic.datagen.stages import guard_resume, sha256_text
from deepcritic.eval.critic import critique, failed
from deepcritic.generation import shared_generator
from deepcritic.grpo.passrate import keep, pass_rate, plot_histogram, sample_passes, summary
from deepcritic.grpo.trainer import reward_rules
from deepcritic.runtime import run_dir
from deepcritic.store import ResultStore, run_pending, write_json

log = logging.getLogger(__name__)


def main(cfg: FilterConfig) -> dict:
    out_dir = run_dir()
    records = load_records(cfg.data, rejects_default=out_dir / "rejects.jsonl").records
    template = load_template("critic", cfg.model.template)
    # the stored samples depend on the critic, its sampling, the prompt and the reward's rules: a rerun with others
    # in this directory is refused rather than mixing pass rates
    guard_resume(
        out_dir,
        {
            "critic": {"model": cfg.model.name_or_path, "sampling": asdict(cfg.sampling)},
            "template": sha256_text(template),
            "reward": asdict(cfg.reward),
        },
    )
    wandb_run = tracking.start_run(cfg.logger, asdict(cfg), out_dir, f"filter-{out_dir.name}")

    store = ResultStore(out_dir / "samples.jsonl")  # the critic starts only if some record is not done yet
    run_pending(
        records,
        lambda r: r.id,
        store,
        cfg.batch_size,
        lambda batch: _score(shared_generator(cfg.model, cfg.rollout), batch, cfg, template),
        desc="filter",
    )
    by_id = store.by_id()
    scored = [(r, by_id[r.id]) for r in records if r.id in by_id]
    kept = [keep(row["pass_rate"], cfg.min_pass, cfg.max_pass) for _, row in scored]

    output = Path(cfg.output) if cfg.output else out_dir / "kept.jsonl"
    write_jsonl([_with_pass_rate(r, row, cfg) for (r, row), k in zip(scored, kept) if k], output)
    rates = [row["pass_rate"] for _, row in scored]
    metrics = {
        "model": cfg.model.name_or_path,
        "samples_per_record": cfg.sampling.n,
        "min_pass": cfg.min_pass,
        "max_pass": cfg.max_pass,
        "output": str(output),
        **summary(rates, kept, cfg.sampling.n),
    }
    png = plot_histogram(
        rates,
        cfg.sampling.n,
        cfg.min_pass,
        cfg.max_pass,
        f"{Path(cfg.model.name_or_path).name}: pass rate over {cfg.sampling.n} samples",
        out_dir / "pass_rate_histogram.png",
    )
    write_json(out_dir / "metrics.json", metrics)
    _log_wandb(wandb_run, metrics, png)
    tracking.finish(wandb_run)
    print(
        f"filter: kept {metrics['kept']} of {metrics['records']} records "
        f"({metrics['all_pass']} always right, {metrics['all_fail']} always wrong) -> {output}; histogram {png}"
    )
    return metrics


def _score(critic, batch: list[StepRecord], cfg: FilterConfig, template: str) -> list[dict]:
    """One row per record: the judged verdicts of its samples and its pass rate (texts are not stored)."""
    rules = reward_rules(cfg.reward)
    rows = []
    for record, outs in zip(batch, critique(critic, [(r.problem, r.steps) for r in batch], cfg.sampling, template)):
        if failed(outs):
            rows.append({"id": record.id, "error": next(c.error for c in outs if c.finish_reason == "error")})
            continue
        passes = sample_passes(
            [c.text for c in outs], [c.finish_reason for c in outs], record.label, len(record.steps), rules
        )
        rows.append(
            {
                "id": record.id,
                "label": record.label,
                "passes": passes,
                "pass_rate": pass_rate(passes),
                "truncated": sum(c.finish_reason == "length" for c in outs),
                "num_tokens": [c.num_tokens for c in outs],
            }
        )
    return rows


def _with_pass_rate(record: StepRecord, row: dict, cfg: FilterConfig) -> StepRecord:
    meta = {
        **record.meta,
        "pass_rate": row["pass_rate"],
        "pass_samples": len(row["passes"]),
        "pass_model": cfg.model.name_or_path,
    }
    return replace(record, meta=meta)


def _log_wandb(run, metrics: dict, png: Path) -> None:
    if run is None:
        return
    import wandb

    hist = metrics["histogram"]
    run.log(
        {
            "filter/pass_rate_histogram": wandb.Image(str(png)),
            "filter/pass_rates": wandb.Table(columns=["pass_rate", "records"], data=[[k, v] for k, v in hist.items()]),
            **{f"filter/{k}": v for k, v in metrics.items() if isinstance(v, (int, float))},
        }
    )
