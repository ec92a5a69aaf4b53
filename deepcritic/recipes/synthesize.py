"""``deepcritic synthesize``: a teacher writes deliberate seed critiques of step-labeled records for SFT.

Reads top to bottom: load the records (PRM800K by default, any ``data`` source) and the stage templates;
open the teacher; stage 1 critiques every step up to the first wrong one; the mix picks the records for
stages 2 and 3 (every record with a wrong step, correct ones whose initial critiques erred, and
``extra_correct`` others); stage 2 samples in-depth critiques and keeps the first that agrees with the
label; stage 3 merges the two per step (for records whose every step has an agreeing in-depth
critique); the merged critiques are assembled in the protocol's format and written as chats
(``messages``: user = the critic prompt, assistant = the critique) with provenance beside them.

Resumable: every stage result is appended to ``stages.jsonl`` keyed by (record id, stage, step) and read
back at start, so a rerun in the same run dir sends only what is missing. ``sft.jsonl`` and
``summary.json`` are rewritten whole at the end. The logic is in ``deepcritic/critique/synthesis.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepcritic import hub
from deepcritic.cards import DatasetInfo, used_settings
from deepcritic.config import SynthesizeConfig
from deepcritic.critique import build_critic_messages, load_template
from deepcritic.critique.synthesis import (
    Candidate,
    assemble,
    choose,
    critique_body,
    critique_span,
    expected_judgment,
    initial_erred,
    judged_sample,
    mix,
    outcome,
    stage_messages,
    stage_stats,
    template_info,
)
from deepcritic.data import load_records
from deepcritic.data.records import StepRecord
from deepcritic.datagen.stages import (
    guard_resume,
    open_role,
    role_identity,
    run_stage,
    sampling_with,
    stage_key,
    write_summary,
)
from deepcritic.generation import Completion, Generator
from deepcritic.runtime import run_dir
from deepcritic.store import ResultStore, write_rows

Item = tuple[StepRecord, int]  # (record, 0-based step)


@dataclass(frozen=True)
class Templates:
    """Template texts of the three stages and of the critic prompt, with their provenance."""

    initial: str
    in_depth: str
    merge: str
    critic: str
    info: dict[str, dict[str, str]]

    @classmethod
    def load(cls, cfg: SynthesizeConfig) -> Templates:
        paths = {"initial": cfg.initial_template, "in_depth": cfg.in_depth_template, "merge": cfg.merge_template}
        texts = {stage: load_template(stage, path) for stage, path in paths.items()}
        texts["critic"] = load_template("critic", cfg.critic_template)
        info = {stage: template_info(stage, paths[stage], texts[stage]) for stage in paths}
        info["critic"] = template_info("critic.txt", cfg.critic_template, texts["critic"])
        return cls(**texts, info=info)


def main(cfg: SynthesizeConfig) -> dict:
    out_dir = run_dir()
    records = load_records(cfg.data, rejects_default=out_dir / "rejects.jsonl").records
    templates = Templates.load(cfg)
    _guard(cfg, templates, out_dir)  # before the teacher loads: a refused resume should fail fast
    hub.check_dataset_push(cfg.hub)  # and so should a push without a token
    teacher = open_role(cfg.teacher, out_dir, "teacher")
    return synthesize(cfg, records, teacher, templates, out_dir)


def _guard(cfg: SynthesizeConfig, templates: Templates, out_dir: Path) -> None:
    """Stored stage results depend on the teacher, its sampling, the stage templates and sample counts."""
    guard_resume(
        out_dir,
        {
            "teacher": role_identity(cfg.teacher),
            "in_depth_samples": cfg.in_depth_samples,
            "merge_samples": cfg.merge_samples,
            "templates": {k: v["sha256"] for k, v in templates.info.items() if k != "critic"},
        },
    )


def synthesize(
    cfg: SynthesizeConfig, records: list[StepRecord], teacher: Generator, templates: Templates, out_dir: Path
) -> dict:
    """The three stages, the mix, assembly and the summary (the teacher is passed in: tests script one)."""
    _guard(cfg, templates, out_dir)
    store = ResultStore(out_dir / "stages.jsonl")
    span = {r.id: critique_span(r.label, len(r.steps)) for r in records}
    runs: dict[str, Any] = {}

    items = [(r, i) for r in records for i in range(span[r.id])]
    runs["initial"] = _stage(store, "initial", items, teacher, cfg, templates.initial, 1, {})
    rows = store.by_id()
    reasons = mix(_candidates(records, span, rows), cfg.extra_correct, cfg.seed)

    selected = [r for r in records if r.id in reasons]
    items = [(r, i) for r in selected for i in range(span[r.id])]
    runs["in_depth"] = _stage(store, "in_depth", items, teacher, cfg, templates.in_depth, cfg.in_depth_samples, rows)
    rows = store.by_id()

    agreed = [r for r in selected if _all_chosen(rows, r.id, "in_depth", span[r.id])]
    items = [(r, i) for r in agreed for i in range(span[r.id])]
    runs["merge"] = _stage(store, "merge", items, teacher, cfg, templates.merge, cfg.merge_samples, rows)
    rows = store.by_id()

    outcomes, sft_rows = _assemble_all(selected, span, rows, reasons, templates, teacher.name)
    output = Path(cfg.output) if cfg.output else out_dir / "sft.jsonl"
    write_rows(sft_rows, output)
    summary = _summary(cfg, records, span, rows, reasons, outcomes, sft_rows, runs, teacher.name, output)
    write_summary(out_dir, summary, "deepcritic synthesize")
    hub.publish_rows(cfg.hub, sft_rows, _dataset_info(cfg, summary), out_dir, summary)
    return summary


def _dataset_info(cfg: SynthesizeConfig, summary: dict[str, Any]) -> DatasetInfo:
    """What the dataset card says: the teacher and the records it critiqued, the kept chats, the settings."""
    d, kept = cfg.data, summary["kept"]
    return DatasetInfo(
        recipe="synthesize",
        title="deepcritic SFT critiques",
        source=f"critiques by the teacher `{summary['teacher']}` of `{d.source}` records ({d.path or d.hub_name})",
        rows=kept["total"],
        balance={"with a wrong step": kept["with_error"], "without": kept["without_error"]},
        settings={"data": used_settings(d), **summary["settings"], "records": summary["records"]},
    )


# ---------------------------------------------------------------------------------------------------
# Stages


def _stage(
    store: ResultStore,
    stage: str,
    items: list[Item],
    teacher: Generator,
    cfg: SynthesizeConfig,
    template: str,
    n: int,
    rows: dict[str, dict],
) -> dict[str, Any]:
    """Run one stage over ``items``; earlier stages' texts come from ``rows``."""

    def prompt(item: Item) -> list[dict[str, str]]:
        record, step = item
        return stage_messages(
            template,
            record.problem,
            record.steps,
            step,
            initial=_chosen_text(rows, record.id, "initial", step),
            in_depth=_chosen_text(rows, record.id, "in_depth", step),
        )

    def row(item: Item, outs: list[Completion]) -> dict[str, Any]:
        record, step = item
        expected = expected_judgment(step, record.label)
        samples = [judged_sample(c.text, c.finish_reason, c.num_tokens) for c in outs]
        return {
            "record": record.id,
            "stage": stage,
            "step": step,
            "expected": expected,
            "samples": samples,
            "chosen": choose(samples, expected, need_body=stage == "merge"),
        }

    key = lambda item: stage_key(item[0].id, stage, item[1])  # noqa: E731
    sampling = sampling_with(cfg.teacher.sampling, n=n)
    return run_stage(store, stage, items, key, prompt, row, teacher, sampling, cfg.batch_size)


