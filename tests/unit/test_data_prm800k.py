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
from deepcritic.errors import DataError, RecordError
from tests.helpers.paths import BAD_DATA, SHARED_DATA

SAMPLES = SHARED_DATA / "prm800k" / "samples"


def _load(path: Path, **prm800k):
    """``path`` through the prm800k source; both phases unless ``phase=`` says (the sample files mix them)."""
    cfg = DataConfig(source="prm800k", path=str(path))
    cfg.prm800k = dataclasses.replace(cfg.prm800k, **{"phase": None, **prm800k})
    return load_records(cfg)


# (file, [(source, label, number of steps, ratings, answer, kind)], skipped)
# Derived by reading each raw record (label.steps[i]: chosen_completion / human_completion / ratings). Phase 1: the
# path record first, then one sibling per other rated completion of each step, in step and completion order: the
# path's first i steps + completion j; kind "path" or (step, completion).
P1 = "prm800k/phase1"
DERIVED = [
    (
        SAMPLES / "samples_prm800k.jsonl",
        [
            # line 1, phase 1, solution: steps 0,2,3,4 chosen 0 (rated 1); step 1 has human_completion (unrated);
            # step 5 chosen 4 (rated 1) -> 6 steps, none rated -1
            (P1, -1, 6, [1, None, 1, 1, 1, 1], "29", "path"),
            # ... step 1's five completions, all rated -1, beside the human step: step 0 + each -> label 1
            *[(P1, 1, 2, [1, -1], "29", (1, j)) for j in range(5)],
            # ... step 5's completions 0-3 (rated 0, 1, 1, 1) beside the chosen 4: the path's 5 steps + each
            *[(P1, -1, 6, [1, None, 1, 1, 1, r], "29", (5, j)) for j, r in enumerate([0, 1, 1, 1])],
            # line 2, phase 2, found_error: 13 pre-generated steps; completions[0] ratings 1,0,1,1,1,1,-1 -> step 6
            ("prm800k/phase2", 6, 13, [1, 0, 1, 1, 1, 1, -1], "28800", "path"),
            # line 3, phase 1, solution: steps 0-3 chosen 0 (1); step 4 chosen 1 (1) -> no error
            (P1, -1, 5, [1, 1, 1, 1, 1], "468", "path"),
            # ... step 4's completions 0, 2-6 (rated 0, 1, 1, 1, 1, 1): none wrong
            *[(P1, -1, 5, [1, 1, 1, 1, r], "468", (4, j)) for j, r in [(0, 0), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1)]],
            # line 4, phase 1, solution: step 5 chosen 3 (ratings -1,-1,1,1,1,-1,1 -> the chosen one is 1) -> no error
            (P1, -1, 7, [1, 1, 1, 1, 1, 1, 1], "9", "path"),
            # ... step 5's other six completions: the three rated -1 (0, 1, 5) put the first error at step 5
            *[
                (P1, 5 if r == -1 else -1, 6, [1, 1, 1, 1, 1, r], "9", (5, j))
                for j, r in [(0, -1), (1, -1), (2, 1), (4, 1), (5, -1), (6, 1)]
            ],
            # line 5: finish_reason give_up -> skipped
            # line 6, phase 2, solution: 12 pre-generated steps all rated 1; ground_truth_answer null
            ("prm800k/phase2", -1, 12, [1] * 12, None, "path"),
        ],
        {"prm800k finish_reason=give_up": 1},
    ),
    (
        SAMPLES / "prm800k-phase1-train-example.json",
        [
            # record 0: the same labeling as samples line 1 (path + 5 + 4 siblings)
            (P1, -1, 6, [1, None, 1, 1, 1, 1], "29", "path"),
            *[(P1, 1, 2, [1, -1], "29", (1, j)) for j in range(5)],
            *[(P1, -1, 6, [1, None, 1, 1, 1, r], "29", (5, j)) for j, r in enumerate([0, 1, 1, 1])],
            # record 1: give_up (30 labeled steps) -> skipped
            # record 2, solution: step 0 human (unrated); step 1 chosen 2 (1); steps 2,3 chosen 0 (1);
            # step 4 human; step 5 chosen 6 (rated 1) -> no error
            (P1, -1, 6, [None, 1, 1, 1, None, 1], "40_9", "path"),
            # ... step 0's seven completions, all rated 0, beside the human step: one step each, no error
            *[(P1, -1, 1, [0], "40_9", (0, j)) for j in range(7)],
            # ... step 1's completions 0, 1, 3-6 (rated -1, 1, 1, 1, -1, 1) after the human step 0
            *[
                (P1, 1 if r == -1 else -1, 2, [None, r], "40_9", (1, j))
                for j, r in [(0, -1), (1, 1), (3, 1), (4, 1), (5, -1), (6, 1)]
            ],
            # ... step 4's four completions, all rated -1, beside the human step 4: first error at step 4
            *[(P1, 4, 5, [None, 1, 1, 1, -1], "40_9", (4, j)) for j in range(4)],
            # ... step 5's completions 0-5 (rated -1, 0, -1, -1, -1, -1) beside the chosen 6
            *[
                (P1, 5 if r == -1 else -1, 6, [None, 1, 1, 1, None, r], "40_9", (5, j))
                for j, r in enumerate([-1, 0, -1, -1, -1, -1])
            ],
        ],
        {"prm800k finish_reason=give_up": 1},
    ),
    (
        SAMPLES / "prm800k-phase2-test-example.json",
        [
            # record 0: the same labeling as samples line 2
            ("prm800k/phase2", 6, 13, [1, 0, 1, 1, 1, 1, -1], "28800", "path"),
        ],
        {},
    ),
    (
        BAD_DATA / "prm800k_handmade.jsonl",
        [
            # line 1, phase 1, found_error: step 1 has no chosen/human completion: labeling ended; the first
            # completion rated -1 ("2 * 3 = 5", the second of three) is the path's last step -> label 1
            (P1, 1, 2, [1, -1], "6", "path"),
            # ... its siblings: "2 * 3 = 6" (rated 0) -> no error; "2 * 3 = 7" (rated -1) -> label 1
            (P1, -1, 2, [1, 0], "6", (1, 0)),
            (P1, 1, 2, [1, -1], "6", (1, 2)),
            # line 2, phase 1: human completion (unrated), chosen (1), then a step with completions null -> stop
            (P1, -1, 2, [None, 1], "6", "path"),
            # ... step 0's model completion "1 + 1 = 3", rated -1, beside the human step: label 0
            (P1, 0, 1, [-1], "6", (0, 0)),
            # line 3: bad_problem, line 4: label.steps null -> skipped
            # line 5, phase 2: 3 pre-generated steps, labeled ratings 1, -1 -> label 1
            ("prm800k/phase2", 1, 3, [1, -1], "6", "path"),
        ],
        {"prm800k finish_reason=bad_problem": 1, "prm800k label.steps=null": 1},
    ),
]


