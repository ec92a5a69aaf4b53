"""Solving with a generator and supervising it with a critic: the batch steps of ``solve``, ``refine``
and ``verify-vote``, and their metrics (pure functions over stored rows).

A row with an ``error`` key is a failed item (a request failed after every retry); the runner does not
store it, so a rerun retries it. Answers are graded with math-verify (:mod:`deepcritic.answers`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from deepcritic.answers import parse_reference, vote
from deepcritic.config import SamplingConfig
from deepcritic.critique import revise_messages, solve_messages
from deepcritic.data import split_steps
from deepcritic.data.problems import MathProblem
from deepcritic.eval.critic import chosen_critique, critique, sample_row
from deepcritic.eval.solver_protocols import SolveItem, SolverProtocol, graded_sample
from deepcritic.generation import Completion, Generator
from deepcritic.store import ResultStore, run_pending


@dataclass(frozen=True)
class Prompts:
    """Template texts: the generator's solve and revise prompts, the critic's prompt (None: default)."""

    solve: str
    revise: str = ""
    critic: str | None = None


def _error(completions: Sequence[Completion]) -> str | None:
    return next((c.error or "request failed" for c in completions if c.finish_reason == "error"), None)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


# ---------------------------------------------------------------------------------------------------
# solve: n samples per problem under a solver protocol; accuracy, pass@n, Maj@k


def solve_row(
    protocol: SolverProtocol,
    problem: MathProblem,
    item: SolveItem,
    completions: Sequence[Completion],
    ks: Sequence[int],
    timeout_s: int,
) -> dict:
    """A ``solve`` row: every sample graded under ``protocol``, and whether the majority answer of the first k is
    correct. ``problem`` is the question as the protocol shows it; ``reference`` what answers are compared with."""
    graded = [protocol.grade(item, c, timeout_s) for c in completions]
    samples, parsed = [g[0] for g in graded], [g[1] for g in graded]
    maj = {}
    for k in ks:
        winner = vote(parsed[:k], timeout_s=timeout_s).winner
        maj[str(k)] = winner is not None and samples[winner]["correct"]
    row = {"id": problem.id, "problem": item.question, "answer": problem.answer, "samples": samples, "maj": maj}
    return row if item.reference == problem.answer else {**row, "reference": item.reference}


def solve_step(
    generator: Generator,
    batch: list[MathProblem],
    sampling: SamplingConfig,
    protocol: SolverProtocol,
    ks: Sequence[int],
    timeout_s: int,
) -> list[dict]:
    items = [protocol.item(p, timeout_s) for p in batch]
    outputs = generator.generate([it.prompt for it in items], sampling)
    return [
        {"id": p.id, "error": err} if (err := _error(outs)) else solve_row(protocol, p, it, outs, ks, timeout_s)
        for p, it, outs in zip(batch, items, outputs)
    ]


def solve_metrics(rows: Sequence[dict], ks: Sequence[int]) -> dict[str, Any]:
    """``accuracy``: mean over all samples (greedy accuracy when n = 1); ``first_sample_accuracy``;
    ``pass@n``: some sample correct; ``answer_rate``: samples with an answer math-verify could parse;
    ``maj``: {k: {accuracy}} of the majority answer over the first k samples; ``mean_tokens``;
    ``truncated_rate``: samples cut by the token limit. Under protocol cft_paper also ``strict_accuracy`` (math-verify
    over the whole output against the raw reference) and ``tool_calls`` (outputs the harness would have run)."""
    samples = [s for r in rows for s in r["samples"]]
    tokens = [s["num_tokens"] for s in samples]
    harness = {}  # protocol cft_paper's extra readings
    if samples and all("strict_correct" in s for s in samples):
        harness = {
            "strict_accuracy": _mean([float(s["strict_correct"]) for s in samples]),
            "tool_calls": sum(bool(s["tool_call"]) for s in samples),
        }
    return {
        "problems": len(rows),
        "samples_per_problem": min((len(r["samples"]) for r in rows), default=0),
        "accuracy": _mean([float(s["correct"]) for s in samples]),
        "first_sample_accuracy": _mean([float(r["samples"][0]["correct"]) for r in rows if r["samples"]]),
        "pass@n": _mean([float(any(s["correct"] for s in r["samples"])) for r in rows]),
        "answer_rate": _mean([float(s["parsed"]) for s in samples]),
        "mean_tokens": None if any(t is None for t in tokens) else _mean(tokens),
        "truncated_rate": _mean([float(s["finish_reason"] == "length") for s in samples]),
        "maj": {str(k): {"accuracy": _mean([float(r["maj"][str(k)]) for r in rows if str(k) in r["maj"]])} for k in ks},
        **harness,
    }


# ---------------------------------------------------------------------------------------------------
# refine: solve once, critique, revise where the critic names a wrong step


def _steps(text: str) -> list[str]:
    return split_steps(text) if text.strip() else []


def refine_step(
    generator: Generator,
    critic: Generator,
    batch: list[MathProblem],
    gen_sampling: SamplingConfig,
    critic_sampling: SamplingConfig,
    prompts: Prompts,
    timeout_s: int,
) -> list[dict]:
    """Solve (one sample), critique the solution's steps, revise the flagged ones; one row per problem."""
    one = replace(gen_sampling, n=1)
    first = generator.generate([solve_messages(prompts.solve, p.problem) for p in batch], one)
    steps = [_steps(outs[0].text) for outs in first]
    judged = [i for i, s in enumerate(steps) if s and not _error(first[i])]
    crit = critique(critic, [(batch[i].problem, steps[i]) for i in judged], critic_sampling, prompts.critic)
    critiques: dict[int, list[Completion]] = dict(zip(judged, crit))
    verdicts = {i: chosen_critique([sample_row(c, len(steps[i])) for c in outs]) for i, outs in critiques.items()}
    flagged = [i for i, (v, _) in verdicts.items() if v is not None and v >= 0 and not _error(critiques[i])]
    revised = generator.generate(
        [revise_messages(prompts.revise, batch[i].problem, steps[i], verdicts[i][1], verdicts[i][0]) for i in flagged],
        one,
    )
    revisions = dict(zip(flagged, revised))
    rows = []
    for i, p in enumerate(batch):
        err = _error(first[i]) or _error(critiques.get(i, [])) or _error(revisions.get(i, []))
        rows.append(
            {"id": p.id, "error": err}
            if err
            else refine_row(p, first[i][0], steps[i], critiques.get(i, []), revisions.get(i, [None])[0], timeout_s)
        )
    return rows


