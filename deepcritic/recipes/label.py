"""``deepcritic label``: Monte-Carlo step labels for RL (data-contract records with estimates in ``meta``).

Reads top to bottom: load the problem sets (GSM8K, MATH, NuminaMath; Hub or file) and their reference
answers; build the generator's prompts (``deepcritic/datagen/labeling.py``: a system turn, the solve prompt,
``Step k:`` tags, and how a prefix is continued: inside the assistant turn by default, as DeepCritic does);
open the generator; it samples ``generator.sampling.n`` step-by-step solutions per problem, graded with
math-verify; problems with both right and wrong usable solutions are kept; for every wrong solution and
``num_correct`` right ones, ``rollouts_per_step`` continuations are sampled from each step prefix; the share
reaching the reference answer is the step's estimate, and the first step at or below ``threshold`` is the label
(``deepcritic/data/mc.py``). With ``consensus=judge`` a judge model reads every labeled solution and only the
labels it agrees with are kept (``deepcritic/datagen/consensus.py``). Continuations of one solution share their
prompt prefixes: vLLM's prefix cache (``rollout.vllm.enable_prefix_caching``, on by default) reuses them.

Resumable: solutions, rollouts and judgments are appended to ``stages.jsonl`` keyed by (problem, solution or
record id, stage, step) and read back at start; ``labels.jsonl`` and ``summary.json`` are rewritten at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepcritic import hub
from deepcritic.answers import extract_boxed, is_correct
from deepcritic.cards import DatasetInfo
from deepcritic.config import LabelConfig
from deepcritic.critique import load_template
from deepcritic.data.mc import SampledSolution, mc_record, step_estimates
from deepcritic.data.problems import SetProblem, load_problem_sets
from deepcritic.data.records import StepRecord
from deepcritic.datagen.consensus import consensus, judge_stage
from deepcritic.datagen.labeling import GeneratorPrompts, official_system_prompt, plan, problem_outcome, solution_id
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
from deepcritic.eval.protocols import Protocol, get_protocol
from deepcritic.generation import Completion, Generator
from deepcritic.runtime import run_dir
from deepcritic.store import ResultStore, atomic_write_jsonl, write_rows

Rollout = tuple[SetProblem, int, list[str], int]  # (problem, solution index, steps, 0-based last prefix step)


def main(cfg: LabelConfig) -> dict:
    out_dir = run_dir()
    problems, skipped = load_problem_sets(cfg.problems, cfg.limit, cfg.reference)
    prompts = generator_prompts(cfg)
    judge_protocol = _judge_protocol(cfg)
    _guard(cfg, prompts, out_dir)  # before the generator loads: a refused resume should fail fast
    hub.check_dataset_push(cfg.hub)  # and so should a push without a token
    generator = open_role(cfg.generator, out_dir, "generator")
    judge = open_role(cfg.judge, out_dir, "judge") if judge_protocol else None
    return label(cfg, problems, generator, prompts, out_dir, skipped, judge, judge_protocol)


def generator_prompts(cfg: LabelConfig) -> GeneratorPrompts:
    """The generator's prompts from the config (the official system turn read from its pinned file)."""
    system = cfg.system_prompt
    if cfg.official_system_prompt:
        system = official_system_prompt(cfg.official_system_prompt, cfg.official_file)
    return GeneratorPrompts(
        solve_template=load_template("solve", cfg.solve_template),
        continue_template=load_template("continue", cfg.continue_template),
        continuation=cfg.continuation,
        system=system,
        step_tags=cfg.step_tags,
        problem_only=cfg.problem_only,
    )


def _judge_protocol(cfg: LabelConfig) -> Protocol | None:
    if cfg.consensus != "judge":
        return None
    p = cfg.judge.protocol
    return get_protocol(p.name, p.template or cfg.judge.model.template, model=cfg.judge.model.name_or_path)


def _guard(cfg: LabelConfig, prompts: GeneratorPrompts, out_dir: Path) -> None:
    """Stored rows depend on the generator, its sampling, the prompts, K, the grading and (with consensus) the
    judge; the selection settings (limit, num_correct, max_steps, drop_unanswered, threshold) may change."""
    settings: dict[str, Any] = {
        "generator": role_identity(cfg.generator),
        "templates": [sha256_text(t) for t in (prompts.solve_template, prompts.continue_template)],
        "prompting": [prompts.continuation, prompts.step_tags, prompts.problem_only, sha256_text(prompts.system or "")],
        "rollouts_per_step": cfg.rollouts_per_step,
        "reference": cfg.reference,
        "rollout_sampling": [cfg.rollout_max_new_tokens, cfg.rollout_temperature, cfg.rollout_top_p],
        "boxed_only": cfg.boxed_only,
    }
    if cfg.consensus == "judge":
        settings["judge"] = {**role_identity(cfg.judge), "protocol": cfg.judge.protocol.name}
    guard_resume(out_dir, settings)


