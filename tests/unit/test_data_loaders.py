"""load_records: real reference files, bad input (raise and skip), field mappings, contract round trip, Hub."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from deepcritic.config import DataConfig, PRM800KConfig, SyntheticConfig
from deepcritic.data import LoadResult, StepRecord, load_records, write_jsonl
from deepcritic.data.summary import summarize
from deepcritic.errors import ConfigError, DataError, RecordError
from tests.helpers.bad_input import ALWAYS, RAISE
from tests.helpers.paths import BAD_DATA, SHARED_DATA


def _cfg(**kw) -> DataConfig:
    """A data config; ``source="prm800k_phase1"`` is what ``data=prm800k_phase1`` selects."""
    if kw.get("source") == "prm800k_phase1":
        kw.update(source="prm800k", prm800k=PRM800KConfig(phase=1))
    return dataclasses.replace(DataConfig(), **kw)


# ---------------------------------------------------------------------------------------------------
# Real files: record counts and labels.

REAL = [
    # ProcessBench subsets: (records, with a wrong step), as published
    ("processbench", "processbench/gsm8k.json", "processbench/gsm8k", 400, 207),
    ("processbench", "processbench/math.json", "processbench/math", 1000, 594),
    ("processbench", "processbench/olympiadbench.json", "processbench/olympiadbench", 1000, 661),
    ("processbench", "processbench/omnimath.json", "processbench/omnimath", 1000, 759),
    # MR-GSM8K in ProcessBench form (one record, id 98, opens with an empty "Step 1: " that is dropped)
    ("mr_gsm8k", "mr_gsm8k/processed_test.json", "mr_gsm8k", 1418, 725),
]


@pytest.mark.parametrize("source, rel, name, n, wrong", REAL)
def test_real_files_counts(source, rel, name, n, wrong):
    result = load_records(_cfg(source=source, path=str(SHARED_DATA / rel)))
    assert summarize(result) == {
        "records": n,
        "with_error": wrong,
        "without_error": n - wrong,
        "skipped": {},
        "duplicates_dropped": 0,
        "sources": {name: n},
        "rejects": None,
    }


def test_processbench_extras_go_to_meta():
    first = load_records(_cfg(source="processbench", path=str(SHARED_DATA / "processbench/gsm8k.json"))).records[0]
    # gsm8k-0: label 1 (second step), generator and final_answer_correct kept in meta, no reference answer
    assert (first.id, first.source, first.label, first.answer) == ("gsm8k-0", "processbench/gsm8k", 1, None)
    assert first.meta == {"generator": "Qwen2-7B-Instruct", "final_answer_correct": False}


def test_mr_gsm8k_prefixes_stripped():
    records = load_records(_cfg(source="mr_gsm8k", path=str(SHARED_DATA / "mr_gsm8k/processed_test.json"))).records
    prefixed = [s for r in records for s in r.steps if re.match(r"\s*Step\s*\d+\s*:", s)]
    assert prefixed == []
    # record 2: ids are the file's integers as strings; steps lose exactly the "Step k: " prefix
    r2 = records[2]
    assert (r2.id, r2.steps[0], r2.steps[-1]) == ("2", "He pays 4*15=$<<4*15=60>>60 per month", "#### 720")
    # record 98 starts with an empty "Step 1: ": it is dropped and the label (1: "Step 2") follows it to 0
    r98 = records[98]
    assert (r98.label, len(r98.steps), r98.meta["dropped_empty_steps"]) == (0, 5, [0])
    assert r98.steps[0].startswith("First, we have to know how many pineapples")


def test_limit_and_name_override():
    cfg = _cfg(source="processbench", path=str(SHARED_DATA / "processbench/gsm8k.json"), limit=7, name="pb")
    records = load_records(cfg).records
    assert [r.id for r in records] == [f"gsm8k-{i}" for i in range(7)]
    assert {r.source for r in records} == {"pb"}


# ---------------------------------------------------------------------------------------------------
# Bad input under on_error=raise: the message names the file, the line/record, the field, the expectation.
# The cases (RAISE, ALWAYS) are in tests/helpers/bad_input.py: test_cli_bad_input.py checks them through the CLI.


@pytest.mark.parametrize("source, name, where, field, expected", RAISE)
def test_bad_record_raises_located_error(source, name, where, field, expected):
    path = BAD_DATA / name
    with pytest.raises(RecordError) as info:
        load_records(_cfg(source=source, path=str(path)))
    err = info.value
    assert (err.file, err.where, err.field) == (str(path), where, field)
    loc = f"{path}, {where}" + (f", field '{field}'" if field else "")
    assert str(err).startswith(f"{loc}: expected {expected}")


@pytest.mark.parametrize("on_error", ["raise", "skip"])
@pytest.mark.parametrize("source, name, where, expected", ALWAYS)
def test_file_level_errors_raise_even_when_skipping(source, name, where, expected, on_error, tmp_path):
    path = BAD_DATA / name
    with pytest.raises(DataError) as info:
        load_records(_cfg(source=source, path=str(path), on_error=on_error, rejects_path=str(tmp_path / "r.jsonl")))
    assert not isinstance(info.value, RecordError)
    assert (info.value.file, info.value.where) == (str(path), where)
    assert str(info.value) == f"{path}{', ' + where if where else ''}: expected {expected}"


def test_whole_json_file_not_utf8(tmp_path):
    # a .json file is parsed as a whole, so a bad byte is fatal; the line of the byte is named
    path = tmp_path / "pb.json"
    path.write_bytes(b'[\n{"id": "x",\n"problem": "caf\xe9"}\n]\n')
    with pytest.raises(
        DataError, match=r"pb\.json, line 3: expected UTF-8 text \(invalid continuation byte at byte 29\)"
    ):
        load_records(_cfg(source="processbench", path=str(path)))


# ---------------------------------------------------------------------------------------------------
# Bad input under on_error=skip: counted by reason, written to the rejects file.

SKIP = [
    # each single-defect file keeps its good lines and counts the bad one under its reason
    ("truncated_line.jsonl", ["a", "c"], {"malformed JSON": 1}),
    ("wrong_type.jsonl", ["a", "c"], {"wrong type": 1}),
    ("non_utf8.jsonl", ["a", "c"], {"not UTF-8": 1}),
    ("label_out_of_range.jsonl", ["a", "c"], {"label out of range": 1}),
    ("empty_step.jsonl", ["a"], {"empty step": 1}),
    ("duplicate_id.jsonl", ["a", "b"], {"duplicate id": 1}),
    ("missing_field.jsonl", ["a"], {"missing field": 1}),
    # every defect in one file: lines 1, 9 and 12 survive
    (
        "mixed.jsonl",
        ["a", "b", "i"],
        {
            "malformed JSON": 1,
            "wrong type": 1,
            "label out of range": 1,
            "empty steps": 1,
            "empty step": 1,
            "duplicate id": 1,
            "missing field": 1,
            "not an object": 1,
            "not UTF-8": 1,
        },
    ),
]


@pytest.mark.parametrize("name, kept, reasons", SKIP)
def test_skip_counts_by_reason(name, kept, reasons, tmp_path):
    rejects = tmp_path / "rejects.jsonl"
    result = load_records(
        _cfg(source="contract", path=str(BAD_DATA / name), on_error="skip", rejects_path=str(rejects))
    )
    assert [r.id for r in result.records] == kept
    assert dict(result.skipped) == reasons
    assert result.rejects_path == rejects
    lines = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert sorted(line["reason"] for line in lines) == sorted(r for r, n in reasons.items() for _ in range(n))


def test_rejects_file_contents(tmp_path):
    rejects = tmp_path / "rejects.jsonl"
    path = BAD_DATA / "mixed.jsonl"
    load_records(_cfg(source="contract", path=str(path), on_error="skip"), rejects_default=rejects)
    lines = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert all(set(line) == {"file", "where", "field", "reason", "error", "raw"} for line in lines)
    assert {line["file"] for line in lines} == {str(path)}
    got = [(line["where"], line["field"], line["reason"]) for line in lines]
    assert got == [
        ("line 2", None, "malformed JSON"),
        ("line 3", "label", "wrong type"),
        ("line 4", "label", "label out of range"),
        ("line 5", "steps", "empty steps"),
        ("line 6", "steps[1]", "empty step"),
        ("line 7", "id", "duplicate id"),
        ("line 8", "problem", "missing field"),
        ("line 10", None, "not an object"),
        ("line 11", None, "not UTF-8"),
    ]
    # unparsable lines keep their text (bad bytes as escapes); parsed ones keep the object
    assert lines[0]["raw"] == '{"id": "b", "source": "fixture", "problem": "x", "steps": ["1 + 1 = 2"'
    assert lines[1]["raw"]["label"] == "1"
    assert lines[7]["raw"] == [1, 2]
    assert lines[8]["raw"] == '{"id": "h", "problem": "caf\\xe9"}'
    assert (
        lines[2]["error"]
        == f"{path}, line 4, field 'label': expected an integer in [-1, 1] (-1 = no wrong step; 0-based), got 2"
    )


def test_skip_everything_bad_is_an_error(tmp_path):
    # a load that keeps nothing fails, and says why and where the rejects are
    rejects = tmp_path / "r.jsonl"
    with pytest.raises(DataError, match=r"all 1 were left out: empty steps: 1; see .*r\.jsonl"):
        load_records(
            _cfg(
                source="contract", path=str(BAD_DATA / "empty_steps.jsonl"), on_error="skip", rejects_path=str(rejects)
            )
        )
    assert rejects.exists()


def test_skip_without_rejects_path_still_counts():
    result = load_records(_cfg(source="contract", path=str(BAD_DATA / "wrong_type.jsonl"), on_error="skip"))
    assert (dict(result.skipped), result.rejects_path) == ({"wrong type": 1}, None)


def test_nothing_skipped_writes_no_rejects(tmp_path):
    rejects = tmp_path / "r.jsonl"
    result = load_records(
        _cfg(source="processbench", path=str(SHARED_DATA / "processbench/gsm8k.json"), on_error="skip"),
        rejects_default=rejects,
    )
    assert (result.rejects_path, rejects.exists()) == (None, False)


# ---------------------------------------------------------------------------------------------------
# generic (field mapping), contract round trip, Hub, config errors.

RAW_ROWS = [
    {
        "uid": "q1",
        "question": "What is 2 + 2?",
        "solution": {"steps": ["2 + 2 = 5", "So 5."]},
        "first_error": 0,
        "gold": 4,
    },
    {
        "uid": "q2",
        "question": "What is 3 + 3?",
        "solution": {"steps": ["3 + 3 = 6", "So 6."]},
        "first_error": -1,
        "gold": 6,
    },
]
MAPPING = {"id": "uid", "problem": "question", "steps": "solution.steps", "label": "first_error", "answer": "gold"}


def _write_rows(path: Path, rows: list[dict]) -> None:
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".json"])  # .json holding JSON Lines is read too
def test_generic_with_field_mapping(suffix, tmp_path):
    path = tmp_path / f"mine{suffix}"
    _write_rows(path, RAW_ROWS)
    records = load_records(_cfg(source="generic", path=str(path), fields=MAPPING)).records
    assert records == [
        StepRecord("q1", "mine", "What is 2 + 2?", ["2 + 2 = 5", "So 5."], 0, "4", {}),
        StepRecord("q2", "mine", "What is 3 + 3?", ["3 + 3 = 6", "So 6."], -1, "6", {}),
    ]


def test_generic_defaults_and_list_paths(tmp_path):
    # no id mapped and none in the file: "<source>-<index>"; a path may index a list
    path = tmp_path / "rows.jsonl"
    _write_rows(path, [{"q": "1 + 1?", "steps": ["1 + 1 = 2"], "labels": [-1, 0]}])
    fields = {"problem": "q", "label": "labels.0"}
    (record,) = load_records(_cfg(source="generic", path=str(path), fields=fields, name="mine")).records
    assert (record.id, record.source, record.label, record.steps) == ("mine-0", "mine", -1, ["1 + 1 = 2"])


def test_generic_errors_name_the_source_field(tmp_path):
    # a mistyped mapped field is reported under the user's column name
    path = tmp_path / "rows.jsonl"
    _write_rows(path, [{**RAW_ROWS[0], "first_error": "0"}])
    with pytest.raises(RecordError) as info:
        load_records(_cfg(source="generic", path=str(path), fields=MAPPING))
    assert info.value.field == "first_error (record field 'label')"
    # a mapped field absent from a row
    _write_rows(path, [{k: v for k, v in RAW_ROWS[0].items() if k != "question"}])
    with pytest.raises(RecordError, match=r"line 1, field 'question': expected a value for record field 'problem'"):
        load_records(_cfg(source="generic", path=str(path), fields=MAPPING))


def test_generic_unsupported_extension(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n")
    with pytest.raises(
        DataError, match=r"rows\.csv: expected a file ending in one of \.jsonl, \.ndjson, \.json, \.parquet"
    ):
        load_records(_cfg(source="generic", path=str(path), fields=MAPPING))


def test_contract_round_trip(tmp_path):
    original = load_records(_cfg(source="synthetic", synthetic=SyntheticConfig(num_records=20, seed=3))).records
    path = tmp_path / "records.jsonl"
    assert write_jsonl(original, path) == 20
    assert load_records(_cfg(source="contract", path=str(path))).records == original


def test_prm800k_round_trip_through_contract(tmp_path):
    original = load_records(
        _cfg(source="prm800k", path=str(SHARED_DATA / "prm800k/samples/samples_prm800k.jsonl"))
    ).records
    path = tmp_path / "records.jsonl"
    write_jsonl(original, path)
    assert load_records(_cfg(source="contract", path=str(path))).records == original


class _FakeHub:
    """Stands in for datasets.load_dataset: records the call, returns rows (no network in tests)."""

    def __init__(self, rows):
        self.rows, self.calls = rows, []

    def __call__(self, name, subset=None, *, split, revision=None):
        import datasets

        self.calls.append((name, subset, split, revision))
        return datasets.Dataset.from_list(self.rows)


def test_processbench_from_hub_uses_subset_as_split(monkeypatch):
    rows = json.loads((SHARED_DATA / "processbench/gsm8k.json").read_text(encoding="utf-8"))[:5]
    fake = _FakeHub(rows)
    monkeypatch.setattr("datasets.load_dataset", fake)
    result = load_records(_cfg(source="processbench", hub_name="Qwen/ProcessBench", subset="gsm8k", revision="abc"))
    assert fake.calls == [("Qwen/ProcessBench", None, "gsm8k", "abc")]
    assert [(r.id, r.source, r.label) for r in result.records] == [
        (x["id"], "processbench/gsm8k", x["label"]) for x in rows
    ]


def test_hub_with_field_mapping(monkeypatch):
    fake = _FakeHub(RAW_ROWS)
    monkeypatch.setattr("datasets.load_dataset", fake)
    records = load_records(
        _cfg(source="hub", hub_name="me/critic-data", subset="v1", split="test", fields=MAPPING)
    ).records
    assert fake.calls == [("me/critic-data", "v1", "test", None)]
    assert [(r.id, r.source, r.label) for r in records] == [
        ("q1", "me/critic-data/v1", 0),
        ("q2", "me/critic-data/v1", -1),
    ]


def test_hub_bad_row_is_located(monkeypatch):
    monkeypatch.setattr("datasets.load_dataset", _FakeHub([RAW_ROWS[0], {**RAW_ROWS[1], "first_error": 7}]))
    with pytest.raises(RecordError, match=r"^hf://me/d\[train\], row 1, field 'first_error \(record field 'label'\)'"):
        load_records(_cfg(source="hub", hub_name="me/d", fields=MAPPING))


CONFIG_ERRORS = [
    # a file source without a path
    ({"source": "contract"}, "data.path"),
    # ProcessBench from the Hub needs the split
    ({"source": "processbench", "hub_name": "Qwen/ProcessBench"}, "data.subset"),
    # hub without a dataset name
    ({"source": "hub", "fields": MAPPING}, "data.hub_name"),
    # a typo in the field mapping is not silently ignored
    (
        {"source": "generic", "path": str(BAD_DATA / "wrong_type.jsonl"), "fields": {**MAPPING, "lable": "x"}},
        "data.fields",
    ),
    # unknown source
    ({"source": "csv"}, "data.source"),
]


@pytest.mark.parametrize("kw, key", CONFIG_ERRORS)
def test_config_errors(kw, key):
    with pytest.raises(ConfigError) as info:
        load_records(_cfg(**kw))
    assert [p.key for p in info.value.problems] == [key]


def test_summary_of_a_skip_load(tmp_path):
    result = load_records(
        _cfg(
            source="contract",
            path=str(BAD_DATA / "mixed.jsonl"),
            on_error="skip",
            rejects_path=str(tmp_path / "r.jsonl"),
        )
    )
    summary = summarize(result)
    assert (summary["records"], summary["with_error"], summary["without_error"]) == (3, 1, 2)
    assert sum(summary["skipped"].values()) == 9
    assert summary["rejects"] == str(tmp_path / "r.jsonl")
    assert isinstance(result, LoadResult)


# (records as (problem, steps), dedup, kept indices, dropped count): hand-made repeats
DEDUP = [
    ([("p1", ["a"]), ("p1", ["a"]), ("p1", ["b"]), ("p2", ["a"])], "steps", [0, 2, 3], 1),
    ([("p1", ["a"]), ("p1", ["a"]), ("p1", ["b"]), ("p2", ["a"])], "problem", [0, 3], 2),
    ([("p1", ["a"]), (" p1 ", ["a "])], "steps", [0], 1),  # whitespace does not make a record new
    ([("p1", ["a"]), ("p1", ["a"])], "none", [0, 1], 0),
]


@pytest.mark.parametrize("rows, dedup, kept, dropped", DEDUP)
def test_dedup(rows, dedup, kept, dropped, tmp_path):
    path = tmp_path / "r.jsonl"
    lines = [{"id": f"r{i}", "source": "t", "problem": p, "steps": s, "label": -1} for i, (p, s) in enumerate(rows)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = load_records(DataConfig(source="contract", path=str(path), dedup=dedup))
    assert [r.id for r in result.records] == [f"r{i}" for i in kept]
    assert sum(v for k, v in result.skipped.items() if k.startswith("duplicate")) == dropped
