"""``deepcritic solve``: answer accuracy of a solver (e.g. a CFT-trained model) on MATH500 / GSM8K.

Reads top to bottom: load the problem sets; open the generator; for each set, sample
``generator.sampling.n`` solutions for the problems not yet in ``solutions/<set>.jsonl`` (appended per
batch: a rerun resumes), grade every answer with math-verify, vote over the first k; write
metrics.json, metrics.md, plots/maj_at_k.png and the wandb tables. Greedy accuracy is ``sampling.n=1``
with ``temperature=0``.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

from deepcritic import tracking
from deepcritic.config import SolveConfig
from deepcritic.critique import load_template
from deepcritic.data.problems import load_benchmarks
from deepcritic.eval import report
from deepcritic.eval.metrics import default_ks
from deepcritic.eval.solving import Prompts, run_problem_sets, solve_metrics, solve_step
from deepcritic.generation import shared_generator
from deepcritic.runtime import run_dir

COLUMNS = [
    ("problems", "problems", "int"),
    ("accuracy", "accuracy", "pct"),
    ("pass@n", "pass@n", "pct"),
    ("answered", "answer_rate", "pct"),
    ("tokens", "mean_tokens", "num"),
]


def main(cfg: SolveConfig) -> dict:
    out_dir = run_dir()
    prompts = Prompts(solve=load_template("solve", cfg.solve_template))
    problem_sets = load_benchmarks(cfg.benchmarks, cfg.limit)
    ks = list(cfg.maj_k or default_ks(cfg.generator.sampling.n))
    wandb_run = tracking.start_run(cfg.logger, asdict(cfg), out_dir, f"solve-{out_dir.name}")

    generator = shared_generator(cfg.generator.model, cfg.generator.rollout)
    step = partial(
        solve_step, generator, sampling=cfg.generator.sampling, prompts=prompts, ks=ks, timeout_s=cfg.answer_timeout_s
    )
    per_benchmark = run_problem_sets(
        problem_sets, out_dir / "solutions", cfg.batch_size, step, partial(solve_metrics, ks=ks)
    )

    average = report.mean_over(
        per_benchmark, ["accuracy", "first_sample_accuracy", "pass@n", "answer_rate", "mean_tokens"]
    )
    metrics = {
        "recipe": "solve",
        "model": cfg.generator.model.name_or_path,
        "backend": cfg.generator.rollout.backend,
        "sampling": asdict(cfg.generator.sampling),
        "maj_k": ks,
        "primary_metric": "accuracy",
        "benchmarks": per_benchmark,
        "average": average,
    }
    columns = COLUMNS + [(f"Maj@{k}", f"maj@{k}", "pct") for k in ks]
    header, rows = report.column_table(per_benchmark, average, columns)
    curves = {name: {int(k): v["accuracy"] for k, v in m["maj"].items()} for name, m in per_benchmark.items()}
    plot = report.plot_curves(
        curves, "Majority-vote accuracy", "k (samples voted)", "accuracy (%)", out_dir / "plots" / "maj_at_k.png"
    )
    note = (
        "accuracy: mean over all samples (greedy accuracy when n = 1); pass@n: some sample correct; "
        "answered: samples with an answer math-verify could parse; tokens: mean generated tokens; "
        f"Maj@k: accuracy of the majority answer over k samples. Samples per problem: {cfg.generator.sampling.n}."
    )
    report.write_run_outputs(
        out_dir,
        metrics,
        f"Solver accuracy: {metrics['model']}",
        header,
        rows,
        note,
        {"maj_at_k": plot},
        wandb_run,
        "solve",
    )
    tracking.finish(wandb_run)
    return metrics