def label(
    cfg: LabelConfig,
    problems: list[SetProblem],
    generator: Generator,
    prompts: GeneratorPrompts,
    out_dir: Path,
    skipped: int = 0,
    judge: Generator | None = None,
    judge_protocol: Protocol | None = None,
) -> dict:
    """Sample, select, roll out, estimate, judge, write (the models are passed in: tests script them)."""
    _guard(cfg, prompts, out_dir)
    store = ResultStore(out_dir / "stages.jsonl")
    runs: dict[str, Any] = {}

    runs["solve"] = solve_stage(
        store,
        problems,
        generator,
        cfg.generator.sampling,
        prompts,
        cfg.batch_size,
        cfg.answer_timeout_s,
        cfg.boxed_only,
    )
    rows = store.by_id()
    chosen = {
        p.id: plan(_samples(rows, p), cfg.num_correct, cfg.max_steps, cfg.drop_unanswered)
        for p in problems
        if _samples(rows, p)
    }
    runs["rollout"] = _rollout_stage(cfg, store, _rollout_items(problems, chosen, rows), generator, prompts)
    rows = store.by_id()
    records, incomplete = _records(cfg, problems, chosen, rows, generator.name)

    agreement = None
    if judge is not None and judge_protocol is not None:  # consensus=judge
        runs["judge"] = judge_stage(store, records, judge, cfg.judge.sampling, judge_protocol, cfg.batch_size)
        records, dropped, counts = consensus(records, store.by_id())
        agreement = {"judge": judge.name, "protocol": judge_protocol.name, **counts}
        atomic_write_jsonl([r.to_dict() for r in dropped], out_dir / "disagreements.jsonl")
    output = Path(cfg.output) if cfg.output else out_dir / "labels.jsonl"
    out_rows = [r.to_dict() for r in records]
    write_rows(out_rows, output)
    summary = _summary(cfg, problems, skipped, rows, records, incomplete, runs, generator.name, output)
    if agreement is not None:
        summary["consensus"] = agreement
    write_summary(out_dir, summary, "deepcritic label")
    hub.publish_rows(cfg.hub, out_rows, _dataset_info(cfg, summary), out_dir, summary)
    return summary


def _dataset_info(cfg: LabelConfig, summary: dict[str, Any]) -> DatasetInfo:
    """What the dataset card says: the generator, the problem sets, the labeled records, the settings."""
    labeled = summary["labeled"]
    return DatasetInfo(
        recipe="label",
        title="deepcritic Monte-Carlo step labels",
        source=f"solutions and rollouts of the generator `{summary['generator']}` on the problem sets "
        + ", ".join(f"`{name}`" for name in cfg.problems),
        rows=labeled["records"],
        balance={"with a wrong step": labeled["with_error"], "without": labeled["without_error"]},
        settings={**summary["settings"], "rollouts_per_step": cfg.rollouts_per_step, "problems": summary["problems"]},
    )


def _rollout_stage(
    cfg: LabelConfig, store: ResultStore, items: list[Rollout], generator: Generator, prompts: GeneratorPrompts
) -> dict[str, Any]:
    """Stage ``rollout``: ``rollouts_per_step`` continuations of every prefix, each graded against the answer."""

    def row(item: Rollout, outs: list[Completion]) -> dict:
        p, j, _, i = item
        return {
            "solution": solution_id(p.id, j),
            "stage": "rollout",
            "step": i,
            "hits": [is_correct(c.text, p.answer, cfg.answer_timeout_s, cfg.boxed_only) for c in outs],
            "answers": [extract_boxed(c.text) for c in outs],
        }

    def key(item: Rollout) -> str:
        p, j, _, i = item
        return stage_key(solution_id(p.id, j), "rollout", i)

    def prompt(item: Rollout) -> list[dict[str, str]]:
        p, _, steps, i = item
        return prompts.rollout(p.problem, steps[: i + 1])

    sampling = sampling_with(
        cfg.generator.sampling,
        n=cfg.rollouts_per_step,
        max_new_tokens=cfg.rollout_max_new_tokens,
        temperature=cfg.rollout_temperature,
        top_p=cfg.rollout_top_p,
    )
    return run_stage(store, "rollout", items, key, prompt, row, generator, sampling, cfg.batch_size)


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
            key = problem_outcome(_samples(rows, p), cfg.max_steps, cfg.drop_unanswered)
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
            "wrong_unanswered": sum(not s["correct"] and s["answer"] is None for s in samples),
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
        "settings": _settings(cfg),
    }


def _settings(cfg: LabelConfig) -> dict[str, Any]:
    return {
        "threshold": cfg.threshold,
        "num_correct": cfg.num_correct,
        "max_steps": cfg.max_steps,
        "samples_per_problem": cfg.generator.sampling.n,
        "continuation": cfg.continuation,
        "step_tags": cfg.step_tags,
        "problem_only": cfg.problem_only,
        "system_prompt": cfg.official_system_prompt or ("custom" if cfg.system_prompt else None),
        "boxed_only": cfg.boxed_only,
        "drop_unanswered": cfg.drop_unanswered,
        "consensus": cfg.consensus,
    }
