"""Rows -> prompt-completion chats (records, chat messages, CFT rows), bad rows located, length report."""

from __future__ import annotations

import json

import pytest

from deepcritic.chat_data import LengthReport, cft_example, load_examples, messages_example, record_example
from deepcritic.config import ChatDataConfig, DataConfig, SyntheticConfig
from deepcritic.data.records import StepRecord
from deepcritic.errors import DataError
from tests.helpers.paths import BAD_DATA

U = {"role": "user", "content": "q"}
A = {"role": "assistant", "content": "a"}
S = {"role": "system", "content": "s"}

MESSAGES = [
    # one user turn, one assistant turn
    ({"messages": [U, A]}, [U], "a"),
    # the system turn stays in the prompt
    ({"messages": [S, U, A]}, [S, U], "a"),
    # multi-turn: the LAST assistant turn is the target, earlier turns are prompt
    ({"messages": [U, A, U, {"role": "assistant", "content": "b"}]}, [U, A, U], "b"),
    # extra keys on a turn are dropped
    ({"messages": [{**U, "name": "x"}, A]}, [U], "a"),
]


@pytest.mark.parametrize("row, prompt, target", MESSAGES)
def test_messages_example(row, prompt, target):
    ex = messages_example(row)
    assert ex == {"prompt": prompt, "completion": [{"role": "assistant", "content": target}]}


BAD_MESSAGES = [
    # missing list
    ({"text": "x"}, "field 'messages'"),
    # empty list
    ({"messages": []}, "non-empty list"),
    # a turn without content
    ({"messages": [{"role": "user"}, A]}, "field 'messages[0]'"),
    # no assistant turn
    ({"messages": [U]}, "an assistant turn"),
    # assistant first: nothing to condition on
    ({"messages": [A]}, "an assistant turn"),
]


@pytest.mark.parametrize("row, fragment", BAD_MESSAGES)
def test_messages_example_rejects_with_location(row, fragment):
    with pytest.raises(DataError) as info:
        messages_example(row, file="chats.jsonl", where="line 3")
    assert str(info.value).startswith("chats.jsonl, line 3") and fragment in str(info.value)


CFT = ChatDataConfig(source="cft", path="x.jsonl")
CFT_ROW = {
    "instruction": "Please critique whether the following solution to the question is correct.",
    "input": "Question:\n1+1?\n\nSolution:\n3",
    "output": "The sum is 2.\nConclusion: wrong [END]",
}

CFT_CASES = [
    # --- join=newline (the default): LLaMA-Factory's alpaca rows
    # WebInstruct-CFT form: instruction, one newline, input
    ("newline", CFT_ROW, CFT_ROW["instruction"] + "\n" + CFT_ROW["input"]),
    # empty instruction: the input alone
    ("newline", {**CFT_ROW, "instruction": ""}, CFT_ROW["input"]),
    # empty input (Alpaca style): the instruction alone
    ("newline", {**CFT_ROW, "input": ""}, CFT_ROW["instruction"]),
    # a blank input is not empty: kept, not stripped
    ("newline", {**CFT_ROW, "input": "  "}, CFT_ROW["instruction"] + "\n  "),
    # whitespace and newlines around both parts stay
    (
        "newline",
        {**CFT_ROW, "instruction": " Critique. \n", "input": "\nQuestion:\nQ\n"},
        " Critique. \n\n\nQuestion:\nQ\n",
    ),
    # --- join=stripped_blank_line: each part stripped, a blank line between
    # WebInstruct-CFT form
    ("stripped_blank_line", CFT_ROW, CFT_ROW["instruction"] + "\n\n" + CFT_ROW["input"]),
    # a blank input is left out
    ("stripped_blank_line", {**CFT_ROW, "input": "  "}, CFT_ROW["instruction"]),
    # whitespace around the parts goes
    (
        "stripped_blank_line",
        {**CFT_ROW, "instruction": " Critique. \n", "input": "\nQuestion:\nQ\n"},
        "Critique.\n\nQuestion:\nQ",
    ),
]


@pytest.mark.parametrize("join, row, user", CFT_CASES)
def test_cft_example(join, row, user):
    ex = cft_example(row, ChatDataConfig(source="cft", path="x.jsonl", join=join))
    assert ex["prompt"] == [{"role": "user", "content": user}]
    assert ex["completion"] == [{"role": "assistant", "content": row["output"]}]  # verbatim, [END] included


BAD_CFT = [
    # missing output
    ({k: v for k, v in CFT_ROW.items() if k != "output"}, "field 'output'"),
    # non-string input
    ({**CFT_ROW, "input": 3}, "field 'input'"),
    # empty critique
    ({**CFT_ROW, "output": " "}, "a non-empty critique"),
    # nothing to condition on
    ({**CFT_ROW, "instruction": " ", "input": ""}, "a non-empty instruction or input"),
    # not an object
    (["a"], "an object"),
]