def refine_row(
    problem: MathProblem,
    solution: Completion,
    steps: list[str],
    critiques: Sequence[Completion],
    revision: Completion | None,
    timeout_s: int,
) -> dict:
    """A ``refine`` row: the first solution, the critic's samples and verdict, the revision, both graded."""
    samples = [sample_row(c, len(steps)) for c in critiques]
    verdict, chosen = chosen_critique(samples)
    gold = parse_reference(problem.answer, timeout_s)
    before, _ = graded_sample(solution, gold, timeout_s)
    after = graded_sample(revision, gold, timeout_s)[0] if revision is not None else before
    return {
        "id": problem.id,
        "problem": problem.problem,
        "answer": problem.answer,
        "solution": solution.text,
        "steps": steps,
        "answer_before": before["answer"],
        "correct_before": before["correct"],
        "critiques": samples,
        "verdict": verdict,
        "critique": chosen,
        "revision": revision.text if revision is not None else None,
        "answer_after": after["answer"],
        "correct_after": after["correct"],
    }


def refine_metrics(rows: Sequence[dict]) -> dict[str, Any]:
    """Accuracy before and after revision; how often the critic flagged a step (overall, on wrong and on
    right first solutions); wrong -> right and right -> wrong changes; the critic's parse rate."""
    wrong = [r for r in rows if not r["correct_before"]]
    right = [r for r in rows if r["correct_before"]]
    samples = [s for r in rows for s in r["critiques"]]

    def flagged(r: dict) -> bool:
        return r["verdict"] is not None and r["verdict"] >= 0

    return {
        "problems": len(rows),
        "accuracy_before": _mean([float(r["correct_before"]) for r in rows]),
        "accuracy": _mean([float(r["correct_after"]) for r in rows]),
        "revised_rate": _mean([float(flagged(r)) for r in rows]),
        "flag_rate_on_wrong": _mean([float(flagged(r)) for r in wrong]),
        "flag_rate_on_right": _mean([float(flagged(r)) for r in right]),
        "wrong_to_right": sum(1 for r in wrong if r["correct_after"]),
        "right_to_wrong": sum(1 for r in right if not r["correct_after"]),
        "critic_parse_rate": _mean([float(s["verdict"] is not None) for s in samples]),
    }


# ---------------------------------------------------------------------------------------------------
# verify-vote: n solutions, the critic judges each, vote over the accepted ones


def verify_step(
    generator: Generator,
    critic: Generator,
    batch: list[MathProblem],
    gen_sampling: SamplingConfig,
    critic_sampling: SamplingConfig,
    prompts: Prompts,
    ks: Sequence[int],
    timeout_s: int,
) -> list[dict]:
    """Sample ``gen_sampling.n`` solutions per problem, critique each, vote; one row per problem."""
    sols = generator.generate([solve_messages(prompts.solve, p.problem) for p in batch], gen_sampling)
    pairs = [(i, j) for i, outs in enumerate(sols) for j, c in enumerate(outs) if _steps(c.text) and not _error(outs)]
    crit = critique(
        critic, [(batch[i].problem, _steps(sols[i][j].text)) for i, j in pairs], critic_sampling, prompts.critic
    )
    judged: dict[tuple[int, int], list[Completion]] = dict(zip(pairs, crit))
    rows = []
    for i, p in enumerate(batch):
        outs = [judged.get((i, j), []) for j in range(len(sols[i]))]
        err = _error(sols[i]) or next((e for o in outs if (e := _error(o))), None)
        rows.append({"id": p.id, "error": err} if err else verify_row(p, sols[i], outs, ks, timeout_s))
    return rows