def _kind(record) -> str | tuple[int, int]:
    meta = record.meta
    return "path" if meta["kind"] == "path" else (meta["step"], meta["completion"])


@pytest.mark.parametrize("path, expected, skipped", DERIVED, ids=[d[0].name for d in DERIVED])
def test_labels_match_hand_derivation(path, expected, skipped):
    result = _load(path)
    got = [(r.source, r.label, len(r.steps), r.meta["ratings"], r.answer, _kind(r)) for r in result.records]
    assert got == expected
    assert dict(result.skipped) == skipped


def test_phase1_path_texts_and_meta():
    # the human completion replaces the rejected step; meta keeps who, when and why
    first = _load(SAMPLES / "samples_prm800k.jsonl").records[0]
    assert first.steps[1] == "We have $3p+e=1.24$ and $5p+e=1.82$."
    assert set(first.meta) == {
        "phase",
        "labeler",
        "timestamp",
        "generation",
        "finish_reason",
        "ratings",
        "human_steps",
        "kind",
    }
    assert first.meta["human_steps"] == [1]  # marked, not silent
    assert (first.meta["phase"], first.meta["finish_reason"], first.meta["kind"]) == (1, "solution", "path")
    assert first.id.startswith("prm800k-") and len(first.id) == len("prm800k-") + 16


