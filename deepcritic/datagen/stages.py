"""Resumable generation stages and the plumbing the data-generation recipes share.

A *stage* sends one prompt per item to a generator and stores one row per item, keyed by the item
(e.g. ``[record id, stage, step]``), in an append-only JSONL file (:class:`ResultStore`): rows are
flushed after every batch, a rerun reads the file back and sends only the items that have no row, and
an item whose request failed is not stored (the next run retries it). Final outputs are derived from
the stored rows and written whole, atomically, so an item appears in them exactly once however often
the run was interrupted.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TypeVar

from deepcritic.config import RoleConfig, SamplingConfig
from deepcritic.datagen.labeling import GeneratorPrompts, graded_solution
from deepcritic.errors import DeepcriticError
from deepcritic.generation import Completion, Generator, Prompt, shared_generator
from deepcritic.modeling import synthetic_tiny_model
from deepcritic.store import ResultStore, run_pending, write_json

log = logging.getLogger(__name__)

T = TypeVar("T")


def run_stage(
    store: ResultStore,
    name: str,
    items: Sequence[T],
    key: Callable[[T], str],
    prompt: Callable[[T], Prompt],
    row: Callable[[T, list[Completion]], dict[str, Any]],
    generator: Generator,
    sampling: SamplingConfig,
    batch_size: int,
) -> dict[str, Any]:
    """Generate for the items of ``items`` that ``store`` has no row for; returns the stage's counts.

    ``prompt(item)`` is built per batch (never for all items at once); ``row(item, completions)`` turns
    the completions into the stored fields (the key is added as ``id``). A tqdm bar shows counts, rate and
    ETA. Counts: ``items``, ``done_before`` (rows from an earlier run), ``done``, ``failed``, ``seconds``,
    ``items_per_s``.
    """

    def step(batch: list[T]) -> list[dict[str, Any]]:
        outputs = generator.generate([prompt(it) for it in batch], sampling)
        return [_row(key(it), it, outs, row) for it, outs in zip(batch, outputs)]

    start = time.monotonic()
    counts: dict[str, Any] = {"items": len(items), **run_pending(items, key, store, batch_size, step, desc=name)}
    counts["seconds"] = round(time.monotonic() - start, 2)
    counts["items_per_s"] = (
        round(counts["done"] / counts["seconds"], 3) if counts["done"] and counts["seconds"] else None
    )
    return counts


def solve_stage(
    store: ResultStore,
    problems: Sequence[Any],
    generator: Generator,
    sampling: SamplingConfig,
    prompts: GeneratorPrompts,
    batch_size: int,
    timeout_s: int,
    boxed_only: bool = False,
) -> dict[str, Any]:
    """Stage ``solve``: ``sampling.n`` solutions to every problem (a ``SetProblem``), prompted by ``prompts``
    (``GeneratorPrompts(solve_template=...)``: one user turn), each split into steps and graded against the
    problem's reference answer with math-verify (``label`` and ``cft-data`` start with it)."""

    def row(p: Any, outs: list[Completion]) -> dict[str, Any]:
        samples = []
        for c in outs:
            text = prompts.solution_text(c.text)
            samples.append(graded_solution(text, c.finish_reason, p.answer, timeout_s, boxed_only, prompts.steps(text)))
        return {"problem": p.id, "stage": "solve", "samples": samples}

    return run_stage(
        store,
        "solve",
        problems,
        lambda p: stage_key(p.id, "solve", 0),
        lambda p: prompts.solve(p.problem),
        row,
        generator,
        sampling,
        batch_size,
    )


def solved_samples(rows: dict[str, dict[str, Any]], problem_id: str) -> list[dict[str, Any]]:
    """The graded solutions that :func:`solve_stage` stored for a problem ([] when it has none yet)."""
    row = rows.get(stage_key(problem_id, "solve", 0))
    return row["samples"] if row else []


