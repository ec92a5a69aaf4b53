"""``deepcritic solve`` under protocol cft_paper end to end with a scripted solver on the seven sets (../shared/data):
the raw text prompts are the official ones, exact per-set and average accuracies, the strict reading and the tool
calls beside, the report saying how the numbers were made, malformed outputs stored, a bad row refused early."""

from __future__ import annotations

import json

import pytest

from deepcritic.config import LoggerConfig, RoleConfig, SamplingConfig, SolveConfig, SolveProtocolConfig
from deepcritic.config.model import ModelConfig
from deepcritic.errors import DataError
from deepcritic.eval.solver_protocols import CFT_STOP, QWEN2_STOP_IDS
from deepcritic.recipes import solve
from tests.helpers.env import unset
from tests.helpers.eval_fakes import Scripted, ok
from tests.helpers.official_cft import CFT, official_item, records

OFF = LoggerConfig(backend="none", mode="disabled")
# (benchmark, problem-set format, harness dataset, file under ../shared/data)
SETS = [
    ("math500", "math500", "math", "math500/test.jsonl"),
    ("minerva_math", "minerva_math", "minerva_math", "math_eval/minerva_math/test.jsonl"),
    ("gsm8k", "gsm8k", "gsm8k", "gsm8k/test.jsonl"),
    ("olympiadbench", "olympiadbench", "olympiadbench", "math_eval/olympiadbench/test.jsonl"),
    ("amc23", "amc23", "amc23", "math_eval/amc23/test.jsonl"),
    ("aime24", "aime24", "aime24", "math_eval/aime24/test.jsonl"),
    ("theoremqa", "theoremqa", "theoremqa", "math_eval/theoremqa/test.jsonl"),
]
# each set's first reference answer, as its file writes it (read by eye)
FIRST_ANSWERS = {
    "math": "\\left( 3, \\frac{\\pi}{2} \\right)",
    "minerva_math": "1.6",
    "gsm8k": "18",
    "olympiadbench": "2",
    "amc23": "27",
    "aime24": "204",
    "theoremqa": "11760",
}
OFFICIAL = SamplingConfig(max_new_tokens=2048, stop=list(CFT_STOP), stop_token_ids=list(QWEN2_STOP_IDS))


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # run_dir() is the working directory outside Hydra
    unset(monkeypatch, "WANDB_MODE", "WANDB_PROJECT", "WANDB_DIR")
    return tmp_path


def _config(shared_data, **changes) -> SolveConfig:
    benchmarks = {name: {"source": source, "path": str(shared_data / f)} for name, source, _, f in SETS}
    role = RoleConfig(model=ModelConfig(name_or_path="Qwen/Qwen2.5-Math-7B"), sampling=OFFICIAL)
    protocol = SolveProtocolConfig(name="cft_paper", official_dir=str(CFT))
    return SolveConfig(**{"generator": role, "protocol": protocol, "benchmarks": benchmarks, "logger": OFF, **changes})


def _solver() -> Scripted:
    """Right on each set's first problem (its reference in a box), wrong on the second: a boxed -7, and for
    TheoremQA a code block without a box (the harness would run it; its last number, 2, is read)."""
    firsts = {official_item(records(d)[0], d)["prompt"]: FIRST_ANSWERS[d] for _, _, d, _ in SETS}
    theoremqa_second = official_item(records("theoremqa")[1], "theoremqa")["prompt"]

    def rule(prompt: str, j: int):
        if prompt in firsts:
            return ok(f"Let me solve it.\n\nThe final answer is $\\boxed{{{firsts[prompt]}}}$.")
        return ok("```python\nprint(2)\n```" if prompt == theoremqa_second else "So \\boxed{-7}.")

    return Scripted(rule)