@pytest.mark.parametrize("row, fragment", BAD_CFT)
def test_cft_example_rejects(row, fragment):
    with pytest.raises(DataError, match=fragment.replace("'", ".")):
        cft_example(row, CFT, "cft.jsonl", "line 1")


def test_cft_custom_field_names():
    cfg = ChatDataConfig(source="cft", path="x", instruction_field="q", input_field="ctx", output_field="crit")
    ex = cft_example({"q": "Q", "ctx": "C", "crit": "K"}, cfg)
    assert ex["prompt"][0]["content"] == "Q\nC" and ex["completion"][0]["content"] == "K"


def _record(meta):
    return StepRecord(id="r1", source="synthetic/arith", problem="1+1?", steps=["1+1=2"], label=-1, meta=meta)


def test_record_example_uses_critic_prompt_and_gold_critique():
    ex = record_example(_record({"critique": "ok\n\n**Answer**: \\boxed{-1}"}))
    assert ex["prompt"][0]["role"] == "user" and "Step 1: 1+1=2" in ex["prompt"][0]["content"]
    assert ex["completion"] == [{"role": "assistant", "content": "ok\n\n**Answer**: \\boxed{-1}"}]


def test_record_without_critique_is_a_data_error():
    with pytest.raises(DataError, match="meta.critique"):
        record_example(_record({}))


def test_load_examples_from_synthetic_records_and_files(tmp_path):
    data = DataConfig(synthetic=SyntheticConfig(num_records=6))
    loaded = load_examples(ChatDataConfig(), data)
    ds = loaded.dataset
    assert len(ds) == 6 and loaded.source == "records:synthetic"
    assert "**Answer**: \\boxed{" in ds[0]["completion"][0]["content"]  # the gold critique ends with the verdict

    path = tmp_path / "chats.jsonl"
    path.write_text("\n".join(json.dumps({"messages": [U, A]}) for _ in range(5)) + "\n", encoding="utf-8")
    loaded = load_examples(ChatDataConfig(source="messages", path=str(path), limit=3))
    assert len(loaded.dataset) == 3 and loaded.source == str(path)

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [U, A]}) + "\n" + json.dumps({"messages": [U]}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="bad.jsonl, line 2"):
        load_examples(ChatDataConfig(source="messages", path=str(bad)))


REPORTS = [
    # nothing too long
    (LengthReport(10, 0, 512, 300, False), "all 10 examples fit in max_length=512"),
    # kept and truncated: says so, and how to avoid it
    (
        LengthReport(10, 2, 512, 900, False),
        "2 of 10 examples (20.0%) are longer than max_length=512 tokens (longest: 900): they are truncated",
    ),
    # dropped
    (LengthReport(10, 2, 512, 900, True), "dropped them (train.drop_overlong=true)"),
]


@pytest.mark.parametrize("report, fragment", REPORTS)
def test_length_report_message(report, fragment):
    assert fragment in report.message()
    assert report.metrics()["data/overlong"] == report.overlong


def test_cft_from_the_hub_converts_every_row(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(name, subset, split, revision):
        calls.append((name, subset, split, revision))
        return datasets.Dataset.from_list([CFT_ROW, {**CFT_ROW, "output": "ok\nConclusion: right [END]"}, CFT_ROW])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    chat = ChatDataConfig(source="cft", hub_name="TIGER-Lab/WebInstruct-CFT", subset="WebInstruct-CFT-4K", limit=2)
    loaded = load_examples(chat)
    ds, label = loaded.dataset, loaded.source
    assert calls == [("TIGER-Lab/WebInstruct-CFT", "WebInstruct-CFT-4K", "train", None)]
    assert label == "hf://TIGER-Lab/WebInstruct-CFT/WebInstruct-CFT-4K[train]" and ds.column_names == [
        "prompt",
        "completion",
    ]
    assert len(ds) == 2 and ds[1]["completion"][0]["content"].endswith("Conclusion: right [END]")


def test_hub_failure_is_a_user_error(monkeypatch):
    import datasets

    from deepcritic.errors import DeepcriticError

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'TIGER-Lab/WebInstruct-CFT' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DeepcriticError, match="cannot load hf://TIGER-Lab/WebInstruct-CFT.*chat.path=<file>"):
        load_examples(ChatDataConfig(source="cft", hub_name="TIGER-Lab/WebInstruct-CFT"))


PATHOLOGICAL_CHATS = BAD_DATA / "pathological" / "chat_pathological.jsonl"