def _row(key: str, item: T, outs: list[Completion], row: Callable[[T, list[Completion]], dict]) -> dict[str, Any]:
    error = next((c.error or "request failed" for c in outs if c.finish_reason == "error"), None)
    return {"id": key, "error": error} if error else {"id": key, **row(item, outs)}


def stage_key(record_id: str, stage: str, step: int) -> str:
    """The key of one stage result: unambiguous for any record id (a JSON list)."""
    return json.dumps([record_id, stage, step], ensure_ascii=False)


def guard_resume(out_dir: Path, settings: dict[str, Any]) -> None:
    """Refuse to resume a run directory whose stored results were made with other ``settings``.

    ``settings`` are what the stored rows depend on (model, sampling, templates, sample counts). The first
    run writes them to ``<out_dir>/resume_settings.json``; a later run in the same directory must match, so
    that results of two setups never mix in one output. Settings that only change what is selected (limits,
    mix sizes, batch size) are not part of it and may change between runs.
    """
    path = out_dir / "resume_settings.json"
    current = json.loads(json.dumps(settings, sort_keys=True, default=str))
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
        changed = sorted(k for k in set(stored) | set(current) if stored.get(k) != current.get(k))
        if changed:
            raise DeepcriticError(
                f"{out_dir} holds results made with other settings ({', '.join(changed)} differ from "
                f"{path.name}): rerun with the same settings to resume, or use a new run dir (hydra.run.dir=...)"
            )
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, current, sort_keys=True)


def sha256_text(text: str) -> str:
    """SHA-256 of a text (a prompt template), to record and compare which one produced a result."""
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def role_identity(role: RoleConfig) -> dict[str, Any]:
    """What a role's outputs depend on: the model (the served name for a server) and its sampling."""
    if role.rollout.backend == "openai":
        model = role.rollout.openai.model or role.model.name_or_path
    elif role.model.from_scratch:
        model = "tiny:" + json.dumps(asdict(role.model.tiny), sort_keys=True)
        model += f"@{role.model.architecture}" if role.model.architecture else ""
    else:
        model = role.model.name_or_path
    return {"model": model, "sampling": asdict(role.sampling)}


# ---------------------------------------------------------------------------------------------------
# Roles


def open_role(role: RoleConfig, out_dir: Path, role_name: str) -> Generator:
    """The generator of a role (teacher, generator), shared with any other role on the same model and backend.

    ``model.from_scratch=true`` builds the tiny random model in ``<out_dir>/tiny_model`` (CPU demos and
    tests: the pipeline runs, the texts are noise). An OpenAI-compatible server needs no local model.
    """
    model = role.model
    if model.from_scratch and role.rollout.backend != "openai":
        path = synthetic_tiny_model(
            model.tiny, out_dir / "tiny_model", task_seed=model.tiny.seed, architecture=model.architecture
        )
        log.warning(
            "%s: model.from_scratch=true, so the %s is a random tiny model (%s): its outputs are noise. "
            "Set %s.model.name_or_path=<model> %s.model.from_scratch=false for real data.",
            role_name,
            role_name,
            path,
            role_name,
            role_name,
        )
        model = replace(model, name_or_path=str(path), tokenizer=None, from_scratch=False)
    return shared_generator(model, role.rollout)


# ---------------------------------------------------------------------------------------------------
# Outputs


def write_summary(out_dir: Path, summary: dict[str, Any], title: str) -> Path:
    """Write ``summary.json`` in ``out_dir`` and print it (rich, when stdout is a terminal: colours)."""
    path = write_json(out_dir / "summary.json", summary)
    try:
        from rich.console import Console

        console = Console(soft_wrap=True)
        console.rule(title)
        console.print_json(data=summary)
    except Exception:  # rich missing: plain JSON says the same
        print(title)
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    print(f"summary: {path}")
    return path


def sampling_with(sampling: SamplingConfig, **changes: Any) -> SamplingConfig:
    """A copy of ``sampling`` with some fields changed (e.g. ``n``)."""
    return replace(sampling, **{k: v for k, v in changes.items() if v is not None})
