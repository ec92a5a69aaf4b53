"""``deepcritic solve``: answer accuracy of a solver (e.g. a CFT-trained model) on problem sets, under a protocol.

Reads top to bottom: build the solver protocol (deepcritic's own, or ``protocol=cft_paper``: the CFT paper's
Qwen2.5-Math harness, its official prompt read from the pinned file); load the problem sets and read each problem
under the protocol (a row it cannot read fails now, before any generation); compare the decoding with the
protocol's official one; open the generator; for each set, sample ``generator.sampling.n`` solutions for the
problems not yet in ``solutions/<set>.jsonl`` (appended per batch: a rerun resumes), grade every answer under the
protocol with math-verify, vote over the first k; write metrics.json, metrics.md, plots/maj_at_k.png and the wandb
tables. Greedy accuracy is ``sampling.n=1`` with ``temperature=0``.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from typing import Any

from deepcritic import tracking
from deepcritic.config import SolveConfig
from deepcritic.data.problems import load_benchmarks
from deepcritic.eval import report
from deepcritic.eval.metrics import default_ks
from deepcritic.eval.solver_protocols import check_problems, decoding_report, get_solver_protocol
from deepcritic.eval.solving import run_problem_sets, solve_metrics, solve_step
from deepcritic.generation import shared_generator
from deepcritic.runtime import run_dir

COLUMNS = [
    ("problems", "problems", "int"),
    ("accuracy", "accuracy", "pct"),
    ("pass@n", "pass@n", "pct"),
    ("answered", "answer_rate", "pct"),
    ("tokens", "mean_tokens", "num"),
]
#: protocol cft_paper's extra columns: the strict reading, and outputs the harness would have run as code
HARNESS_COLUMNS = [("strict accuracy", "strict_accuracy", "pct"), ("tool calls", "tool_calls", "int")]
AVERAGED = ["accuracy", "first_sample_accuracy", "pass@n", "answer_rate", "mean_tokens", "strict_accuracy"]


def main(cfg: SolveConfig) -> dict:
    out_dir = run_dir()
    protocol = get_solver_protocol(cfg.protocol.name, cfg.protocol.official_dir, cfg.solve_template)
    problem_sets = load_benchmarks(cfg.benchmarks, cfg.limit)
    check_problems(protocol, problem_sets)
    model = cfg.generator.model.name_or_path
    decoding = decoding_report(protocol, cfg.generator.sampling, model)
    if decoding["differs"]:
        print(f"note: decoding differs from protocol {protocol.name}'s official one: {decoding['differs']}")
    ks = list(cfg.maj_k or default_ks(cfg.generator.sampling.n))
    wandb_run = tracking.start_run(cfg.logger, asdict(cfg), out_dir, f"solve-{out_dir.name}")

    generator = shared_generator(cfg.generator.model, cfg.generator.rollout)
    step = partial(
        solve_step, generator, sampling=cfg.generator.sampling, protocol=protocol, ks=ks, timeout_s=cfg.answer_timeout_s
    )
    per_benchmark = run_problem_sets(
        problem_sets, out_dir / "solutions", cfg.batch_size, step, partial(solve_metrics, ks=ks)
    )

    metrics = {
        "recipe": "solve",
        "model": model,
        "backend": cfg.generator.rollout.backend,
        "protocol": protocol.describe(),
        "sampling": asdict(cfg.generator.sampling),
        "decoding": decoding,
        "maj_k": ks,
        "primary_metric": "accuracy",
        "benchmarks": per_benchmark,
        "average": report.mean_over(per_benchmark, AVERAGED),
    }
    harness = protocol.name == "cft_paper"
    columns = COLUMNS + (HARNESS_COLUMNS if harness else []) + [(f"Maj@{k}", f"maj@{k}", "pct") for k in ks]
    header, rows = report.column_table(per_benchmark, metrics["average"], columns)
    curves = {name: {int(k): v["accuracy"] for k, v in m["maj"].items()} for name, m in per_benchmark.items()}
    plot = report.plot_curves(
        curves, "Majority-vote accuracy", "k (samples voted)", "accuracy (%)", out_dir / "plots" / "maj_at_k.png"
    )
    report.write_run_outputs(
        out_dir,
        metrics,
        f"Solver accuracy: {model}",
        header,
        rows,
        _note(metrics, cfg),
        {"maj_at_k": plot},
        wandb_run,
        "solve",
    )
    tracking.finish(wandb_run)
    return metrics


def _note(metrics: dict[str, Any], cfg: SolveConfig) -> str:
    """How the numbers were made: the protocol and its prompt, the decoding against the official one, the columns."""
    p, d = metrics["protocol"], metrics["decoding"]
    lines = [f"protocol: **{p['name']}** ({p['summary']}); prompt: {p['prompt']}"]
    for name, file in p.get("files", {}).items():
        lines.append(f"official {name}: {file['name']} (sha256 {file['sha256']})")
    if d["official"] is not None:
        lines.append(
            "decoding: matches the official one"
            if d["matches"]
            else "decoding: **differs** from the official one: "
            + "; ".join(f"{k} {v['used']!r} (official {v['official']!r})" for k, v in d["differs"].items())
        )
    lines.append(
        "accuracy: mean over all samples (greedy accuracy when n = 1); pass@n: some sample correct; "
        "answered: samples with an answer math-verify could parse; tokens: mean generated tokens; "
        f"Maj@k: accuracy of the majority answer over k samples. Samples per problem: {cfg.generator.sampling.n}."
    )
    if p["name"] == "cft_paper":
        lines.append(
            "accuracy reads each answer as the harness does and grades it with math-verify; strict accuracy: "
            "math-verify over the whole output against the set's raw reference; tool calls: outputs ending in a "
            "code block without a boxed answer, which the harness would have run and continued (not run here). "
            "The average is the unweighted mean over sets, as math_eval.py prints it."
        )
    return "\n" + "\n\n".join(lines)
