"""MR-GSM8K's release schema (source mr_gsm8k_raw) on its 590 real records, the question-type selection, the
cross-check against the ProcessBench-form file, and label transforms for mapped files (index base, "N/A")."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from deepcritic.config import DataConfig, validate
from deepcritic.data import load_records
from deepcritic.data.sources.mapped import label_from
from deepcritic.errors import DataError
from tests.helpers.cli import run_cli
from tests.helpers.paths import SHARED_DATA

RAW = SHARED_DATA / "mr_gsm8k" / "raw_sample.json"
PROCESSED = SHARED_DATA / "mr_gsm8k" / "processed_test.json"


def _load(tmp_path, **cfg):
    return load_records(DataConfig(**cfg), rejects_default=tmp_path / "rejects.jsonl")


def test_the_release_records_and_their_labels(tmp_path):
    records = _load(tmp_path, source="mr_gsm8k_raw", path=str(RAW)).records
    assert len(records) == 590 and all(r.label >= 0 for r in records)  # every stored one is a wrong solution
    assert Counter(r.meta["question_type"] for r in records) == {"original": 340, "reversed": 187, "POT": 63}
    # hand-checked from raw_sample.json: record 0 (uuid bd29bebd-...) errs at 1-based step 1 of 4 steps,
    # record 500 (uuid 3a21524c-..., reversed) at step 5 of 10; prefixes stripped, the originals kept
    first, other = records[0], records[500]
    assert (first.id, first.label, len(first.steps)) == ("bd29bebd-0d3a-4700-90be-23c0c4c4e96c", 0, 4)
    assert first.steps[0].startswith("We know that the distance") and first.meta["original_steps"][0].startswith(
        "Step 1:  We know"
    )
    assert (other.id, other.label, len(other.steps), other.meta["question_type"]) == (
        "3a21524c-c66f-4890-adca-8f0d9faca143",
        4,
        10,
        "reversed",
    )
    assert first.answer == "5" and first.meta["model_output_solution_first_error_reason"].startswith("The solution")


@pytest.mark.parametrize(("types", "count"), [(["original"], 340), (["reversed", "POT"], 250), (None, 590)])
def test_question_types_select_records_and_the_rest_are_counted(tmp_path, types, count):
    result = _load(tmp_path, source="mr_gsm8k_raw", path=str(RAW), question_types=types)
    assert len(result.records) == count
    others = {f"question type {t}" for t in ("original", "reversed", "POT") if t not in (types or [])}
    assert sum(result.skipped.values()) == 590 - count and set(result.skipped) <= others


def test_release_labels_against_the_processbench_form_file(tmp_path):
    """The 340 original records of the sample are in the ProcessBench-form file (same question and steps); their
    labels agree except ids 76, 635 and 973, where the release's annotation differs."""
    raw = {
        (r.problem, tuple(r.meta["original_steps"])): r.label
        for r in _load(tmp_path, source="mr_gsm8k_raw", path=str(RAW)).records
    }
    processed = json.loads(PROCESSED.read_text())
    pairs = [(d["id"], d["label"], raw[key]) for d in processed if (key := (d["problem"], tuple(d["steps"]))) in raw]
    assert len(pairs) == 340
    assert [(i, p, r) for i, p, r in pairs if p != r] == [(76, 0, 2), (635, 2, 3), (973, 2, 3)]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"model_output_solution_correctness": "wrong", "model_output_solution_first_error_step": "N/A"}, "step"),
        ({"model_output_solution_correctness": "wrong", "model_output_solution_first_error_step": 0}, "no step 0"),
        (
            {"model_output_solution_correctness": "maybe", "model_output_solution_first_error_step": 2},
            "correct or wrong",
        ),
    ],
)
def test_bad_release_records_are_clear_errors(tmp_path, record, message):
    base = {
        "uuid": "u1",
        "question": "q",
        "question_type": "original",
        "model_output_steps": ["Step 1: a", "Step 2: b"],
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{**base, **record}]))
    with pytest.raises(DataError, match=message):
        _load(tmp_path, source="mr_gsm8k_raw", path=str(path))


def test_question_types_are_checked(tmp_path):
    problems = validate(DataConfig(source="mr_gsm8k_raw", path="x.json", question_types=["negated"]))
    assert [p.key for p in problems] == ["question_types"]
    assert validate(DataConfig(source="processbench", path="x.json", question_types=["negated"])) == []


# (value, base, no-error markers, contract label or the ValueError text)
LABELS = [
    (3, 1, (), 2),
    ("3", 1, (), 2),
    (-1, 1, (), -1),
    ("N/A", 1, ("N/A",), -1),
    (" n/a ", 1, ("N/A",), -1),
    (None, 0, (), -1),
    (0, 0, (), 0),
    (0, 1, (), "there is no step 0"),
    ("N/A", 1, (), "a step number"),
    (2.5, 0, (), "a step number"),
    (True, 0, (), "a step number"),
]


@pytest.mark.parametrize(("value", "base", "markers", "want"), LABELS)
def test_label_from(value, base, markers, want):
    if isinstance(want, int):
        assert label_from(value, base, markers) == want
    else:
        with pytest.raises(ValueError, match=want):
            label_from(value, base, markers)


def test_generic_mapping_reads_one_based_labels_with_markers(tmp_path):
    rows = [
        {"q": "p1", "s": ["a", "b", "c"], "first": 2},
        {"q": "p2", "s": ["a", "b"], "first": "N/A"},
        {"q": "p3", "s": ["a"], "first": 1},
    ]
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    fields = {"problem": "q", "steps": "s", "label": "first"}
    records = _load(tmp_path, source="generic", path=str(path), fields=fields, label_base=1, no_error_labels=["N/A"])
    assert [r.label for r in records.records] == [1, -1, 0]
    with pytest.raises(DataError, match="first"):  # without the marker, "N/A" is a bad label naming its field
        _load(tmp_path, source="generic", path=str(path), fields=fields, label_base=1)


def test_convert_cli_on_the_release(tmp_path):
    out = tmp_path / "mr.jsonl"
    proc = run_cli(
        "convert",
        "data=mr_gsm8k_raw",
        f"data.path={RAW}",
        "data.question_types=[POT]",
        f"output={out}",
        f"hydra.run.dir={tmp_path}",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 63 and {r["meta"]["question_type"] for r in rows} == {"POT"}
