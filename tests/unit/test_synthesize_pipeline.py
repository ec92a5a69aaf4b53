"""``deepcritic synthesize`` end to end on a scripted teacher: stages, mix, filters, assembly, resume.

The scripted teacher reads a machine-readable header from test templates (overridable by path, as a user
would) and answers with judgments chosen per problem, so every path of the pipeline is exercised."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from deepcritic.chat_data import messages_example
from deepcritic.config import SynthesizeConfig
from deepcritic.critique import parse_critique
from deepcritic.data.records import StepRecord
from deepcritic.errors import DeepcriticError
from deepcritic.recipes.synthesize import Templates, synthesize
from tests.helpers.datagen_fakes import Crash, ScriptedGenerator, field

HEADER = "STAGE={stage} STEP={{step}} PROBLEM={{problem}}\n{{solution}}\n{{step_text}}"
TEMPLATES = {
    "initial": HEADER.format(stage="initial"),
    "in_depth": HEADER.format(stage="in_depth") + "\n{initial}",
    "merge": HEADER.format(stage="merge") + "\n{initial}\n{in_depth}",
}

RECORDS = [
    StepRecord("A", "t", "pa", ["a1", "a2", "a3"], 1),  # wrong at step 2: always in the mix, kept
    StepRecord("B", "t", "pb", ["b1", "b2"], -1),  # correct, initial errs at step 2: correct_erred, kept
    StepRecord("C", "t", "pc", ["c1"], -1),  # correct, initial right: extra candidate
    StepRecord("D", "t", "pd", ["d1", "d2"], -1),  # correct, initial right: extra candidate
    StepRecord("E", "t", "pe", ["e1", "e2"], 0),  # in-depth never agrees: dropped
    StepRecord("F", "t", "pf", ["f1"], -1),  # initial unparseable (erred), merge has a stray box: dropped
    StepRecord("G", "t", "pg", ["g1", "g2"], 0),  # merge body holds a final-answer line: dropped
]
LABELS = {r.problem: r.label for r in RECORDS}


def teacher_reply(text: str, sample: int) -> str:
    stage, step, problem = field(text, "STAGE"), int(field(text, "STEP")) - 1, field(text, "PROBLEM")
    right = -1 if step == LABELS[problem] else 1
    if stage == "initial":
        if problem == "pb" and step == 1:
            return "Step 2 looks off.\n\nJudgment: \\boxed{-1}"
        if problem == "pf":
            return "garbled output with no judgment"
        return f"Initial look at step {step + 1}.\n\\boxed{{{right}}}"
    if stage == "in_depth":
        if problem == "pe" or (problem == "pb" and sample == 0):
            return f"Second look disagrees.\n\\boxed{{{-right}}}"
        return f"Second look at step {step + 1} from another angle.\n\\boxed{{{right}}}"
    if problem == "pf":
        return f"Merged, citing \\boxed{{1}} inline.\n\\boxed{{{right}}}"
    if problem == "pg":
        return f"Merged.\n**Answer**: \\boxed{{1}}\n\\boxed{{{right}}}"
    body = f"Step {step + 1}: merged critique of step {step + 1}; checking again, it holds."
    return f"{body}\n\n**Judgment**: \\boxed{{{right}}}"


@pytest.fixture
def cfg(tmp_path) -> SynthesizeConfig:
    paths = {}
    for stage, text in TEMPLATES.items():
        paths[stage] = tmp_path / f"{stage}.txt"
        paths[stage].write_text(text, encoding="utf-8")
    base = SynthesizeConfig()
    return replace(
        base,
        initial_template=str(paths["initial"]),
        in_depth_template=str(paths["in_depth"]),
        merge_template=str(paths["merge"]),
        in_depth_samples=2,
        merge_samples=1,
        extra_correct=1,
        batch_size=3,
        seed=0,
    )


def _run(cfg, out: Path, teacher) -> dict:
    return synthesize(cfg, RECORDS, teacher, Templates.load(cfg), out)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_pipeline_keeps_agreeing_records_and_assembles_protocol_critiques(cfg, tmp_path):
    out = tmp_path / "run"
    summary = _run(cfg, out, ScriptedGenerator(teacher_reply, name="scripted-teacher"))
    rows = _lines(out / "sft.jsonl")
    ids = [r["id"] for r in rows]
    extra = "C" if "C" in ids else "D"
    assert ids == ["A", "B", extra]  # input order; E, F, G dropped, one extra correct
    for row in rows:
        example = messages_example(row, "messages", "sft.jsonl", row["id"])  # loads in the SFT loader
        target = example["completion"][0]["content"]
        assert parse_critique(target).first_error == row["label"]
        assert example["prompt"][0]["content"].startswith("You are checking a step-by-step solution")
        assert row["provenance"]["teacher"] == "scripted-teacher"
    a = rows[0]["messages"][1]["content"]
    assert a.startswith("Step 1: merged critique of step 1") and "Step 2: merged critique of step 2" in a
    assert "Step 3" not in a.split("**Answer**")[0]  # the protocol stops at the first wrong step
    assert a.endswith("**Answer**: \\boxed{2}") and "**Judgment**" not in a
    b = rows[1]
    assert b["mix"] == "correct_erred" and b["provenance"]["steps"][1]["in_depth_judgments"] == [-1, 1]
    assert summary["mix"] == {"correct_erred": 2, "correct_extra": 1, "not_selected": 1, "wrong": 3}
    assert summary["outcomes"] == {"in_depth_disagreed": 1, "kept": 3, "merge_rejected": 2}
    assert summary["kept"] == {"total": 3, "with_error": 1, "without_error": 2}
    assert summary["stages"]["initial"]["steps"] == 2 + 2 + 1 + 2 + 1 + 1 + 1
    assert summary["stages"]["initial"]["parsed"] == 9  # F's initial critique has no judgment
    assert json.loads((out / "summary.json").read_text()) == summary


def test_extra_correct_choice_is_stable_under_input_order(cfg, tmp_path):
    first = _run(cfg, tmp_path / "a", ScriptedGenerator(teacher_reply))
    reordered = synthesize(
        cfg, list(reversed(RECORDS)), ScriptedGenerator(teacher_reply), Templates.load(cfg), tmp_path / "b"
    )
    pick = lambda d: {r["id"] for r in _lines(d / "sft.jsonl") if r["mix"] == "correct_extra"}  # noqa: E731
    assert pick(tmp_path / "a") == pick(tmp_path / "b") and first["kept"] == reordered["kept"]


def test_rerun_after_a_crash_finishes_the_rest_and_duplicates_nothing(cfg, tmp_path):
    clean = tmp_path / "clean"
    _run(cfg, clean, ScriptedGenerator(teacher_reply))
    out = tmp_path / "crashed"
    with pytest.raises(Crash):
        _run(
            cfg, out, ScriptedGenerator(teacher_reply, crash_after=5)
        )  # dies inside stage 2 (after 4 initial batches and 1 more)
    partial = _lines(out / "stages.jsonl")
    assert 0 < len(partial) < len(_lines(clean / "stages.jsonl"))
    again = ScriptedGenerator(teacher_reply)
    _run(cfg, out, again)
    keys = [r["id"] for r in _lines(out / "stages.jsonl")]
    assert len(keys) == len(set(keys)) == len(_lines(clean / "stages.jsonl"))  # each stage result exactly once
    assert len(again.prompts) == len(keys) - len(partial)  # only the missing items were sent
    assert _lines(out / "sft.jsonl") == _lines(clean / "sft.jsonl")
    third = ScriptedGenerator(teacher_reply)
    _run(cfg, out, third)
    assert third.prompts == [] and _lines(out / "sft.jsonl") == _lines(clean / "sft.jsonl")


def test_failed_requests_are_retried_by_the_next_run(cfg, tmp_path):
    out = tmp_path / "run"
    first = _run(cfg, out, ScriptedGenerator(teacher_reply, error_on="PROBLEM=pa"))
    assert "A" not in {r["id"] for r in _lines(out / "sft.jsonl")}
    assert first["stages"]["initial"]["run"]["failed"] == 2
    second = _run(cfg, out, ScriptedGenerator(teacher_reply))
    assert [r["id"] for r in _lines(out / "sft.jsonl")][0] == "A" and second["kept"]["with_error"] == 1


def test_unparseable_teacher_keeps_nothing_and_counts_it(cfg, tmp_path):
    summary = _run(cfg, tmp_path / "run", ScriptedGenerator(lambda text, j: "no judgment \\boxed{"))
    assert summary["kept"]["total"] == 0 and summary["stages"]["initial"]["parsed"] == 0
    assert summary["stages"]["merge"]["steps"] == 0  # no record reached stage 3
    assert (tmp_path / "run" / "sft.jsonl").read_text() == ""


def test_resuming_with_other_settings_is_refused_but_selection_settings_may_change(cfg, tmp_path):
    out = tmp_path / "run"
    _run(cfg, out, ScriptedGenerator(teacher_reply))
    with pytest.raises(DeepcriticError, match=r"in_depth_samples differ"):
        _run(replace(cfg, in_depth_samples=3), out, ScriptedGenerator(teacher_reply))
    more = _run(replace(cfg, extra_correct=-1), out, ScriptedGenerator(teacher_reply))  # only the mix changes
    assert more["mix"]["correct_extra"] == 2 and more["kept"]["total"] == 4
