"""PRM800K raw label files -> records; labels derived by hand from the sample files (see comments)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from deepcritic.config import DataConfig
from deepcritic.data import load_records
from deepcritic.data.readers import iter_json_items
from deepcritic.data.sources import FieldProblem
from deepcritic.data.sources.prm800k import convert_prm800k
from deepcritic.errors import RecordError
from tests.helpers.paths import BAD_DATA, SHARED_DATA

SAMPLES = SHARED_DATA / "prm800k" / "samples"


def _load(path: Path):
    return load_records(dataclasses.replace(DataConfig(), source="prm800k", path=str(path)))


# (file, [(source, label, number of steps, ratings along the path, answer)], skipped)
# Derived by reading each raw record (label.steps[i]: chosen_completion / human_completion / ratings).
DERIVED = [
    (
        SAMPLES / "samples_prm800k.jsonl",
        [
            # line 1, phase 1, solution: steps 0,2,3,4 chosen 0 (rated 1); step 1 has human_completion (unrated);
            # step 5 chosen 4 (rated 1) -> 6 steps, none rated -1
            ("prm800k/phase1", -1, 6, [1, None, 1, 1, 1, 1], "29"),
            # line 2, phase 2, found_error: 13 pre-generated steps; completions[0] ratings 1,0,1,1,1,1,-1 -> step 6
            ("prm800k/phase2", 6, 13, [1, 0, 1, 1, 1, 1, -1], "28800"),
            # line 3, phase 1, solution: steps 0-3 chosen 0 (1); step 4 chosen 1 (1) -> no error
            ("prm800k/phase1", -1, 5, [1, 1, 1, 1, 1], "468"),
            # line 4, phase 1, solution: step 5 chosen 3 (ratings -1,-1,1,1,... -> the chosen one is 1) -> no error
            ("prm800k/phase1", -1, 7, [1, 1, 1, 1, 1, 1, 1], "9"),
            # line 5: finish_reason give_up -> skipped
            # line 6, phase 2, solution: 12 pre-generated steps all rated 1; ground_truth_answer null
            ("prm800k/phase2", -1, 12, [1] * 12, None),
        ],
        {"prm800k finish_reason=give_up": 1},
    ),
    (
        SAMPLES / "prm800k-phase1-train-example.json",
        [
            # record 0: the same labeling as samples line 1
            ("prm800k/phase1", -1, 6, [1, None, 1, 1, 1, 1], "29"),
            # record 1: give_up (30 labeled steps) -> skipped
            # record 2, solution: step 0 human (unrated); step 1 chosen 2 (1); steps 2,3 chosen 0 (1);
            # step 4 human; step 5 chosen 6 (rated 1) -> no error
            ("prm800k/phase1", -1, 6, [None, 1, 1, 1, None, 1], "40_9"),
        ],
        {"prm800k finish_reason=give_up": 1},
    ),
    (
        SAMPLES / "prm800k-phase2-test-example.json",
        [
            # record 0: the same labeling as samples line 2
            ("prm800k/phase2", 6, 13, [1, 0, 1, 1, 1, 1, -1], "28800"),
        ],
        {},
    ),
    (
        BAD_DATA / "prm800k_handmade.jsonl",
        [
            # line 1, phase 1, found_error: step 1 has no chosen/human completion: labeling ended; the first
            # completion rated -1 ("2 * 3 = 5", the second of three) is the last step -> label 1
            ("prm800k/phase1", 1, 2, [1, -1], "6"),
            # line 2, phase 1: human completion (unrated), chosen (1), then a step with completions null -> stop
            ("prm800k/phase1", -1, 2, [None, 1], "6"),
            # line 3: bad_problem, line 4: label.steps null -> skipped
            # line 5, phase 2: 3 pre-generated steps, labeled ratings 1, -1 -> label 1
            ("prm800k/phase2", 1, 3, [1, -1], "6"),
        ],
        {"prm800k finish_reason=bad_problem": 1, "prm800k label.steps=null": 1},
    ),
]


@pytest.mark.parametrize("path, expected, skipped", DERIVED, ids=[d[0].name for d in DERIVED])
def test_labels_match_hand_derivation(path, expected, skipped):
    result = _load(path)
    got = [(r.source, r.label, len(r.steps), r.meta["ratings"], r.answer) for r in result.records]
    assert got == expected
    assert dict(result.skipped) == skipped


def test_phase1_path_texts_and_meta():
    # the human completion replaces the rejected step; meta keeps who, when and why
    first = _load(SAMPLES / "samples_prm800k.jsonl").records[0]
    assert first.steps[1] == "We have $3p+e=1.24$ and $5p+e=1.82$."
    assert set(first.meta) == {"phase", "labeler", "timestamp", "generation", "finish_reason", "ratings", "human_steps"}
    assert first.meta["human_steps"] == [1]  # marked, not silent
    assert (first.meta["phase"], first.meta["finish_reason"]) == (1, "solution")
    assert first.id.startswith("prm800k-") and len(first.id) == len("prm800k-") + 16


# (file, human-written path indices per kept record), read off the DERIVED comments above
HUMAN = [
    (SAMPLES / "samples_prm800k.jsonl", [[1], [], [], [], []]),
    (SAMPLES / "prm800k-phase1-train-example.json", [[1], [0, 4]]),
    (BAD_DATA / "prm800k_handmade.jsonl", [[], [0], []]),
]


@pytest.mark.parametrize("path, marks", HUMAN, ids=[h[0].name for h in HUMAN])
def test_human_written_steps_are_marked(path, marks):
    assert [r.meta["human_steps"] for r in _load(path).records] == marks


@pytest.mark.parametrize(
    "policy, kept, skipped",
    [
        ("keep", 5, {"prm800k finish_reason=give_up": 1}),
        ("drop", 4, {"prm800k finish_reason=give_up": 1, "prm800k human-written step": 1}),
    ],
)
def test_human_steps_policy(policy, kept, skipped):
    cfg = DataConfig(source="prm800k", path=str(SAMPLES / "samples_prm800k.jsonl"))
    cfg.prm800k.human_steps = policy
    result = load_records(cfg)
    assert len(result.records) == kept and dict(result.skipped) == skipped
    assert any(r.meta["human_steps"] for r in result.records) == (policy == "keep")


def test_human_steps_reject_is_a_bad_record(tmp_path):
    cfg = DataConfig(source="prm800k", path=str(SAMPLES / "samples_prm800k.jsonl"))
    cfg.prm800k.human_steps = "reject"
    with pytest.raises(RecordError, match=r"line 1.*label.steps\[1\].human_completion"):
        load_records(cfg)
    cfg.on_error = "skip"
    result = load_records(cfg, rejects_default=tmp_path / "rejects.jsonl")
    assert len(result.records) == 4 and result.skipped["human-written step"] == 1


def test_found_error_without_a_wrong_step_is_refused():
    """A labeling that ends with found_error but rates no step -1 would silently read as "no wrong step"."""
    raw = {
        "question": {"problem": "p", "ground_truth_answer": "1"},
        "label": {
            "finish_reason": "found_error",
            "steps": [{"completions": [{"text": "a", "rating": 1}], "chosen_completion": 0, "human_completion": None}],
        },
    }
    with pytest.raises(FieldProblem, match="label.finish_reason"):
        convert_prm800k(raw, 0)
    raw["label"]["steps"][0]["completions"][0]["rating"] = -1
    assert convert_prm800k(raw, 0)["label"] == 0


def test_handmade_phase1_stops_at_first_wrong_completion():
    (record, *_) = _load(BAD_DATA / "prm800k_handmade.jsonl").records
    assert record.steps == ["1 + 1 = 2", "2 * 3 = 5"]


def test_phase2_steps_are_the_pre_generated_ones():
    raw = json.loads((SAMPLES / "samples_prm800k.jsonl").read_text(encoding="utf-8").splitlines()[1])
    pre = raw["question"]["pre_generated_steps"]
    # the data assumption behind the rule: completions[0] of each labeled step is the pre-generated step
    assert [s["completions"][0]["text"] for s in raw["label"]["steps"]] == pre[: len(raw["label"]["steps"])]
    record = convert_prm800k(raw, 0)
    assert record["steps"] == pre


def test_ids_stable_across_files():
    # the same labeling in two files gets the same id (sha1 of labeler|timestamp|problem)
    a = _load(SAMPLES / "samples_prm800k.jsonl").records
    b = _load(SAMPLES / "prm800k-phase2-test-example.json").records
    assert a[1].id == b[0].id


def test_concatenated_json_records_are_located():
    # the .json example files are pretty-printed objects one after another: each is "record N (line L)"
    wheres = [where for where, _, _ in iter_json_items(SAMPLES / "prm800k-phase1-train-example.json")]
    assert [w.split(" (")[0] for w in wheres] == ["record 0", "record 1", "record 2"]
    assert wheres[0] == "record 0 (line 1)"
    lines = (SAMPLES / "prm800k-phase1-train-example.json").read_text(encoding="utf-8").splitlines()
    for where in wheres:  # each reported line is where that object opens
        line = int(where.split("line ")[1].rstrip(")"))
        assert lines[line - 1].startswith("{")


BAD_RAW = [
    # rating outside {-1, 0, 1, null}
    (
        {
            "question": {"problem": "p"},
            "label": {
                "finish_reason": "solution",
                "steps": [{"completions": [{"text": "t", "rating": 2}], "chosen_completion": 0}],
            },
        },
        "label.steps[0].completions[0].rating",
    ),
    # completion text not a string
    (
        {
            "question": {"problem": "p"},
            "label": {
                "finish_reason": "solution",
                "steps": [{"completions": [{"text": None, "rating": 1}], "chosen_completion": 0}],
            },
        },
        "label.steps[0].completions[0].text",
    ),
    # no label object
    ({"question": {"problem": "p"}}, "label"),
    # label.steps not a list
    ({"question": {"problem": "p"}, "label": {"finish_reason": "solution", "steps": "x"}}, "label.steps"),
    # pre_generated_steps not a list
    (
        {"question": {"problem": "p", "pre_generated_steps": "x"}, "label": {"finish_reason": "solution", "steps": []}},
        "question.pre_generated_steps",
    ),
]


@pytest.mark.parametrize("raw, field", BAD_RAW)
def test_bad_raw_fields_named(raw, field, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(raw) + "\n", encoding="utf-8")
    with pytest.raises(RecordError) as info:
        _load(path)
    assert (info.value.where, info.value.field) == ("line 1", field)


def test_bad_rating_skipped_under_skip(tmp_path):
    cfg = dataclasses.replace(
        DataConfig(), source="prm800k", path=str(BAD_DATA / "prm800k_bad_chosen.jsonl"), on_error="skip"
    )
    good = (SAMPLES / "samples_prm800k.jsonl").read_text(encoding="utf-8")
    path = tmp_path / "mixed.jsonl"
    path.write_text(good + (BAD_DATA / "prm800k_bad_chosen.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    result = load_records(dataclasses.replace(cfg, path=str(path), rejects_path=str(tmp_path / "r.jsonl")))
    assert len(result.records) == 5
    assert dict(result.skipped) == {"prm800k finish_reason=give_up": 1, "wrong type": 2}