def test_siblings_are_the_path_prefix_plus_the_completion():
    raw = json.loads((BAD_DATA / "prm800k_handmade.jsonl").read_text(encoding="utf-8").splitlines()[0])
    path, right, wrong = _load(BAD_DATA / "prm800k_handmade.jsonl").records[:3]
    assert path.steps == ["1 + 1 = 2", "2 * 3 = 5"]
    assert (right.steps, wrong.steps) == (["1 + 1 = 2", "2 * 3 = 6"], ["1 + 1 = 2", "2 * 3 = 7"])
    assert (right.id, wrong.id) == (path.id + "-1.0", path.id + "-1.2")
    assert right.meta["labeler"] == raw["labeler"] and right.meta["kind"] == "sibling"
    # the human step's model sibling (line 2) holds no human-written text
    human_path, model_sibling = _load(BAD_DATA / "prm800k_handmade.jsonl").records[3:5]
    assert (human_path.steps, model_sibling.steps) == (["1 + 1 = 2", "2 * 3 = 6"], ["1 + 1 = 3"])
    assert (human_path.meta["human_steps"], model_sibling.meta["human_steps"]) == ([0], [])


def test_siblings_off_keeps_the_path_only():
    records = _load(SAMPLES / "samples_prm800k.jsonl", siblings=False).records
    assert [r.meta["kind"] for r in records] == ["path"] * 5
    assert [r.label for r in records] == [-1, 6, -1, -1, -1]  # what the path alone says: one error in five


# the phase filter on the mixed sample file (lines 1, 3, 4 phase 1; 2, 6 phase 2; 5 give_up)
PHASES = [
    # the default: phase 2 only; the three phase-1 labelings are counted
    (2, 2, {"prm800k finish_reason=give_up": 1, "prm800k phase=1 (data.prm800k.phase=2)": 3}),
    # phase 1 only: 10 + 7 + 7 records of three labelings
    (1, 24, {"prm800k finish_reason=give_up": 1, "prm800k phase=2 (data.prm800k.phase=1)": 2}),
    # both
    (None, 26, {"prm800k finish_reason=give_up": 1}),
]


@pytest.mark.parametrize("phase, kept, skipped", PHASES)
def test_phase_selection(phase, kept, skipped):
    result = _load(SAMPLES / "samples_prm800k.jsonl", phase=phase)
    assert len(result.records) == kept and dict(result.skipped) == skipped


def test_phase_two_is_the_default():
    assert DataConfig().prm800k.phase == 2
    result = load_records(DataConfig(source="prm800k", path=str(SAMPLES / "samples_prm800k.jsonl")))
    assert {r.meta["phase"] for r in result.records} == {2}


# (file, human-written step indices per kept record), read off the DERIVED comments above
HUMAN = [
    (SAMPLES / "samples_prm800k.jsonl", [[1], *[[]] * 5, *[[1]] * 4, [], *[[]] * 7, *[[]] * 7, []]),
    (
        SAMPLES / "prm800k-phase1-train-example.json",
        [[1], *[[]] * 5, *[[1]] * 4, [0, 4], *[[]] * 7, *[[0]] * 6, *[[0]] * 4, *[[0, 4]] * 6],
    ),
    (BAD_DATA / "prm800k_handmade.jsonl", [[], [], [], [0], [], []]),
]


@pytest.mark.parametrize("path, marks", HUMAN, ids=[h[0].name for h in HUMAN])
def test_human_written_steps_are_marked(path, marks):
    assert [r.meta["human_steps"] for r in _load(path).records] == marks