def _row(rows: dict[str, dict], record_id: str, stage: str, step: int) -> dict | None:
    return rows.get(stage_key(record_id, stage, step))


def _chosen_text(rows: dict[str, dict], record_id: str, stage: str, step: int) -> str:
    """The kept sample of a stage (the initial critique: its only sample, agreeing or not)."""
    row = _row(rows, record_id, stage, step)
    if row is None:
        return ""
    index = 0 if stage == "initial" else row["chosen"]
    return row["samples"][index]["text"] if index is not None and row["samples"] else ""


def _all_chosen(rows: dict[str, dict], record_id: str, stage: str, span: int) -> bool:
    found = [_row(rows, record_id, stage, i) for i in range(span)]
    return all(r is not None and r["chosen"] is not None for r in found)


def _candidates(records: list[StepRecord], span: dict[str, int], rows: dict[str, dict]) -> list[Candidate]:
    """Records whose initial critiques are all stored (a failed request waits for the next run)."""
    out = []
    for r in records:
        found = [_row(rows, r.id, "initial", i) for i in range(span[r.id])]
        if all(found):
            out.append(Candidate(r.id, r.label, initial_erred([f["samples"][0]["judgment"] for f in found], r.label)))
    return out


# ---------------------------------------------------------------------------------------------------
# Assembly


