"""The whole bad-input corpus (tests/data/bad, plus 50 MB lines made here) through the real CLI.

Under ``data.on_error=skip`` every record-level defect is skipped, counted by reason in summary.json and
written to rejects.jsonl, and the good records are kept; file-level defects (an empty file, a JSON array
cut off, nothing usable left) stop the run with one located error line and exit status 2. Bad chat rows
for ``sft`` / ``cft`` stop the run the same way, before any training, or under ``chat.on_error=skip`` are
counted (metrics.json, model card), written to rejects.jsonl and left out. A sample of the pathological files
(tests/data/bad/pathological, every loader in-process in tests/unit/test_bad_input_everywhere.py) goes through
``convert``, ``sft`` and ``score``. Never a Python traceback. (Under ``on_error=raise`` each file's exact
message is checked in tests/integration/test_cli_bad_input.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import run_cli
from tests.helpers.paths import BAD_DATA

# file -> (source, records kept and skipped by reason) or (source, the start of the error after "error: <file>")
CORPUS = {
    "truncated_line.jsonl": ("contract", 2, {"malformed JSON": 1}),
    "wrong_type.jsonl": ("contract", 2, {"wrong type": 1}),
    "non_utf8.jsonl": ("contract", 2, {"not UTF-8": 1}),
    "label_out_of_range.jsonl": ("contract", 2, {"label out of range": 1}),
    "empty_step.jsonl": ("contract", 1, {"empty step": 1}),
    "duplicate_id.jsonl": ("contract", 2, {"duplicate id": 1}),
    "missing_field.jsonl": ("contract", 1, {"missing field": 1}),
    "mixed.jsonl": (
        "contract",
        3,
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
    "processbench_bad_record.json": ("processbench", 2, {"label out of range": 1}),
    # records PRM800K's own rules leave out are counted, but they are not errors (no rejects file)
    "prm800k_handmade.jsonl": (
        "prm800k_phase1",
        5,  # lines 1 and 2: their paths and siblings (tests/unit/test_data_prm800k.py)
        {
            "prm800k finish_reason=bad_problem": 1,
            "prm800k label.steps=null": 1,
            "prm800k phase=2 (data.prm800k.phase=1)": 1,
        },
    ),
    # file-level: fatal whatever on_error says
    "empty.jsonl": ("contract", ": expected at least one record (the file is empty)"),
    "processbench_empty_array.json": ("processbench", ": expected at least one record (the file is empty)"),
    "processbench_truncated.json": ("processbench", ", record 1, line 20: expected valid JSON"),
    # every record bad: nothing to write, and the message says where the rejects are
    "empty_steps.jsonl": (
        "contract",
        ": expected at least one usable record (all 1 were left out: empty steps: 1; see ",
    ),
    "prm800k_bad_chosen.jsonl": (
        "prm800k_phase1",
        ": expected at least one usable record (all 2 were left out: wrong type: 2",
    ),
}

# chat rows for sft (messages) and cft: file -> (where, field) in the error
CHAT = {
    "chat_truncated_line.jsonl": ", line 2: expected one JSON object per line",
    "chat_not_a_list.jsonl": ", line 1, field 'messages': expected a non-empty list of {role, content} messages",
    "chat_bad_turn.jsonl": ", line 2, field 'messages[1]': expected an object with string 'role' and 'content'",
    "chat_no_assistant.jsonl": ", line 1, field 'messages': expected an assistant turn (the target)",
    "chat_non_utf8.jsonl": ", line 2: expected UTF-8 text (invalid continuation byte",
    "chat_empty.jsonl": ": expected at least one example (the file is empty)",
    "cft_missing_output.jsonl": ", line 2, field 'output': expected a string (field is missing)",
    "cft_wrong_type.jsonl": ", line 1, field 'output': expected a string, got 1",
}


# the same chat files under chat.on_error=skip: file -> (examples kept, skipped by reason) or the start of the error
CHAT_SKIP = {
    "chat_truncated_line.jsonl": (1, {"malformed JSON": 1}),
    "chat_not_a_list.jsonl": (1, {"wrong type": 1}),
    "chat_bad_turn.jsonl": (1, {"wrong type": 1}),
    "chat_no_assistant.jsonl": ": expected at least one usable example (all 1 were left out: no target: 1; see ",
    "chat_non_utf8.jsonl": (1, {"not UTF-8": 1}),
    "chat_empty.jsonl": ": expected at least one example (the file is empty)",
    "cft_missing_output.jsonl": (1, {"missing field": 1}),
    "cft_wrong_type.jsonl": ": expected at least one usable example (all 1 were left out: wrong type: 1; see ",
}


def test_corpus_table_covers_every_bad_file():
    files = {p.name for p in BAD_DATA.iterdir() if p.is_file() and p.name != "README.md"}
    assert files == set(CORPUS) | set(CHAT), "add new files of tests/data/bad to CORPUS or CHAT"
    assert set(CHAT) == set(CHAT_SKIP)


def _one_error_line(proc) -> str:
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr[-3000:]
    return errors[0]


def _convert_skip(path: Path, source: str, run_dir: Path):
    return run_cli("convert", f"data={source}", f"data.path={path}", "data.on_error=skip", f"hydra.run.dir={run_dir}")


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_file_under_on_error_skip(name, tmp_path):
    source, *expected = CORPUS[name]
    path = BAD_DATA / name
    proc = _convert_skip(path, source, tmp_path)
    if isinstance(expected[0], str):
        assert _one_error_line(proc).startswith(f"error: {path}{expected[0]}")
        assert not (tmp_path / "records.jsonl").exists()  # nothing half-written
        return
    kept, skipped = expected
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (summary["records"], summary["skipped"]) == (kept, skipped)
    assert len((tmp_path / "records.jsonl").read_text().splitlines()) == kept
    errors = sum(n for reason, n in skipped.items() if not reason.startswith("prm800k "))
    rejects = tmp_path / "rejects.jsonl"
    if errors:
        lines = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
        assert len(lines) == errors and {line["file"] for line in lines} == {str(path)}
        assert all(line["where"] and line["error"].startswith(f"{path}, {line['where']}") for line in lines)
    else:
        assert not rejects.exists()


@pytest.fixture(scope="module")
def enormous(tmp_path_factory) -> dict[str, Path]:
    """Two files with a 50 MB single line between two good records (made here; never committed)."""
    root = tmp_path_factory.mktemp("enormous")
    size = 50 * 2**20

    def good(i: int) -> str:
        return json.dumps(
            {"id": f"r{i}", "source": "t", "problem": "What is 2 + 2?", "steps": ["2 + 2 = 4"], "label": -1}
        )

    files = {
        # a 50 MB line cut off inside a string: malformed JSON
        "malformed": '{"id": "big", "source": "t", "problem": "' + "x" * size,
        # a well-formed line whose label is a 50 MB string
        "wrong_type": json.dumps({"id": "big", "source": "t", "problem": "p", "steps": ["s"], "label": "9" * size}),
    }
    out = {}
    for name, line in files.items():
        out[name] = root / f"{name}.jsonl"
        out[name].write_text(f"{good(1)}\n{line}\n{good(3)}\n", encoding="utf-8")
    return out


ENORMOUS = [
    (
        "malformed",
        ", line 2: expected one JSON object per line (Unterminated string starting at column 41)",
        "malformed JSON",
    ),
    ("wrong_type", ", line 2, field 'label': expected an integer label, got '99999", "wrong type"),
]


@pytest.mark.parametrize("name, message, reason", ENORMOUS, ids=[e[0] for e in ENORMOUS])
def test_enormous_line_gives_a_short_located_error(enormous, name, message, reason, tmp_path):
    path = enormous[name]
    line = _one_error_line(run_cli("convert", "data=contract", f"data.path={path}", f"hydra.run.dir={tmp_path}"))
    assert line.startswith(f"error: {path}{message}")
    assert len(line) < 400  # the 50 MB value is cut, not echoed


@pytest.mark.parametrize("name, message, reason", ENORMOUS, ids=[e[0] for e in ENORMOUS])
def test_enormous_line_is_skipped_and_counted(enormous, name, message, reason, tmp_path):
    proc = _convert_skip(enormous[name], "contract", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(proc.stdout) + len(proc.stderr) < 100_000  # the console does not get the 50 MB
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (summary["records"], summary["skipped"]) == (2, {reason: 1})
    assert [json.loads(line)["id"] for line in (tmp_path / "records.jsonl").read_text().splitlines()] == ["r1", "r3"]
    (reject,) = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert (reject["where"], reject["reason"]) == ("line 2", reason)


CHAT_CLI = [
    # sft on chat rows whose second row has a turn without content
    ("sft", "chat=messages", "chat_bad_turn.jsonl"),
    # cft on WebInstruct-CFT rows, the second without output
    ("cft", "chat=webinstruct_cft", "cft_missing_output.jsonl"),
]


@pytest.mark.parametrize("recipe, chat, name", CHAT_CLI)
def test_bad_chat_rows_stop_training_before_it_starts(recipe, chat, name, tmp_path):
    path = BAD_DATA / name
    proc = run_cli(recipe, chat, f"chat.path={path}", "model=tiny", "logger=disabled", f"hydra.run.dir={tmp_path}")
    assert _one_error_line(proc).startswith(f"error: {path}{CHAT[name]}")
    assert not list(tmp_path.glob("checkpoint-*")) and not (tmp_path / "final").exists()


@pytest.mark.parametrize("name", sorted(CHAT))
def test_every_bad_chat_file_gives_a_located_error(name):
    from deepcritic.chat_data import load_examples
    from deepcritic.config import ChatDataConfig
    from deepcritic.errors import DataError

    path = BAD_DATA / name
    with pytest.raises(DataError) as info:
        load_examples(ChatDataConfig(source="cft" if name.startswith("cft_") else "messages", path=str(path)))
    assert str(info.value).startswith(f"{path}{CHAT[name]}")


@pytest.mark.parametrize("name", sorted(CHAT_SKIP))
def test_every_bad_chat_file_under_chat_on_error_skip(name, tmp_path):
    from deepcritic.chat_data import load_examples
    from deepcritic.config import ChatDataConfig
    from deepcritic.errors import DataError

    path, rejects = BAD_DATA / name, tmp_path / "rejects.jsonl"
    chat = ChatDataConfig(source="cft" if name.startswith("cft_") else "messages", path=str(path), on_error="skip")
    expected = CHAT_SKIP[name]
    if isinstance(expected, str):
        with pytest.raises(DataError) as info:
            load_examples(chat, rejects_default=rejects)
        assert str(info.value).startswith(f"{path}{expected}")
        return
    loaded = load_examples(chat, rejects_default=rejects)
    assert (len(loaded.dataset), loaded.skipped) == expected
    assert len(rejects.read_text(encoding="utf-8").splitlines()) == sum(expected[1].values())


PATHOLOGICAL = BAD_DATA / "pathological"

# a sample of tests/unit/test_bad_input_everywhere.py through the CLI: (recipe and overrides, file, the error line)
CLI_SAMPLE = [
    # a UTF-16 file
    (
        ("convert", "data=contract"),
        "utf16le_bom.jsonl",
        ", line 1: expected UTF-8 text (the file starts with a UTF-16 LE",
    ),
    # \ud800 without its pair (it could not be written back)
    (("convert", "data=contract"), "lone_surrogate.jsonl", ", line 2, field 'problem': expected valid Unicode text"),
    # NaN as a label
    (("convert", "data=contract"), "nan_label.jsonl", ", line 2, field 'label': expected an integer label, got nan"),
    # 100,000 nested arrays (made in the test)
    (("convert", "data=contract"), "deep.jsonl", ", line 2: expected JSON nested at most 100 levels deep"),
    # JSON Lines named .parquet
    (("convert", "data=contract"), "not_parquet.parquet", ": expected a readable parquet file (Parquet magic bytes"),
    # a chat turn with a lone surrogate, for sft
    (
        ("sft", "chat=messages", "model=tiny", "logger=disabled"),
        "chat_lone_surrogate.jsonl",
        ", line 2, field 'messages[0].content'",
    ),
    # NaN as a label in saved critic outputs, for score
    (("score",), "score_nan_label.jsonl", ": record 1 (line 2): label: expected a step number (from 0)"),
]


@pytest.mark.parametrize("args, name, message", CLI_SAMPLE, ids=[f"{a[0]}-{n}" for a, n, _ in CLI_SAMPLE])
def test_pathological_files_give_one_located_error_and_exit_2(args, name, message, tmp_path):
    path = PATHOLOGICAL / name
    if name == "deep.jsonl":
        path = tmp_path / name
        good = (PATHOLOGICAL / "crlf.jsonl").read_text(encoding="utf-8").splitlines()[0]
        path.write_text(good + "\n" + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    where = {"convert": "data.path", "sft": "chat.path", "score": "+inputs.b"}[args[0]]
    run = tmp_path / "run"
    proc = run_cli(*args, f"{where}={path}", f"hydra.run.dir={run}")
    assert _one_error_line(proc).startswith(f"error: {path}{message}")
    assert not (run / "records.jsonl").exists() and not (run / "final").exists()


def test_sft_skips_bad_chat_rows_and_reports_them(tmp_path):
    """sft with chat.on_error=skip on seven good chat rows and six bad ones: it trains on the seven; the six are
    counted by reason in metrics.json and the model card, written to rejects.jsonl, and logged."""
    path = PATHOLOGICAL / "chat_pathological.jsonl"
    proc = run_cli(
        "sft",
        "chat=messages",
        f"chat.path={path}",
        "chat.on_error=skip",
        "model=tiny",
        "logger=disabled",
        "train.max_steps=1",
        f"hydra.run.dir={tmp_path}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    reasons = ["duplicate key", "lone surrogate", "no target", "not UTF-8", "too deeply nested", "wrong type"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["data/examples"] == 7
    assert {k: v for k, v in metrics.items() if k.startswith("data/skipped")} == {
        "data/skipped": 6,
        **{f"data/skipped/{r}": 1 for r in reasons},
    }
    card = (tmp_path / "final" / "README.md").read_text(encoding="utf-8")
    assert "| data/skipped | 6 |" in card and "| data/skipped/lone surrogate | 1 |" in card
    rejects = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(r["reason"] for r in rejects) == reasons
    assert f"6 row(s) of {path} left out" in proc.stdout + proc.stderr
