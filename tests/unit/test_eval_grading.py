"""MR-GSM8K task 3 and MR-Score against the official script: the grading prompt byte for byte, the decision
reading, and ``deepcritic eval protocol=mr_gsm8k grader.enabled=true`` end to end with scripted critic and
grader on MR-GSM8K's release records (590 wrong solutions with their gold error reasons, plus copies made
correct), scored by the official ``process_eval_results`` / ``construct_eval_stats`` / ``get_mr_score``."""

from __future__ import annotations

import copy
import json
import random

import pytest

from deepcritic.config import (
    DataConfig,
    EvalConfig,
    GraderConfig,
    LoggerConfig,
    ModelConfig,
    ProtocolConfig,
    validate,
)
from deepcritic.data import load_records
from deepcritic.errors import DeepcriticError
from deepcritic.eval.grading import grade_prompt, grader_template, read_decision
from deepcritic.eval.protocols import get_protocol
from deepcritic.generation import Completion
from deepcritic.recipes import evaluate
from tests.helpers.env import unset
from tests.helpers.eval_fakes import Scripted
from tests.helpers.official import TEMPLATES, mr_gsm8k_evaluation, official
from tests.helpers.paths import SHARED_DATA

OFF = LoggerConfig(backend="none", mode="disabled")
RELEASE = json.loads((SHARED_DATA / "mr_gsm8k" / "raw_sample.json").read_text())
ANALYSIS = "Error Analysis: the student divides where it should multiply ({i})."


@pytest.fixture(autouse=True)
def _wandb_env(monkeypatch):
    unset(monkeypatch, "WANDB_MODE", "WANDB_PROJECT", "WANDB_DIR")


def _official_grade_prompts(records: list[dict], tmp_path) -> list[str]:
    fns = official("mr_gsm8k", multi_thread_response_generation=lambda *args, **kwargs: None)
    fns["grade_eval_outputs"](records, str(tmp_path / "scored.json"), None, "grader", 1)
    return [r.get("grade_prompt") for r in records]


def test_grade_prompts_are_the_official_ones(tmp_path):
    """Every one of the 590 records, with a critique that names the gold step (so the official code grades it)."""
    records = copy.deepcopy(RELEASE)
    critiques = []
    for i, r in enumerate(records):
        text = f"Final Judgement: wrong\nFirst Error Step: {r['model_output_solution_first_error_step']}\n"
        critiques.append(text + ANALYSIS.format(i=i))
        r["Evaluation_Result"] = mr_gsm8k_evaluation(critiques[-1])
    want = _official_grade_prompts(records, tmp_path)
    path = SHARED_DATA / "mr_gsm8k" / "raw_sample.json"
    ours = load_records(DataConfig(source="mr_gsm8k_raw", path=str(path)), rejects_default=tmp_path / "r.jsonl").records
    protocol, template = (
        get_protocol("mr_gsm8k", str(TEMPLATES["mr_gsm8k"])),
        grader_template(str(TEMPLATES["mr_gsm8k"])),
    )
    got = [grade_prompt(template, rec, protocol, text)[0]["content"] for rec, text in zip(ours, critiques)]
    assert len(got) == 590 and got == want


DECISIONS = [
    # (grader output, official count, strict count)
    ("Step-by-Step Reasoning: a\nStudent Error Reason Analysis: b\nFinal Decision: Correct", True, True),
    ("Step-by-Step Reasoning: a\nStudent Error Reason Analysis: b\nFinal Decision: **Correct**.", True, True),
    ("Step-by-Step Reasoning: a\nStudent Error Reason Analysis: b\nFinal Decision: Wrong", False, False),
    ("Step-by-Step Reasoning: a\nStudent Error Reason Analysis: b\nFinal Decision: Incorrect", True, False),  # quirk
    ("Final Decision: Correct", False, False),  # the other two fields are missing: a parse error
    ("", False, False),
]


@pytest.mark.parametrize(("text", "counted", "strict"), DECISIONS)
def test_decisions(text, counted, strict):
    got = read_decision(text)
    assert (got["correct"], got["strict"]) == (counted, strict)
    data = {"grade_prompt": ""}
    official("mr_gsm8k", request_openai=lambda *a, **k: text)["single_thread_grade_generation"](data, None, "g")
    assert counted == ("correct" in data["Error_Reason_Correctness_Analysis"]["error_reason_correctness"].lower())


def _release_with_correct_copies(rng: random.Random) -> list[dict]:
    records = copy.deepcopy(RELEASE)
    for i, r in enumerate(rng.sample(RELEASE, 150)):  # a copy's question differs, so the prompt tells them apart
        r = {**copy.deepcopy(r), "uuid": f"{r['uuid']}-ok-{i}", "question": f"{r['question']} ({i})"}
        records.append(
            {**r, "model_output_solution_correctness": "correct", "model_output_solution_first_error_step": "N/A"}
        )
    return records


def _critique(rng: random.Random, record: dict) -> str:
    step = record["model_output_solution_first_error_step"]
    gold = step if isinstance(step, int) else rng.randint(1, 3)
    return rng.choice(
        [
            f"Final Judgement: wrong\nFirst Error Step: {gold}\n" + ANALYSIS.format(i=record["uuid"]),
            f"Final Judgement: wrong\nFirst Error Step: {gold + 1}\n" + ANALYSIS.format(i=record["uuid"]),
            "Final Judgement: correct\nFirst Error Step: N/A\nError Analysis: N/A",
            "I think it is fine.",
        ]
    )


