"""``deepcritic verify-vote``: critic-verified majority voting against plain majority voting.

Reads top to bottom: load the problem sets and prompts; open the generator and the critic; for each
batch of problems not yet in ``verify_vote/<set>.jsonl``: sample ``generator.sampling.n`` solutions, let
the critic judge each (accepted = no wrong step), and for k = 1, 2, 4, ..., n vote over the first k
answers two ways: all of them (plain majority) and only the accepted ones (verified; when the critic
accepts none, the plain majority). Writes metrics.json, metrics.md, plots/voting.png and wandb tables.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from deepcritic import tracking
from deepcritic.config import RefineConfig
from deepcritic.critique import load_template
from deepcritic.data.problems import load_benchmarks
from deepcritic.eval import report
from deepcritic.eval.metrics import default_ks
from deepcritic.eval.solving import Prompts, run_problem_sets, verify_metrics, verify_step
from deepcritic.generation import shared_generator
from deepcritic.runtime import run_dir

COLUMNS = [
    ("problems", "problems", "int"),
    ("verified vote", "accuracy", "pct"),
    ("majority vote", "majority_accuracy", "pct"),
    ("fallback", "fallback_rate", "pct"),
    ("pass@n", "pass@n", "pct"),
    ("accepted", "acceptance_rate", "pct"),
    ("accept precision", "acceptance_precision", "pct"),
    ("critic parse", "critic_parse_rate", "pct"),
]


def main(cfg: RefineConfig) -> dict:
    out_dir = run_dir()
    prompts = Prompts(
        solve=load_template("solve", cfg.solve_template), critic=load_template("critic", cfg.critic.model.template)
    )
    problem_sets = load_benchmarks(cfg.benchmarks, cfg.limit)
    ks = default_ks(cfg.generator.sampling.n)
    wandb_run = tracking.start_run(cfg.logger, asdict(cfg), out_dir, f"verify-vote-{out_dir.name}")

    generator = shared_generator(cfg.generator.model, cfg.generator.rollout)
    critic = shared_generator(cfg.critic.model, cfg.critic.rollout)
    step = partial(
        verify_step,
        generator,
        critic,
        gen_sampling=cfg.generator.sampling,
        critic_sampling=cfg.critic.sampling,
        prompts=prompts,
        ks=ks,
        timeout_s=cfg.answer_timeout_s,
    )
    per_benchmark = run_problem_sets(
        problem_sets, out_dir / "verify_vote", cfg.batch_size, step, partial(verify_metrics, ks=ks)
    )

    metrics = _write_report(cfg, per_benchmark, ks, out_dir, wandb_run)
    tracking.finish(wandb_run)
    return metrics


def _write_report(cfg: RefineConfig, per_benchmark: dict, ks: list[int], out_dir: Path, wandb_run: Any) -> dict:
    """metrics.json, metrics.md, the voting curves and the wandb tables."""
    average = report.mean_over(per_benchmark, [key for _, key, kind in COLUMNS if kind == "pct"])
    metrics = {
        "recipe": "verify-vote",
        "model": cfg.critic.model.name_or_path,
        "generator": cfg.generator.model.name_or_path,
        "critic": cfg.critic.model.name_or_path,
        "samples": cfg.generator.sampling.n,
        "maj_k": ks,
        "primary_metric": "accuracy",
        "benchmarks": per_benchmark,
        "average": average,
    }
    header, rows = report.column_table(per_benchmark, average, COLUMNS)
    curves = {}
    for name, m in per_benchmark.items():
        curves[f"{name} verified"] = {int(k): v["accuracy"] for k, v in m["maj"].items()}
        curves[f"{name} majority"] = {int(k): v["majority_accuracy"] for k, v in m["maj"].items()}
    plot = report.plot_curves(
        curves,
        "Critic-verified vs plain majority voting",
        "k (solutions sampled)",
        "accuracy (%)",
        out_dir / "plots" / "voting.png",
    )
    note = (
        f"generator: {metrics['generator']}; critic: {metrics['critic']}; {cfg.generator.sampling.n} solutions per "
        "problem. verified vote: majority over the answers whose solution the critic accepted (no wrong step), "
        "plain majority when it accepts none (fallback); accept precision: accepted solutions that are correct."
    )
    report.write_run_outputs(
        out_dir,
        metrics,
        "Critic-verified majority voting",
        header,
        rows,
        note,
        {"voting": plot},
        wandb_run,
        "verify-vote",
    )
    return metrics
