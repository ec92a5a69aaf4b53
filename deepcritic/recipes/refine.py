"""``deepcritic refine``: critique-guided refinement.

Reads top to bottom: load the problem sets and the three prompts (solve, revise, critic); open the
generator and the critic (one shared engine when both are the same model); for each set and each batch
of problems not yet in ``refine/<set>.jsonl``: the generator solves (one sample), the solution is split
into steps, the critic critiques them (``critic.sampling.n`` samples, majority verdict), and where it
names a wrong step the generator revises with that critique; answers before and after are graded with
math-verify. Writes metrics.json, metrics.md, plots/accuracy.png and the wandb tables.
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
from deepcritic.eval.solving import Prompts, refine_metrics, refine_step, run_problem_sets
from deepcritic.generation import shared_generator
from deepcritic.runtime import run_dir

COLUMNS = [
    ("problems", "problems", "int"),
    ("acc before", "accuracy_before", "pct"),
    ("acc after", "accuracy", "pct"),
    ("revised", "revised_rate", "pct"),
    ("flagged | wrong", "flag_rate_on_wrong", "pct"),
    ("flagged | right", "flag_rate_on_right", "pct"),
    ("wrong→right", "wrong_to_right", "int"),
    ("right→wrong", "right_to_wrong", "int"),
    ("critic parse", "critic_parse_rate", "pct"),
]


def main(cfg: RefineConfig) -> dict:
    out_dir = run_dir()
    prompts = Prompts(
        solve=load_template("solve", cfg.solve_template),
        revise=load_template("revise", cfg.revise_template),
        critic=load_template("critic", cfg.critic.model.template),
    )
    problem_sets = load_benchmarks(cfg.benchmarks, cfg.limit)
    wandb_run = tracking.start_run(cfg.logger, asdict(cfg), out_dir, f"refine-{out_dir.name}")

    generator = shared_generator(cfg.generator.model, cfg.generator.rollout)
    critic = shared_generator(cfg.critic.model, cfg.critic.rollout)
    step = partial(
        refine_step,
        generator,
        critic,
        gen_sampling=cfg.generator.sampling,
        critic_sampling=cfg.critic.sampling,
        prompts=prompts,
        timeout_s=cfg.answer_timeout_s,
    )
    per_benchmark = run_problem_sets(problem_sets, out_dir / "refine", cfg.batch_size, step, refine_metrics)

    metrics = _write_report(cfg, per_benchmark, out_dir, wandb_run)
    tracking.finish(wandb_run)
    return metrics


def _write_report(cfg: RefineConfig, per_benchmark: dict, out_dir: Path, wandb_run: Any) -> dict:
    """metrics.json, metrics.md, the before / after plot and the wandb tables."""
    average = report.mean_over(
        per_benchmark,
        [
            "accuracy_before",
            "accuracy",
            "revised_rate",
            "flag_rate_on_wrong",
            "flag_rate_on_right",
            "critic_parse_rate",
        ],
    )
    metrics = {
        "recipe": "refine",
        "model": cfg.critic.model.name_or_path,
        "generator": cfg.generator.model.name_or_path,
        "critic": cfg.critic.model.name_or_path,
        "primary_metric": "accuracy",
        "benchmarks": per_benchmark,
        "average": average,
    }
    header, rows = report.column_table(per_benchmark, average, COLUMNS)
    groups = {
        name: {"before": m["accuracy_before"], "after revision": m["accuracy"]} for name, m in per_benchmark.items()
    }
    plot = report.plot_bars(
        groups,
        "Answer accuracy before / after critique-guided revision",
        "accuracy (%)",
        out_dir / "plots" / "accuracy.png",
    )
    note = (
        f"generator: {metrics['generator']}; critic: {metrics['critic']}. acc before / after: answer accuracy "
        "(math-verify) of the first solution / after revising where the critic named a wrong step; revised: "
        "share of solutions the critic flagged; flagged | wrong (right): flag rate on first solutions that "
        "were wrong (right)."
    )
    report.write_run_outputs(
        out_dir, metrics, "Critique-guided refinement", header, rows, note, {"accuracy": plot}, wandb_run, "refine"
    )
    return metrics