def test_eval_with_a_grader_gives_the_official_mr_score(tmp_path, monkeypatch):
    rng = random.Random(0)
    records = _release_with_correct_copies(rng)
    texts = {r["question"]: _critique(rng, r) for r in records}
    decisions = [d[0] for d in DECISIONS]
    critic = Scripted(lambda prompt, j: Completion(texts[_question(prompt)], "stop", 5))
    grader = Scripted(lambda prompt, j: Completion(decisions[hash_of(prompt) % len(decisions)], "stop", 5))
    monkeypatch.setattr(
        evaluate, "shared_generator", lambda model, rollout: grader if model.name_or_path == "g" else critic
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mr.json").write_text(json.dumps(records))
    cfg = EvalConfig(
        model=ModelConfig(name_or_path="critic"),
        protocol=ProtocolConfig(name="mr_gsm8k", template=str(TEMPLATES["mr_gsm8k"])),
        grader=GraderConfig(enabled=True, model=ModelConfig(name_or_path="g")),
        benchmarks={"mr": {"source": "mr_gsm8k_raw", "path": str(tmp_path / "mr.json")}},
        logger=OFF,
    )
    assert validate(cfg) == []
    tasks = evaluate.main(cfg)["benchmarks"]["mr"]["mr_gsm8k"]
    want = _official_scores(records, texts, grader, decisions)
    assert tasks["t1_mcc"] == pytest.approx(want["mcc"]) and tasks["t2_accuracy"] == pytest.approx(want["t2"])
    assert tasks["t3_accuracy"] == pytest.approx(want["t3"]) and tasks["mr_score"] == pytest.approx(want["mr"])
    assert 0 < tasks["t3_accuracy_strict"] < tasks["t3_accuracy"]
    assert "MR-Score" in (tmp_path / "metrics.md").read_text()
    assert len(grader.prompts) == want["reviewed"] > 0  # the grader saw exactly the task-2 hits
    assert len((tmp_path / "grades" / "mr.jsonl").read_text().splitlines()) == len(records)


def hash_of(prompt: str) -> int:
    """The scripted grader's choice: a function of the whole prompt (which holds the critic's explanation)."""
    return sum(map(ord, prompt))


def _question(prompt: str) -> str:
    return prompt.split("Question:\n", 1)[1].split("\n\nStudent Solution:", 1)[0]


def _official_scores(records, texts, grader, decisions) -> dict[str, float]:
    """The official statistics: each record's Evaluation_Result from the official parser, the grader's decision
    for the official prompt (the same scripted rule), then process_eval_results and get_mr_score."""
    graded = copy.deepcopy(records)
    for r in graded:
        r["Evaluation_Result"] = mr_gsm8k_evaluation(texts[r["question"]])
    fns = official("mr_gsm8k", multi_thread_response_generation=lambda *args, **kwargs: None)
    fns["grade_eval_outputs"](graded, "/dev/null", None, "grader", 1)
    reply = {"text": ""}
    grade = official("mr_gsm8k", request_openai=lambda *a, **k: reply["text"])["single_thread_grade_generation"]
    for r in graded:
        reply["text"] = decisions[hash_of(r["grade_prompt"]) % len(decisions)] if r.get("grade_prompt") else ""
        data = {"grade_prompt": ""}
        grade(data, None, "g")
        r["Error_Reason_Correctness_Analysis"] = data["Error_Reason_Correctness_Analysis"]
    correct = sum(r["model_output_solution_correctness"] == "correct" for r in graded)
    stats = fns["construct_eval_stats"](fns["process_eval_results"](graded), correct, len(graded) - correct)
    mcc, mr = fns["get_mr_score"](stats)
    reviewed = sum(r["Need_Error_Reason_Review"] for r in graded)
    return {"mcc": mcc, "t2": stats["t2-accuracy"], "t3": stats["t3-accuracy-auto"], "mr": mr, "reviewed": reviewed}


def test_grading_needs_the_gold_error_reasons(tmp_path, monkeypatch):
    """The ProcessBench-form MR-GSM8K file has no error reasons: grading it is refused before any request."""
    grader = Scripted(lambda prompt, j: Completion("never asked", "stop", 2))
    critic = Scripted(
        lambda prompt, j: Completion("Final Judgement: wrong\nFirst Error Step: 1\nError Analysis: x", "stop", 5)
    )
    monkeypatch.setattr(
        evaluate, "shared_generator", lambda model, rollout: grader if model.name_or_path == "g" else critic
    )
    monkeypatch.chdir(tmp_path)
    cfg = EvalConfig(
        model=ModelConfig(name_or_path="critic"),
        protocol=ProtocolConfig(name="mr_gsm8k", template=str(TEMPLATES["mr_gsm8k"])),
        grader=GraderConfig(enabled=True, model=ModelConfig(name_or_path="g")),
        benchmarks={"mr": {"source": "mr_gsm8k", "path": str(SHARED_DATA / "mr_gsm8k" / "processed_test.json")}},
        limit=6,
        logger=OFF,
    )
    with pytest.raises(DeepcriticError, match=r"no(ne)? .*benchmarks=mr_gsm8k_raw"):
        evaluate.main(cfg)
    assert grader.prompts == []
