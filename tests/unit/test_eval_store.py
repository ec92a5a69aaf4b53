"""Resumable result files: rows appended per batch, a crash-cut last line dropped, reruns skip done ids."""

from __future__ import annotations

import json

from deepcritic.store import ResultStore


def test_append_then_reopen_knows_done_ids(tmp_path):
    path = tmp_path / "p" / "preds.jsonl"
    store = ResultStore(path)
    assert store.done() == set() and store.append([]) == 0
    assert store.append([{"id": "a", "v": 1}, {"id": 2, "v": 2}]) == 2
    again = ResultStore(path)
    assert again.done() == {"a", "2"}
    assert [r["v"] for r in again.rows()] == [1, 2]


def test_partial_last_line_is_dropped_before_appending(tmp_path):
    path = tmp_path / "preds.jsonl"
    path.write_text(json.dumps({"id": "a"}) + "\n" + '{"id": "b", "samp', encoding="utf-8")
    store = ResultStore(path)
    assert store.done() == {"a"}
    store.append([{"id": "b"}])
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b"]  # no glued line


def test_only_partial_line_leaves_an_empty_file(tmp_path):
    path = tmp_path / "preds.jsonl"
    path.write_text('{"id": "a"', encoding="utf-8")
    assert ResultStore(path).done() == set() and path.read_text() == ""


def test_bad_lines_are_ignored_and_last_row_of_an_id_wins(tmp_path):
    path = tmp_path / "preds.jsonl"
    path.write_text('not json\n{"no_id": 1}\n[1, 2]\n{"id": "a", "v": 1}\n{"id": "a", "v": 2}\n', encoding="utf-8")
    store = ResultStore(path)
    assert store.done() == {"a"} and store.rows() == [{"id": "a", "v": 2}]