def test_bad_chat_rows_are_skipped_counted_and_written(tmp_path):
    """A byte-order mark, CRLF endings, seven good rows and six bad ones (tests/data/bad/README.md)."""
    rejects = tmp_path / "rejects.jsonl"
    chat = ChatDataConfig(source="messages", path=str(PATHOLOGICAL_CHATS), on_error="skip", rejects_path=str(rejects))
    loaded = load_examples(chat)
    assert [(ex["prompt"][0]["content"], ex["completion"][0]["content"]) for ex in loaded.dataset] == [
        (f"What is {i}+{i}?", f"It is {2 * i}.") for i in range(1, 8)
    ]
    lines = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [(r["where"], r["field"], r["reason"]) for r in lines] == [
        ("line 2", None, "too deeply nested"),
        ("line 4", "messages[0].content", "lone surrogate"),
        ("line 6", "messages", "duplicate key"),
        ("line 8", "messages[0]", "wrong type"),
        ("line 10", "messages", "no target"),
        ("line 12", None, "not UTF-8"),
    ]
    assert all(r["file"] == str(PATHOLOGICAL_CHATS) for r in lines)
    assert all(r["error"].startswith(f"{PATHOLOGICAL_CHATS}, {r['where']}") for r in lines)
    # the raw input: the line's text when it did not parse into a usable value, else the row
    assert lines[1]["raw"].startswith('{"messages": [{"role": "user", "content": "2+2? \\ud800"}')
    assert lines[4]["raw"] == {"messages": [{"role": "user", "content": "6+6?"}]}
    assert lines[5]["raw"] == '{"messages": "caf\\xe9"}'
    assert loaded.rejects_path == rejects
    reasons = ["duplicate key", "lone surrogate", "no target", "not UTF-8", "too deeply nested", "wrong type"]
    assert loaded.metrics() == {"data/skipped": 6, **{f"data/skipped/{r}": 1 for r in reasons}}
    assert loaded.message() == (
        f"6 row(s) of {PATHOLOGICAL_CHATS} left out (duplicate key: 1, lone surrogate: 1, no target: 1, "
        f"not UTF-8: 1, too deeply nested: 1, wrong type: 1); rejects in {rejects}"
    )


def test_skipped_hub_rows_go_to_the_default_rejects_file(monkeypatch, tmp_path):
    import datasets

    rows = [CFT_ROW, {**CFT_ROW, "output": "  "}, {**CFT_ROW, "input": "Q: 2+2? A: 4", "instruction": ""}]
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.Dataset.from_list(rows))
    chat = ChatDataConfig(source="cft", hub_name="TIGER-Lab/WebInstruct-CFT", on_error="skip")
    loaded = load_examples(chat, rejects_default=tmp_path / "run" / "rejects.jsonl")
    # row 1's critique is blank: skipped; rows 0 and 2 kept (an empty instruction is allowed)
    assert [ex["prompt"][0]["content"] for ex in loaded.dataset] == [
        CFT_ROW["instruction"] + "\n" + CFT_ROW["input"],
        "Q: 2+2? A: 4",
    ]
    assert loaded.skipped == {"empty target": 1}
    (line,) = [json.loads(x) for x in (tmp_path / "run" / "rejects.jsonl").read_text().splitlines()]
    assert (line["file"], line["where"], line["field"]) == ("hf://TIGER-Lab/WebInstruct-CFT[train]", "row 1", "output")
    assert line["raw"] == rows[1]


def test_skip_with_no_usable_row_still_stops(tmp_path):
    path = tmp_path / "chats.jsonl"
    path.write_text(json.dumps({"messages": [U]}) + "\n" + json.dumps({"messages": "x"}) + "\n", encoding="utf-8")
    rejects = tmp_path / "rejects.jsonl"
    chat = ChatDataConfig(source="messages", path=str(path), on_error="skip", rejects_path=str(rejects))
    with pytest.raises(DataError) as info:
        load_examples(chat)
    assert str(info.value) == (
        f"{path}: expected at least one usable example (all 2 were left out: no target: 1, wrong type: 1; "
        f"see {rejects})"
    )
    assert len(rejects.read_text().splitlines()) == 2


def test_limit_counts_kept_examples_under_skip(tmp_path):
    chat = ChatDataConfig(source="messages", path=str(PATHOLOGICAL_CHATS), on_error="skip", limit=3)
    loaded = load_examples(chat, rejects_default=tmp_path / "rejects.jsonl")
    # three good rows (lines 1, 3 and 5) and the two bad ones between them
    assert len(loaded.dataset) == 3 and loaded.skipped == {"too deeply nested": 1, "lone surrogate": 1}