def test_cft_paper_run_on_the_seven_sets(in_tmp, monkeypatch, shared_data):
    solver = _solver()
    monkeypatch.setattr(solve, "shared_generator", lambda model, rollout: solver)
    metrics = solve.main(_config(shared_data, limit=2))
    # the solver saw raw text prompts, byte for byte the official ones, set by set in the script's order
    assert solver.prompts == [official_item(records(d)[i], d)["prompt"] for _, _, d, _ in SETS for i in (0, 1)]
    # one right, one wrong per set: accuracy 1/2 everywhere, and the strict reading agrees; the average is 1/2
    for name, *_ in SETS:
        m = metrics["benchmarks"][name]
        assert (m["problems"], m["accuracy"], m["strict_accuracy"], m["answer_rate"]) == (2, 0.5, 0.5, 1.0), name
        assert m["tool_calls"] == (1 if name == "theoremqa" else 0)
    assert (metrics["average"]["accuracy"], metrics["average"]["strict_accuracy"]) == (0.5, 0.5)
    assert metrics["protocol"]["name"] == "cft_paper" and metrics["decoding"]["matches"] is True
    rows = [json.loads(line) for line in (in_tmp / "solutions" / "theoremqa.jsonl").read_text().splitlines()]
    assert [s["answer"] for r in rows for s in r["samples"]] == ["11760", "2"]
    assert rows[1]["samples"][0]["tool_call"] is True
    md = (in_tmp / "metrics.md").read_text()
    assert "protocol: **cft_paper**" in md and "decoding: matches the official one" in md
    assert "TIGER-AI-Lab/CritiqueFineTuning@44b83b8c:tools/evaluate_math/utils.py" in md
    assert "414880c8d6af5edfb34ad18b9ce26b1448934771396b72a34c22271ae90c36d0" in md  # utils.py's sha256
    assert "| **average** | — | 50.0 |" in md  # the unweighted mean over the seven sets


def test_a_decoding_other_than_the_official_one_is_reported(in_tmp, monkeypatch, shared_data):
    monkeypatch.setattr(solve, "shared_generator", lambda model, rollout: Scripted(lambda p, j: ok("")))
    cfg = _config(shared_data, limit=1)
    cfg.generator.sampling = SamplingConfig()  # 4096 tokens, no stop words, no stop tokens
    metrics = solve.main(cfg)
    assert set(metrics["decoding"]["differs"]) == {"max_new_tokens", "stop", "stop_token_ids"}
    assert (
        "decoding: **differs** from the official one: max_new_tokens 4096 (official 2048)"
        in (in_tmp / "metrics.md").read_text()
    )
    # an empty output has no answer: wrong, not answered, and no crash
    assert metrics["average"]["accuracy"] == 0.0 and metrics["average"]["answer_rate"] == 0.0


@pytest.mark.parametrize(
    "text",
    ["", "\\boxed{", "\\boxed{\\frac{1}{", "}}}{{{", "\u0000\ud7ff", "boxed", "$" * 50, "The answer is \\boxed{x^{2"],
)
def test_malformed_outputs_are_graded_and_stored(in_tmp, monkeypatch, shared_data, text):
    monkeypatch.setattr(solve, "shared_generator", lambda model, rollout: Scripted(lambda p, j: ok(text)))
    cfg = _config(shared_data, limit=1)
    cfg.benchmarks = {"gsm8k": cfg.benchmarks["gsm8k"], "olympiadbench": cfg.benchmarks["olympiadbench"]}
    metrics = solve.main(cfg)
    assert metrics["benchmarks"]["gsm8k"]["accuracy"] == 0.0 and metrics["benchmarks"]["olympiadbench"]["problems"] == 1


def test_a_row_the_harness_cannot_read_fails_before_generation(in_tmp, monkeypatch, tmp_path):
    path = tmp_path / "gsm8k.jsonl"
    path.write_text(json.dumps({"question": "Q", "answer": "1 #### 2 #### 3"}) + "\n", encoding="utf-8")
    solver = Scripted(lambda p, j: ok("\\boxed{3}"))
    monkeypatch.setattr(solve, "shared_generator", lambda model, rollout: solver)
    cfg = _config(tmp_path, benchmarks={"g": {"source": "gsm8k", "path": str(path)}})
    with pytest.raises(DataError, match="problem 0.*a gsm8k row"):
        solve.main(cfg)
    assert solver.prompts == []
