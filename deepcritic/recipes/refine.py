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

from deepcritic import tracking
from deepcritic.config import ProblemsConfig, RefineConfig, sections
from deepcritic.eval import report
from deepcritic.eval.problems import load_problems
from deepcritic.eval.prompts import REVISE_PLACEHOLDERS, SOLVE_PLACEHOLDERS, load_critic_template, load_prompt
from deepcritic.eval.runner import run_pending
from deepcritic.eval.solving import Prompts, refine_metrics, refine_step
from deepcritic.eval.store import ResultStore
from deepcritic.generation import shared_generator
from deepcritic.runtime import run_dir

COLUMNS = [("problems", "problems", "int"), ("acc before", "accuracy_before", "pct"), ("acc after", "accuracy", "pct"),
           ("revised", "revised_rate", "pct"), ("flagged | wrong", "flag_rate_on_wrong", "pct"),
           ("flagged | right", "flag_rate_on_right", "pct"), ("wrong→right", "wrong_to_right", "int"),
           ("right→wrong", "right_to_wrong", "int"), ("critic parse", "critic_parse_rate", "pct")]


def main(cfg: RefineConfig) -> dict:
    out_dir = run_dir()
    prompts = Prompts(solve=load_prompt(cfg.solve_template, "solve.txt", SOLVE_PLACEHOLDERS),
                      revise=load_prompt(cfg.revise_template, "revise.txt", REVISE_PLACEHOLDERS),
                      critic=load_critic_template(cfg.critic.model.template))
    problem_sets = {name: load_problems(p, cfg.limit)
                    for name, p in sections(cfg.benchmarks, ProblemsConfig, "benchmarks").items()}
    wandb_run = tracking.start_run(cfg.logger, asdict(cfg), out_dir, f"refine-{out_dir.name}")

    generator = shared_generator(cfg.generator.model, cfg.generator.rollout)
    critic = shared_generator(cfg.critic.model, cfg.critic.rollout)
    step = partial(refine_step, generator, critic, gen_sampling=cfg.generator.sampling,
                   critic_sampling=cfg.critic.sampling, prompts=prompts, timeout_s=cfg.answer_timeout_s)
    per_benchmark = {}
    for name, problems in problem_sets.items():
        store = ResultStore(out_dir / "refine" / f"{name}.jsonl")
        run_pending(problems, lambda p: p.id, store, cfg.batch_size, lambda batch: step(batch), desc=name)
        done = {p.id for p in problems}
        per_benchmark[name] = refine_metrics([r for r in store.rows() if r["id"] in done])

    average = report.mean_over(per_benchmark, ["accuracy_before", "accuracy", "revised_rate", "flag_rate_on_wrong",
                                               "flag_rate_on_right", "critic_parse_rate"])
    metrics = {"recipe": "refine", "model": cfg.critic.model.name_or_path,
               "generator": cfg.generator.model.name_or_path, "critic": cfg.critic.model.name_or_path,
               "primary_metric": "accuracy", "benchmarks": per_benchmark, "average": average}
    header, rows = report.column_table(per_benchmark, average, COLUMNS)
    groups = {name: {"before": m["accuracy_before"], "after revision": m["accuracy"]} for name, m in per_benchmark.items()}
    plot = report.plot_bars(groups, "Answer accuracy before / after critique-guided revision", "accuracy (%)",
                            out_dir / "plots" / "accuracy.png")
    note = (f"generator: {metrics['generator']}; critic: {metrics['critic']}. acc before / after: answer accuracy "
            "(math-verify) of the first solution / after revising where the critic named a wrong step; revised: "
            "share of solutions the critic flagged; flagged | wrong (right): flag rate on first solutions that "
            "were wrong (right).")
    report.write_run_outputs(out_dir, metrics, "Critique-guided refinement", header, rows, note,
                             {"accuracy": plot}, wandb_run, "refine")
    tracking.finish(wandb_run)
    return metrics
