"""``deepcritic label`` end to end on a scripted generator: sampling, selection, rollouts, estimates, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepcritic.config import LabelConfig, SamplingConfig
from deepcritic.critique import load_template
from deepcritic.data.problems import SetProblem
from deepcritic.data.records import record_from_dict
from deepcritic.recipes.label import label
from tests.helpers.datagen_fakes import Crash, ScriptedGenerator

PROBLEMS = [
    SetProblem("s/mixed", "s", "What is 2 + 3?", "5"),  # one right, one wrong, one empty sample: kept
    SetProblem("s/easy", "s", "What is 1 + 1?", "2"),  # every sample right: not kept
    SetProblem("s/hard", "s", "What is 7 * 8?", "56"),  # every sample wrong: not kept
]

SOLUTIONS = {
    "2 + 3": [
        "First, 2 + 3 = 5.\n\nSo the answer is \\boxed{5}.",  # right, 2 steps
        "First, 2 + 3 = 6.\n\nThen 6 is the sum.\n\nSo the answer is \\boxed{6}.",  # wrong from step 1
        "   ",  # no steps: unusable
        "First, 2 + 3 = 5.\n\nBut 5 + 1 = 7 is needed.\n\nSo the answer is \\boxed{7}.",
    ],  # wrong from step 2
    "1 + 1": ["1 + 1 = 2.\n\n\\boxed{2}"] * 4,
    "7 * 8": ["7 * 8 = 54.\n\n\\boxed{54}"] * 4,
}


def generator_reply(text: str, sample: int) -> str:
    problem = next(k for k in SOLUTIONS if k in text)
    if "Solution so far" not in text:
        return SOLUTIONS[problem][sample]
    prefix = text.split("## Solution so far")[1].split("## Your task")[0]
    if "= 6" in prefix or "7 is needed" in prefix:
        return "Hence \\boxed{6}."  # a wrong prefix never recovers
    return "Hence \\boxed{5}." if sample % 2 == 0 or "2 + 3 = 5" in prefix else "Hence \\boxed{4}."


def _cfg(**kw) -> LabelConfig:
    base = {
        "generator": LabelConfig().generator,
        "rollouts_per_step": 3,
        "num_correct": 1,
        "threshold": 0.0,
        "batch_size": 2,
    }
    cfg = LabelConfig(**{**base, **kw})
    cfg.generator.sampling = SamplingConfig(n=4, temperature=1.0, max_new_tokens=64)
    return cfg


TEMPLATES = (load_template("solve"), load_template("continue"))


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_labels_come_from_rollouts_of_kept_problems(tmp_path):
    gen = ScriptedGenerator(generator_reply, name="scripted-gen")
    summary = label(_cfg(), PROBLEMS, gen, TEMPLATES, tmp_path)
    records = [
        record_from_dict(r, "labels.jsonl", f"line {i}") for i, r in enumerate(_lines(tmp_path / "labels.jsonl"), 1)
    ]
    assert [r.id for r in records] == ["s/mixed-s0", "s/mixed-s1", "s/mixed-s3"]  # the right one first, wrong ones all
    right, wrong1, wrong2 = records
    assert right.label == -1 and right.meta["mc_estimates"] == [1.0, 1.0]
    assert wrong1.label == 0 and wrong1.meta["mc_estimates"] == [0.0, 0.0, 0.0]
    assert wrong2.label == 1 and wrong2.meta["mc_estimates"] == [1.0, 0.0, 0.0]
    assert wrong2.source == "mc/s" and wrong2.answer == "5" and wrong2.meta["generator"] == "scripted-gen"
    assert summary["problems"] == {"total": 3, "no_reference_skipped": 0, "all_right": 1, "all_wrong": 1, "kept": 1}
    assert summary["solutions"]["sampled"] == 12 and summary["solutions"]["no_steps"] == 1
    assert summary["labeled"] == {
        "records": 3,
        "with_error": 2,
        "without_error": 1,
        "right_answer_with_wrong_step": 0,
        "incomplete": 0,
    }
    assert summary["rollouts"]["prefixes"] == 1 + 2 + 2 and summary["rollouts"]["total"] == 15
    continuations = [p for p in gen.prompts if "Solution so far" in p]
    assert len(continuations) == 5  # one prompt per prefix; its K samples come from sampling.n


def test_threshold_and_num_correct_change_the_selection_and_labels(tmp_path):
    summary = label(
        _cfg(num_correct=0, threshold=0.5), PROBLEMS, ScriptedGenerator(generator_reply), TEMPLATES, tmp_path
    )
    ids = [r["id"] for r in _lines(tmp_path / "labels.jsonl")]
    assert ids == ["s/mixed-s1", "s/mixed-s3"] and summary["labeled"]["records"] == 2


def test_rerun_after_a_crash_finishes_the_rest_and_duplicates_nothing(tmp_path):
    label(_cfg(), PROBLEMS, ScriptedGenerator(generator_reply), TEMPLATES, tmp_path / "clean")
    out = tmp_path / "crashed"
    with pytest.raises(Crash):
        label(_cfg(), PROBLEMS, ScriptedGenerator(generator_reply, crash_after=3), TEMPLATES, out)
    partial = len(_lines(out / "stages.jsonl"))
    again = ScriptedGenerator(generator_reply)
    label(_cfg(), PROBLEMS, again, TEMPLATES, out)
    keys = [r["id"] for r in _lines(out / "stages.jsonl")]
    assert len(keys) == len(set(keys)) == len(_lines(tmp_path / "clean" / "stages.jsonl"))
    assert len(again.prompts) == len(keys) - partial
    assert _lines(out / "labels.jsonl") == _lines(tmp_path / "clean" / "labels.jsonl")
