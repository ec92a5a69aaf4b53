"""``deepcritic label`` end to end on a scripted generator: sampling, selection, rollouts, estimates, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepcritic.config import LabelConfig, SamplingConfig
from deepcritic.critique import load_template
from deepcritic.data.problems import SetProblem
from deepcritic.data.records import record_from_dict
from deepcritic.datagen.labeling import GeneratorPrompts
from deepcritic.eval.protocols import get_protocol
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


def _prefix(text: str) -> str | None:
    """The solution prefix a continuation prompt holds (a user-turn request, or a prefilled assistant turn)."""
    if "## Solution so far" in text:
        return text.split("## Solution so far")[1].split("## Your task")[0]
    if "[assistant]\n" in text:
        return text.split("[assistant]\n")[1]
    return None


def generator_reply(text: str, sample: int) -> str:
    problem = next(k for k in SOLUTIONS if k in text)
    prefix = _prefix(text)
    if prefix is None:
        return SOLUTIONS[problem][sample]
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


def _prompts(**kw) -> GeneratorPrompts:
    return GeneratorPrompts(load_template("solve"), load_template("continue"), **kw)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("continuation", ["prefill", "user_turn"])
def test_labels_come_from_rollouts_of_kept_problems(tmp_path, continuation):
    gen = ScriptedGenerator(generator_reply, name="scripted-gen")
    summary = label(_cfg(continuation=continuation), PROBLEMS, gen, _prompts(continuation=continuation), tmp_path)
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
    continuations = [p for p in gen.prompts if _prefix(p) is not None]
    assert len(continuations) == 5  # one prompt per prefix; its K samples come from sampling.n


def test_threshold_and_num_correct_change_the_selection_and_labels(tmp_path):
    summary = label(
        _cfg(num_correct=0, threshold=0.5), PROBLEMS, ScriptedGenerator(generator_reply), _prompts(), tmp_path
    )
    ids = [r["id"] for r in _lines(tmp_path / "labels.jsonl")]
    assert ids == ["s/mixed-s1", "s/mixed-s3"] and summary["labeled"]["records"] == 2


def test_rerun_after_a_crash_finishes_the_rest_and_duplicates_nothing(tmp_path):
    label(_cfg(), PROBLEMS, ScriptedGenerator(generator_reply), _prompts(), tmp_path / "clean")
    out = tmp_path / "crashed"
    with pytest.raises(Crash):
        label(_cfg(), PROBLEMS, ScriptedGenerator(generator_reply, crash_after=3), _prompts(), out)
    partial = len(_lines(out / "stages.jsonl"))
    again = ScriptedGenerator(generator_reply)
    label(_cfg(), PROBLEMS, again, _prompts(), out)
    keys = [r["id"] for r in _lines(out / "stages.jsonl")]
    assert len(keys) == len(set(keys)) == len(_lines(tmp_path / "clean" / "stages.jsonl"))
    assert len(again.prompts) == len(keys) - partial
    assert _lines(out / "labels.jsonl") == _lines(tmp_path / "clean" / "labels.jsonl")


def judge_reply(text: str, sample: int) -> str:
    """A critic under deepcritic's protocol: agrees on s0 (no wrong step) and s1 (step 1), names step 3 for s3
    (whose Monte-Carlo label is step 2, 1-based)."""
    if "Then 6 is the sum" in text:
        verdict = 1
    elif "7 is needed" in text:
        verdict = 3
    else:
        verdict = -1
    return f"Step 1: checked. \\boxed{{1}}\n\n**Answer**: \\boxed{{{verdict}}}"


def test_consensus_keeps_the_labels_the_judge_agrees_with(tmp_path):
    judge = ScriptedGenerator(judge_reply, name="scripted-judge")
    summary = label(
        _cfg(consensus="judge"),
        PROBLEMS,
        ScriptedGenerator(generator_reply),
        _prompts(),
        tmp_path,
        judge=judge,
        judge_protocol=get_protocol("deepcritic"),
    )
    kept, dropped = _lines(tmp_path / "labels.jsonl"), _lines(tmp_path / "disagreements.jsonl")
    assert [(r["id"], r["label"], r["meta"]["judge_verdict"]) for r in kept] == [
        ("s/mixed-s0", -1, -1),
        ("s/mixed-s1", 0, 0),
    ]
    assert [(r["id"], r["label"], r["meta"]["judge_verdict"]) for r in dropped] == [("s/mixed-s3", 1, 2)]
    assert summary["consensus"] == {
        "judge": "scripted-judge",
        "protocol": "deepcritic",
        "judged": 3,
        "unjudged": 0,
        "agree": 2,
        "agreement": 0.6667,
        "judge_no_verdict": 0,
        "with_error": {"records": 2, "agree": 1, "agreement": 0.5},
        "without_error": {"records": 1, "agree": 1, "agreement": 1.0},
        "kept": 2,
        "dropped": 1,
    }
    assert summary["labeled"]["records"] == 2 and len(judge.prompts) == 3
    assert all("Step 1: First, 2 + 3 =" in p for p in judge.prompts)  # the critic prompt shows the tagged steps
    # a rerun asks the judge nothing more and writes the same files
    again = ScriptedGenerator(judge_reply)
    label(
        _cfg(consensus="judge"),
        PROBLEMS,
        ScriptedGenerator(generator_reply),
        _prompts(),
        tmp_path,
        judge=again,
        judge_protocol=get_protocol("deepcritic"),
    )
    assert again.prompts == [] and _lines(tmp_path / "labels.jsonl") == kept


def tagged_reply(text: str, sample: int) -> str:
    """Solutions written after a prefilled "Step 1:"; a wrong one without a box; rollouts as generator_reply."""
    if _prefix(text) is not None and text[-len("[assistant]\nStep 1:") :] == "[assistant]\nStep 1:":
        return [
            " 2 + 3 = 5.\nStep 2: So \\boxed{5}.",  # right
            " 2 + 3 = 6.\nStep 2: So \\boxed{6}.",  # wrong, answered
            " 2 + 3 = 6.\nStep 2: So it is 6.",  # wrong, no box: DeepCritic drops it
            " 2 + 3 = 5.\nStep 2: It is 5.",  # right for math-verify, not for boxed-only grading
        ][sample]
    return generator_reply(text, sample)


def test_deepcritic_prompting_grading_and_filtering(tmp_path):
    """step_tags + prefill + boxed_only + drop_unanswered, as experiment=label_mc_deepcritic sets them."""
    gen = ScriptedGenerator(tagged_reply)
    cfg = _cfg(step_tags=True, boxed_only=True, drop_unanswered=True)
    summary = label(cfg, PROBLEMS[:1], gen, _prompts(step_tags=True, system="Be exact."), tmp_path)
    solve = next(m for m in gen.messages if m[-1]["content"] == "Step 1:")
    assert [m["role"] for m in solve] == ["system", "user", "assistant"]
    samples = _lines(tmp_path / "stages.jsonl")[0]["samples"]
    assert [s["text"] for s in samples][:2] == [
        "Step 1: 2 + 3 = 5.\nStep 2: So \\boxed{5}.",
        "Step 1: 2 + 3 = 6.\nStep 2: So \\boxed{6}.",
    ]
    assert [s["steps"] for s in samples][0] == ["2 + 3 = 5.", "So \\boxed{5}."]
    assert [s["correct"] for s in samples] == [True, False, False, False]  # boxed-only: sample 3 has no box
    # labeled: the right one and the answered wrong one (sample 2 has no answer, sample 3 is "wrong" unanswered)
    assert [r["id"] for r in _lines(tmp_path / "labels.jsonl")] == ["s/mixed-s0", "s/mixed-s1"]
    assert summary["solutions"]["wrong_unanswered"] == 2
    rollouts = [m for m in gen.messages if m[-1]["role"] == "assistant" and m[-1]["content"] != "Step 1:"]
    assert {m[-1]["content"] for m in rollouts} == {"Step 1: 2 + 3 = 5.", "Step 1: 2 + 3 = 6."}