def verify_row(
    problem: MathProblem,
    solutions: Sequence[Completion],
    critiques: Sequence[Sequence[Completion]],
    ks: Sequence[int],
    timeout_s: int,
) -> dict:
    """A ``verify-vote`` row. A solution is accepted when the critic's majority verdict is -1 (no wrong
    step); a solution without steps or without a parsed verdict is rejected. For each k, over the first k
    solutions: the plain majority answer, and the majority among accepted ones — falling back to the
    plain majority when the critic accepts none (``fallback``)."""
    gold = parse_reference(problem.answer, timeout_s)
    graded = [graded_sample(c, gold, timeout_s) for c in solutions]
    samples, parsed = [g[0] for g in graded], [g[1] for g in graded]
    for sample, outs in zip(samples, critiques):
        crit = [sample_row(c, len(_steps(sample["text"]))) for c in outs]
        sample["verdict"], sample["critique"] = chosen_critique(crit)
        sample["critic_verdicts"] = [c["verdict"] for c in crit]
        sample["accepted"] = sample["verdict"] == -1
    votes = {}
    for k in ks:
        plain = vote(parsed[:k], timeout_s=timeout_s).winner
        accepted = [s["accepted"] for s in samples[:k]]
        verified = vote(parsed[:k], accepted, timeout_s).winner if any(accepted) else None
        fallback = verified is None
        winner = plain if fallback else verified
        votes[str(k)] = {
            "majority_correct": plain is not None and samples[plain]["correct"],
            "verified_correct": winner is not None and samples[winner]["correct"],
            "fallback": fallback,
        }
    return {
        "id": problem.id,
        "problem": problem.problem,
        "answer": problem.answer,
        "solutions": samples,
        "votes": votes,
    }


def verify_metrics(rows: Sequence[dict], ks: Sequence[int]) -> dict[str, Any]:
    """Per k: verified-vote ``accuracy``, plain ``majority_accuracy``, ``fallback_rate``; overall (all n
    solutions): pass@n, mean solution accuracy, acceptance rate, precision of acceptance (accepted and
    correct / accepted), recall (accepted and correct / correct), critic parse rate."""
    sols = [s for r in rows for s in r["solutions"]]
    accepted = [s for s in sols if s["accepted"]]
    correct = [s for s in sols if s["correct"]]
    verdicts = [v for s in sols for v in s["critic_verdicts"]]
    maj = {
        str(k): {
            "accuracy": _mean([float(r["votes"][str(k)]["verified_correct"]) for r in rows]),
            "majority_accuracy": _mean([float(r["votes"][str(k)]["majority_correct"]) for r in rows]),
            "fallback_rate": _mean([float(r["votes"][str(k)]["fallback"]) for r in rows]),
        }
        for k in ks
    }
    top = maj[str(max(ks))] if ks else {}
    return {
        "problems": len(rows),
        "solutions_per_problem": min((len(r["solutions"]) for r in rows), default=0),
        "accuracy": top.get("accuracy"),
        "majority_accuracy": top.get("majority_accuracy"),
        "fallback_rate": top.get("fallback_rate"),
        "pass@n": _mean([float(any(s["correct"] for s in r["solutions"])) for r in rows]),
        "solution_accuracy": _mean([float(s["correct"]) for s in sols]),
        "acceptance_rate": _mean([float(s["accepted"]) for s in sols]),
        "acceptance_precision": _mean([float(s["correct"]) for s in accepted]),
        "acceptance_recall": _mean([float(s["accepted"]) for s in correct]),
        "critic_parse_rate": _mean([float(v is not None) for v in verdicts]),
        "maj": maj,
    }


def run_problem_sets(
    problem_sets: dict[str, list[MathProblem]],
    folder: Path,
    batch_size: int,
    step: Callable[[list[MathProblem]], list[dict]],
    metrics: Callable[[list[dict]], dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """For every problem set: ``step`` over the problems ``<folder>/<set>.jsonl`` does not hold yet,
    ``batch_size`` at a time (appended per batch, so a rerun resumes), then ``metrics`` over the set's rows."""
    per_set = {}
    for name, problems in problem_sets.items():
        store = ResultStore(folder / f"{name}.jsonl")
        run_pending(problems, lambda p: p.id, store, batch_size, step, desc=name)
        done = {p.id for p in problems}
        per_set[name] = metrics([r for r in store.rows() if r["id"] in done])
    return per_set