def _assemble_all(
    selected: list[StepRecord],
    span: dict[str, int],
    rows: dict[str, dict],
    reasons: dict[str, str],
    templates: Templates,
    teacher_name: str,
) -> tuple[dict[str, str], list[dict]]:
    """Per selected record: its outcome, and the SFT row of each kept one (input order)."""
    outcomes, sft_rows = {}, []
    for r in selected:
        steps = range(span[r.id])
        result = outcome(
            span[r.id], [_row(rows, r.id, "in_depth", i) for i in steps], [_row(rows, r.id, "merge", i) for i in steps]
        )
        critique = None
        if result == "kept":
            bodies = [critique_body(_chosen_text(rows, r.id, "merge", i)) or "" for i in steps]
            critique = assemble(bodies, r.label)
            result = "kept" if critique is not None else "assembly_failed"
        outcomes[r.id] = result
        if critique is not None:
            sft_rows.append(_sft_row(r, critique, reasons[r.id], span[r.id], rows, templates, teacher_name))
    return outcomes, sft_rows


def _sft_row(
    record: StepRecord,
    critique: str,
    reason: str,
    span: int,
    rows: dict[str, dict],
    templates: Templates,
    teacher_name: str,
) -> dict[str, Any]:
    """A chat for ``deepcritic sft chat=messages``, provenance in a side field."""
    prompt = build_critic_messages(record.problem, record.steps, templates.critic)
    steps = [
        {
            "step": i + 1,
            "initial": _chosen_text(rows, record.id, "initial", i),
            "initial_judgment": _row(rows, record.id, "initial", i)["samples"][0]["judgment"],
            "in_depth": _chosen_text(rows, record.id, "in_depth", i),
            "in_depth_judgments": [s["judgment"] for s in _row(rows, record.id, "in_depth", i)["samples"]],
            "merge": _chosen_text(rows, record.id, "merge", i),
        }
        for i in range(span)
    ]
    return {
        "id": record.id,
        "source": record.source,
        "label": record.label,
        "mix": reason,
        "messages": [*prompt, {"role": "assistant", "content": critique}],
        "provenance": {"teacher": teacher_name, "templates": templates.info, "steps": steps},
    }


# ---------------------------------------------------------------------------------------------------
# Summary


def _summary(
    cfg: SynthesizeConfig,
    records: list[StepRecord],
    span: dict[str, int],
    rows: dict[str, dict],
    reasons: dict[str, str],
    outcomes: dict[str, str],
    sft_rows: list[dict],
    runs: dict[str, Any],
    teacher_name: str,
    output: Path,
) -> dict[str, Any]:
    by_stage = {
        stage: [r for r in rows.values() if r.get("stage") == stage and r["record"] in span]
        for stage in ("initial", "in_depth", "merge")
    }
    kept_error = sum(row["label"] >= 0 for row in sft_rows)
    judged = _candidates(records, span, rows)
    return {
        "recipe": "synthesize",
        "teacher": teacher_name,
        "output": str(output),
        "records": {
            "total": len(records),
            "with_error": sum(r.has_error for r in records),
            "without_error": sum(not r.has_error for r in records),
            "steps_to_critique": sum(span.values()),
        },
        "stages": {stage: {**stage_stats(by_stage[stage]), "run": runs[stage]} for stage in by_stage},
        "mix": {**_count(reasons.values()), "not_selected": len(records) - len(reasons)},
        "outcomes": _count(outcomes.values()),
        "kept": {"total": len(sft_rows), "with_error": kept_error, "without_error": len(sft_rows) - kept_error},
        "teacher_agreement": {
            "initial_steps": stage_stats(by_stage["initial"])["agreement"],
            "initial_records": _ratio(sum(not c.initial_erred for c in judged), len(judged)),
            "in_depth_samples": stage_stats(by_stage["in_depth"])["agreement"],
            "merge_samples": stage_stats(by_stage["merge"])["agreement"],
        },
        "settings": {
            "in_depth_samples": cfg.in_depth_samples,
            "merge_samples": cfg.merge_samples,
            "extra_correct": cfg.extra_correct,
            "seed": cfg.seed,
        },
    }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))
