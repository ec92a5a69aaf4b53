"""``deepcritic label``: Monte-Carlo step labels for RL (data-contract records with estimates in ``meta``).

Reads top to bottom: load the problem sets (GSM8K, MATH, NuminaMath; Hub or file) and their reference
answers; open the generator; it samples ``generator.sampling.n`` step-by-step solutions per problem,
graded with math-verify; problems with both right and wrong usable solutions are kept; for every wrong
solution and ``num_correct`` right ones, ``rollouts_per_step`` continuations are sampled from each step
prefix; the share reaching the reference answer is the step's estimate, and the first step at or below
``threshold`` is the label (``deepcritic/data/mc.py``). Continuations of one solution share their
prompt prefixes: vLLM's prefix cache (``rollout.vllm.enable_prefix_caching``, on by default) reuses them.

Resumable: solutions and rollouts are appended to ``stages.jsonl`` keyed by (problem or solution id,
stage, step) and read back at start; ``labels.jsonl`` and ``summary.json`` are rewritten at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepcritic.answers import extract_boxed, is_correct
from deepcritic.config import LabelConfig
from deepcritic.critique import load_template
from deepcritic.data.mc import SampledSolution, mc_record, step_estimates
from deepcritic.data.problems import SetProblem, load_problem_sets
from deepcritic.data.records import StepRecord
from deepcritic.datagen.labeling import continue_messages, plan, problem_outcome, solution_id
from deepcritic.datagen.stages import (
    guard_resume,
    open_role,
    role_identity,
    run_stage,
    sampling_with,
    sha256_text,
    solve_stage,
    solved_samples,
    stage_key,
    write_summary,
)
from deepcritic.generation import Completion, Generator
from deepcritic.runtime import run_dir
from deepcritic.store import ResultStore, atomic_write_jsonl

Rollout = tuple[SetProblem, int, list[str], int]  # (problem, solution index, steps, 0-based last prefix step)


def main(cfg: LabelConfig) -> dict:
    out_dir = run_dir()
    problems, skipped = load_problem_sets(cfg.problems, cfg.limit, cfg.reference)
    templates = (load_template("solve", cfg.solve_template), load_template("continue", cfg.continue_template))
    _guard(cfg, templates, out_dir)  # before the generator loads: a refused resume should fail fast
    generator = open_role(cfg.generator, out_dir, "generator")
    return label(cfg, problems, generator, templates, out_dir, skipped)


def _guard(cfg: LabelConfig, templates: tuple[str, str], out_dir: Path) -> None:
    """Stored solutions and rollouts depend on the generator, its sampling, the prompts, K and the grading."""
    guard_resume(
        out_dir,
        {
            "generator": role_identity(cfg.generator),
            "templates": [sha256_text(t) for t in templates],
            "rollouts_per_step": cfg.rollouts_per_step,
            "reference": cfg.reference,
            "rollout_max_new_tokens": cfg.rollout_max_new_tokens,
        },
    )


def label(
    cfg: LabelConfig,
    problems: list[SetProblem],
    generator: Generator,
    templates: tuple[str, str],
    out_dir: Path,
    skipped: int = 0,
) -> dict:
    """Sample, select, roll out, estimate, write (the generator is passed in: tests script one)."""
    solve_template, continue_template = templates
    _guard(cfg, templates, out_dir)
    store = ResultStore(out_dir / "stages.jsonl")
    runs: dict[str, Any] = {}

    runs["solve"] = solve_stage(
        store, problems, generator, cfg.generator.sampling, solve_template, cfg.batch_size, cfg.answer_timeout_s
    )
    rows = store.by_id()
    chosen = {p.id: plan(_samples(rows, p), cfg.num_correct, cfg.max_steps) for p in problems if _samples(rows, p)}

    def rollout_row(item: Rollout, outs: list[Completion]) -> dict:
        p, j, _, i = item
        return {
            "solution": solution_id(p.id, j),
            "stage": "rollout",
            "step": i,
            "hits": [is_correct(c.text, p.answer, cfg.answer_timeout_s) for c in outs],
            "answers": [extract_boxed(c.text) for c in outs],
        }

    def rollout_key(item: Rollout) -> str:
        p, j, _, i = item
        return stage_key(solution_id(p.id, j), "rollout", i)

    def rollout_prompt(item: Rollout) -> list[dict[str, str]]:
        p, _, steps, i = item
        return continue_messages(continue_template, p.problem, steps[: i + 1])

    sampling = sampling_with(cfg.generator.sampling, n=cfg.rollouts_per_step, max_new_tokens=cfg.rollout_max_new_tokens)
    runs["rollout"] = run_stage(
        store,
        "rollout",
        _rollout_items(problems, chosen, rows),
        rollout_key,
        rollout_prompt,
        rollout_row,
        generator,
        sampling,
        cfg.batch_size,
    )
    rows = store.by_id()

    records, incomplete = _records(cfg, problems, chosen, rows, generator.name)
    output = Path(cfg.output) if cfg.output else out_dir / "labels.jsonl"
    atomic_write_jsonl([r.to_dict() for r in records], output)
    summary = _summary(cfg, problems, skipped, rows, records, incomplete, runs, generator.name, output)
    write_summary(out_dir, summary, "deepcritic label")
    return summary


def _rollout_items(problems: list[SetProblem], chosen: dict[str, list[int]], rows: dict[str, dict]) -> list[Rollout]:
    """Every step prefix but the whole solution, of every chosen solution, in order (prefixes of one solution
    stay together, so that one batch reuses their shared prompt prefix)."""
    items = []
    for p in problems:
        for j in chosen.get(p.id, []):
            steps = _samples(rows, p)[j]["steps"]
            items += [(p, j, steps, i) for i in range(len(steps) - 1)]
    return items


def _samples(rows: dict[str, dict], p: SetProblem) -> list[dict]:
    return solved_samples(rows, p.id)


def _records(
    cfg: LabelConfig,
    problems: list[SetProblem],
    chosen: dict[str, list[int]],
    rows: dict[str, dict],
    generator_name: str,
) -> tuple[list[StepRecord], int]:
    """The labeled records (problem order, then solution order), and how many solutions lack rollouts."""
    records, incomplete = [], 0
    for p in problems:
        for j in chosen.get(p.id, []):
            sample = _samples(rows, p)[j]
            prefixes = [
                rows.get(stage_key(solution_id(p.id, j), "rollout", i)) for i in range(len(sample["steps"]) - 1)
            ]
            if any(r is None for r in prefixes):
                incomplete += 1
                continue
            solution = SampledSolution(sample["steps"], bool(sample["correct"]), sample["text"])
            estimates = step_estimates([r["hits"] for r in prefixes], solution.correct)
            records.append(
                mc_record(
                    p.id,
                    f"mc/{p.set}",
                    p.problem,
                    p.answer,
                    j,
                    solution,
                    estimates,
                    cfg.threshold,
                    cfg.rollouts_per_step,
                    generator_name,
                )
            )
    return records, incomplete


def _summary(
    cfg: LabelConfig,
    problems: list[SetProblem],
    skipped: int,
    rows: dict[str, dict],
    records: list[StepRecord],
    incomplete: int,
    runs: dict[str, Any],
    generator_name: str,
    output: Path,
) -> dict[str, Any]:
    samples = [s for p in problems for s in _samples(rows, p)]
    outcomes: dict[str, int] = {}
    for p in problems:
        if _samples(rows, p):
            key = problem_outcome(_samples(rows, p), cfg.max_steps)
            outcomes[key] = outcomes.get(key, 0) + 1
    with_error = sum(r.has_error for r in records)
    rollout_run = runs["rollout"]
    done_rollouts = rollout_run["done"] * cfg.rollouts_per_step
    return {
        "recipe": "label",
        "generator": generator_name,
        "output": str(output),
        "problems": {"total": len(problems), "no_reference_skipped": skipped, **dict(sorted(outcomes.items()))},
        "solutions": {
            "sampled": len(samples),
            "correct": sum(bool(s["correct"]) for s in samples),
            "truncated": sum(s["finish_reason"] == "length" for s in samples),
            "no_steps": sum(not s["steps"] for s in samples),
            "answer_accuracy": round(sum(bool(s["correct"]) for s in samples) / len(samples), 4) if samples else None,
        },
        "labeled": {
            "records": len(records),
            "with_error": with_error,
            "without_error": len(records) - with_error,
            "right_answer_with_wrong_step": sum(r.has_error and r.meta["final_answer_correct"] for r in records),
            "incomplete": incomplete,
        },
        "rollouts": {
            "prefixes": rollout_run["items"],
            "per_step": cfg.rollouts_per_step,
            "total": rollout_run["items"] * cfg.rollouts_per_step,
            "done_this_run": done_rollouts,
            "seconds_this_run": rollout_run["seconds"],
            "rollouts_per_s": round(done_rollouts / rollout_run["seconds"], 3)
            if done_rollouts and rollout_run["seconds"]
            else None,
            "prefix_caching": cfg.generator.rollout.backend == "vllm"
            and cfg.generator.rollout.vllm.enable_prefix_caching,
        },
        "stages": runs,
        "settings": {
            "threshold": cfg.threshold,
            "num_correct": cfg.num_correct,
            "max_steps": cfg.max_steps,
            "samples_per_problem": cfg.generator.sampling.n,
        },
    }
