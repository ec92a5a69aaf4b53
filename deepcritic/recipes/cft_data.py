"""``deepcritic cft-data``: Critique Fine-Tuning samples (question + candidate solution -> critique -> right/wrong).

Reads top to bottom: get the candidates, either from a file of (question, solution) pairs
(``candidates.source=file``) or by letting the generator sample ``generator.sampling.n`` solutions per
problem (``candidates.source=generate``, graded with math-verify); open the teacher; it critiques each
candidate (``teacher.sampling.n`` samples) ending in ``Conclusion: right|wrong [END]`` (sampling stops at
``[END]``, which the written row keeps, as WebInstruct-CFT's rows do); the first sample with a
conclusion, agreeing with math-verify when a reference answer is known and ``require_agreement`` is on,
is kept; rows are written in the WebInstruct-CFT form (instruction, input, output) that
``deepcritic cft chat=webinstruct_cft chat.path=<output>`` trains on.

Resumable: solutions and critiques are appended to ``stages.jsonl`` keyed by (id, stage) and read back
at start; ``cft.jsonl`` and ``summary.json`` are rewritten at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepcritic import hub
from deepcritic.cards import DatasetInfo
from deepcritic.config import CFTDataConfig
from deepcritic.critique import fill, load_template
from deepcritic.data.problems import SetProblem, load_problem_sets
from deepcritic.datagen.cft import (
    Candidate,
    agrees,
    cft_row,
    normalized_critique,
    pick,
    read_candidates,
    read_conclusion,
)
from deepcritic.datagen.labeling import GeneratorPrompts
from deepcritic.datagen.stages import (
    guard_resume,
    open_role,
    role_identity,
    run_stage,
    sha256_text,
    solve_stage,
    solved_samples,
    stage_key,
    write_summary,
)
from deepcritic.generation import Completion, Generator
from deepcritic.runtime import run_dir
from deepcritic.store import ResultStore, write_rows


def main(cfg: CFTDataConfig) -> dict:
    out_dir = run_dir()
    template = load_template("cft_critique", cfg.critique_template)
    generate = cfg.candidates.source == "generate"
    _guard(cfg, template, generate, out_dir)  # before the models load: a refused resume should fail fast
    hub.check_dataset_push(cfg.hub)  # and so should a push without a token
    if not generate:
        candidates = read_candidates(cfg.candidates, cfg.limit, cfg.answer_timeout_s)
        teacher = open_role(cfg.teacher, out_dir, "teacher")
        return cft_data(cfg, teacher, template, out_dir, candidates=candidates)
    problems, _ = load_problem_sets(cfg.problems, cfg.limit, cfg.reference)
    generator = open_role(cfg.generator, out_dir, "generator")
    teacher = open_role(cfg.teacher, out_dir, "teacher")
    return cft_data(cfg, teacher, template, out_dir, problems=problems, generator=generator)


def _guard(cfg: CFTDataConfig, template: str, generate: bool, out_dir: Path) -> None:
    """Stored solutions and critiques depend on the models, their sampling, the prompts and the grading."""
    solve = load_template("solve", cfg.solve_template) if generate else ""
    guard_resume(
        out_dir,
        {
            "teacher": role_identity(cfg.teacher),
            "critique_template": sha256_text(template),
            "generator": role_identity(cfg.generator) if generate else None,
            "solve_template": sha256_text(solve) if generate else None,
            "reference": cfg.reference,
        },
    )


def cft_data(
    cfg: CFTDataConfig,
    teacher: Generator,
    template: str,
    out_dir: Path,
    candidates: list[Candidate] | None = None,
    problems: list[SetProblem] | None = None,
    generator: Generator | None = None,
) -> dict:
    """Sample candidates (when given problems), critique them, keep, write (models passed in: tests script them)."""
    generate = problems is not None and generator is not None
    _guard(cfg, template, generate, out_dir)
    store = ResultStore(out_dir / "stages.jsonl")
    runs: dict[str, Any] = {}
    if generate:
        solve = load_template("solve", cfg.solve_template)

        runs["solve"] = solve_stage(
            store,
            problems,
            generator,
            cfg.generator.sampling,
            GeneratorPrompts(solve_template=solve),
            cfg.batch_size,
            cfg.answer_timeout_s,
        )
        candidates = _sampled_candidates(problems, store.by_id())
    candidates = candidates or []

    def critique_row(c: Candidate, outs: list[Completion]) -> dict:
        texts = [o.text for o in outs]
        return {
            "candidate": c.id,
            "stage": "critique",
            "texts": texts,
            "conclusions": [read_conclusion(t) for t in texts],
        }

    runs["critique"] = run_stage(
        store,
        "critique",
        candidates,
        lambda c: stage_key(c.id, "critique", 0),
        lambda c: [{"role": "user", "content": fill(template, problem=c.question, solution=c.solution)}],
        critique_row,
        teacher,
        cfg.teacher.sampling,
        cfg.batch_size,
    )
    rows = store.by_id()
    out_rows = [row for c in candidates if (row := _output_row(cfg, c, rows, teacher.name, generator)) is not None]
    output = Path(cfg.output) if cfg.output else out_dir / "cft.jsonl"
    write_rows(out_rows, output)
    summary = _summary(cfg, candidates, rows, out_rows, runs, teacher.name, output)
    write_summary(out_dir, summary, "deepcritic cft-data")
    hub.publish_rows(cfg.hub, out_rows, _dataset_info(cfg, summary), out_dir, summary)
    return summary


def _dataset_info(cfg: CFTDataConfig, summary: dict[str, Any]) -> DatasetInfo:
    """What the dataset card says: the teacher, where the candidates came from, the kept rows, the settings."""
    kept, c = summary["kept"], cfg.candidates
    where = c.path if c.source == "file" else "sampled on " + ", ".join(f"`{name}`" for name in cfg.problems)
    return DatasetInfo(
        recipe="cft-data",
        title="deepcritic Critique Fine-Tuning rows (WebInstruct-CFT form)",
        source=f"critiques by the teacher `{summary['teacher']}` of candidate solutions ({where})",
        rows=kept["total"],
        balance={"concluded right": kept["right"], "concluded wrong": kept["wrong"]},
        settings={**summary["settings"], "reference": cfg.reference, "candidates": summary["candidates"]},
    )


def _sampled_candidates(problems: list[SetProblem], rows: dict[str, dict]) -> list[Candidate]:
    """One candidate per sampled solution with text (ids ``<problem id>#<k>``), graded against the reference."""
    out = []
    for p in problems:
        for k, s in enumerate(solved_samples(rows, p.id)):
            if s["text"].strip():
                out.append(Candidate(f"{p.id}#{k}", p.problem, s["text"], p.answer, bool(s["correct"])))
    return out


def _output_row(
    cfg: CFTDataConfig, c: Candidate, rows: dict[str, dict], teacher_name: str, generator: Generator | None
) -> dict | None:
    row = rows.get(stage_key(c.id, "critique", 0))
    chosen = None if row is None else pick(row["texts"], c.correct, cfg.require_agreement)
    if chosen is None:
        return None
    text = row["texts"][chosen]
    meta = {
        "teacher": teacher_name,
        "generator": generator.name if generator else None,
        "conclusion": read_conclusion(text),
        "agrees_with_reference": agrees(read_conclusion(text), c.correct),
    }
    return cft_row(cfg.instruction, c, normalized_critique(text) or "", meta)


def _summary(
    cfg: CFTDataConfig,
    candidates: list[Candidate],
    rows: dict[str, dict],
    out_rows: list[dict],
    runs: dict[str, Any],
    teacher_name: str,
    output: Path,
) -> dict[str, Any]:
    critiqued = [r for c in candidates if (r := rows.get(stage_key(c.id, "critique", 0))) is not None]
    firsts = [
        (r["conclusions"][0] if r["conclusions"] else None, c.correct)
        for c in candidates
        if (r := rows.get(stage_key(c.id, "critique", 0))) is not None
    ]
    judged = [agrees(conclusion, correct) for conclusion, correct in firsts]
    conclusions = [row["meta"]["conclusion"] for row in out_rows]
    return {
        "recipe": "cft-data",
        "teacher": teacher_name,
        "output": str(output),
        "source": cfg.candidates.source,
        "candidates": {
            "total": len(candidates),
            "with_reference": sum(c.correct is not None for c in candidates),
            "correct": sum(c.correct is True for c in candidates),
        },
        "critiques": {
            "candidates_critiqued": len(critiqued),
            "samples": sum(len(r["texts"]) for r in critiqued),
            "with_conclusion": sum(c is not None for r in critiqued for c in r["conclusions"]),
            "first_sample_agreement": round(
                sum(j is True for j in judged) / len([j for j in judged if j is not None]), 4
            )
            if any(j is not None for j in judged)
            else None,
        },
        "kept": {"total": len(out_rows), "right": conclusions.count("right"), "wrong": conclusions.count("wrong")},
        "stages": runs,
        "settings": {"require_agreement": cfg.require_agreement, "samples_per_candidate": cfg.teacher.sampling.n},
    }
