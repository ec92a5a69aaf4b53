"""Prompt fidelity: under the official protocols, every prompt is byte for byte what the official code builds.

The official construction is the official scripts' own functions (ProcessBench's and DeepCritic's
``prepare_input_boxed``, MR-GSM8K's ``get_eval_outputs`` with its request stubbed), executed on the raw
records of the files the papers evaluated: ProcessBench's four subsets (400 + 1000 + 1000 + 1000) and MR-GSM8K
in ProcessBench form (1418) = 4,818 records, loaded through deepcritic's own data sources; and MR-GSM8K's raw
release schema (590).
"""

from __future__ import annotations

import json

import pytest

from deepcritic.config import DataConfig
from deepcritic.data import load_records
from deepcritic.eval.protocols import get_protocol
from tests.helpers.official import TEMPLATES, official, official_template
from tests.helpers.paths import SHARED_DATA

FILES = [
    ("processbench/gsm8k.json", "processbench", 400),
    ("processbench/math.json", "processbench", 1000),
    ("processbench/olympiadbench.json", "processbench", 1000),
    ("processbench/omnimath.json", "processbench", 1000),
    ("mr_gsm8k/processed_test.json", "mr_gsm8k", 1418),
]


def _loaded(relative: str, source: str, tmp_path) -> tuple[list[dict], list]:
    raw = json.loads((SHARED_DATA / relative).read_text())
    records = load_records(
        DataConfig(source=source, path=str(SHARED_DATA / relative)), rejects_default=tmp_path / "r.jsonl"
    ).records
    assert [str(r["id"]) for r in raw] == [r.id for r in records]  # every record loads, in order
    return raw, records


@pytest.mark.parametrize("name", ["processbench", "deepcritic_paper"])
def test_box_protocol_prompts_are_the_official_ones_on_all_4818_records(name, tmp_path):
    protocol = get_protocol(name, str(TEMPLATES[name]))
    build = official(name)["prepare_input_boxed"]
    template = official_template(name)
    compared = 0
    for relative, source, count in FILES:
        raw, records = _loaded(relative, source, tmp_path)
        assert len(records) == count
        differ = [r.id for d, r in zip(raw, records) if protocol.build_messages(r) != build(template, d)]
        assert differ == [], f"{relative}: {len(differ)} prompts differ, e.g. {differ[:3]}"
        # the label the official script compares with is the file's own
        assert [protocol.label_of(r) for r in records] == [d["label"] for d in raw]
        compared += len(records)
    assert compared == 4818


def _official_mr_prompts(questions: list[str], steps: list[list[str]], tmp_path) -> list[str]:
    data = [{"question": q, "model_output_steps": s} for q, s in zip(questions, steps)]
    fns = official("mr_gsm8k", multi_thread_response_generation=lambda *args, **kwargs: None)
    fns["get_eval_outputs"](data, "", str(tmp_path / "out.json"), None, "critic", None)
    return [d["eval_prompt"] for d in data]


def test_mr_gsm8k_prompts_are_the_official_ones(tmp_path):
    protocol = get_protocol("mr_gsm8k", str(TEMPLATES["mr_gsm8k"]))
    raw, records = _loaded("mr_gsm8k/processed_test.json", "mr_gsm8k", tmp_path)
    want = _official_mr_prompts([d["problem"] for d in raw], [d["steps"] for d in raw], tmp_path)
    got = [protocol.build_messages(r) for r in records]
    assert got == [[{"role": "user", "content": w}] for w in want]
    assert len(got) == 1418
    # the raw release schema (question, model_output_steps), as MR-GSM8K's own script reads it
    release = json.loads((SHARED_DATA / "mr_gsm8k" / "raw_sample.json").read_text())
    want = _official_mr_prompts([d["question"] for d in release], [d["model_output_steps"] for d in release], tmp_path)
    got = [protocol.messages(d["question"], d["model_output_steps"])[0]["content"] for d in release]
    assert got == want and len(got) == 590


def test_mr_gsm8k_record_with_a_dropped_empty_step_keeps_the_official_view(tmp_path):
    """MR-GSM8K record 98 opens with an empty "Step 1: ": our contract drops it, the official prompt shows it."""
    raw, records = _loaded("mr_gsm8k/processed_test.json", "mr_gsm8k", tmp_path)
    record = next(r for r in records if r.id == "98")
    protocol = get_protocol("deepcritic_paper", str(TEMPLATES["deepcritic_paper"]))
    assert record.steps != raw[98]["steps"] and protocol.steps_of(record) == raw[98]["steps"]
    assert protocol.label_of(record) == raw[98]["label"] == record.label + 1


def test_deepcritic_protocol_keeps_the_training_prompt():
    """deepcritic's own protocol prompts exactly as training does (tag_steps + the critic template)."""
    from deepcritic.critique import build_critic_messages
    from deepcritic.data.records import StepRecord

    record = StepRecord("x", "t", "What is $\\frac{1}{2}$ of {solution}?", ["Step 1: half is 1/2", "so 0.5"], 1)
    assert get_protocol("deepcritic").build_messages(record) == build_critic_messages(record.problem, record.steps)