@pytest.mark.parametrize(
    "policy, kept, skipped",
    [
        ("keep", 26, {"prm800k finish_reason=give_up": 1}),
        # line 1's path and its four step-5 siblings hold the human step 1; its five step-1 siblings do not
        ("drop", 21, {"prm800k finish_reason=give_up": 1, "prm800k human-written step": 5}),
    ],
)
def test_human_steps_policy(policy, kept, skipped):
    result = _load(SAMPLES / "samples_prm800k.jsonl", human_steps=policy)
    assert len(result.records) == kept and dict(result.skipped) == skipped
    assert any(r.meta["human_steps"] for r in result.records) == (policy == "keep")


def test_human_steps_reject_is_a_bad_record(tmp_path):
    with pytest.raises(RecordError, match=r"line 1.*label.steps\[1\].human_completion"):
        _load(SAMPLES / "samples_prm800k.jsonl", human_steps="reject")
    cfg = DataConfig(source="prm800k", path=str(SAMPLES / "samples_prm800k.jsonl"), on_error="skip")
    cfg.prm800k = dataclasses.replace(cfg.prm800k, phase=None, human_steps="reject")
    result = load_records(cfg, rejects_default=tmp_path / "rejects.jsonl")
    assert len(result.records) == 16 and result.skipped["human-written step"] == 1  # line 1's 10 records go


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
    assert [r["label"] for r in convert_prm800k(raw, 0)] == [0]


def test_handmade_phase1_stops_at_first_wrong_completion():
    (record, *_) = _load(BAD_DATA / "prm800k_handmade.jsonl").records
    assert record.steps == ["1 + 1 = 2", "2 * 3 = 5"]


def test_phase2_steps_are_the_pre_generated_ones():
    raw = json.loads((SAMPLES / "samples_prm800k.jsonl").read_text(encoding="utf-8").splitlines()[1])
    pre = raw["question"]["pre_generated_steps"]
    # the data assumption behind the rule: completions[0] of each labeled step is the pre-generated step
    assert [s["completions"][0]["text"] for s in raw["label"]["steps"]] == pre[: len(raw["label"]["steps"])]
    (record,) = convert_prm800k(raw, 0)
    assert record["steps"] == pre


def test_ids_stable_across_files():
    # the same labeling in two files gets the same id (sha1 of labeler|timestamp|problem)
    a = _load(SAMPLES / "samples_prm800k.jsonl").records
    b = _load(SAMPLES / "prm800k-phase2-test-example.json").records
    assert a[10].id == b[0].id  # samples line 2 (after line 1's ten records)


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
    cfg = dataclasses.replace(cfg, path=str(path), rejects_path=str(tmp_path / "r.jsonl"))
    cfg.prm800k.phase = None
    result = load_records(cfg)
    assert len(result.records) == 26
    assert dict(result.skipped) == {"prm800k finish_reason=give_up": 1, "wrong type": 2}


def test_no_path_downloads_the_phase_file_of_the_release(monkeypatch, tmp_path):
    """Without data.path, the release's phase<phase>_<split>.jsonl comes from the Hub (no network here: the
    download is faked and hands back the sample file)."""
    import huggingface_hub

    calls = []

    def download(repo_id, filename, repo_type, revision):
        calls.append((repo_id, filename, repo_type, revision))
        return str(SAMPLES / "samples_prm800k.jsonl")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    result = load_records(DataConfig(source="prm800k", split="test"))
    assert calls == [("tasksource/PRM800K", "phase2_test.jsonl", "dataset", "547b19506677a59037ee888838834b65e9b1ddd4")]
    assert [r.meta["phase"] for r in result.records] == [2, 2]
    cfg = DataConfig(source="prm800k", hub_name="me/prm800k-copy")
    cfg.prm800k.phase = 1
    load_records(cfg)
    assert calls[-1] == ("me/prm800k-copy", "phase1_train.jsonl", "dataset", None)  # another repo: no pinned revision


def test_failed_download_is_one_clear_error(monkeypatch):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co'\nmore detail")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(DataError, match=r"hf://tasksource/PRM800K/phase2_train.jsonl.*couldn't connect.*data.path"):
        load_records(DataConfig(source="prm800k"))
