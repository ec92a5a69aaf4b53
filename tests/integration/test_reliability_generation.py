"""Generation recipes lose nothing when their server fails or they are killed: `deepcritic eval`, `synthesize`
and `label` against a fault-injecting OpenAI-compatible server on 127.0.0.1 (tests/helpers/openai_server.py).

- A server that starts failing (HTTP 500, malformed JSON, hanging past the timeout) or refuses connections:
  bounded retries with backoff, then one clear error line and exit status 2, no traceback; the records
  finished before the fault stay in the predictions file; a rerun against a healthy server finishes the
  rest, and every record is in the file exactly once.
- SIGKILL midway (a crash, the OOM killer), even with a half-written last line: the rerun in the same run
  directory sends only what is missing and ends with the same outputs as an uninterrupted run, every item
  exactly once.

The server's answers depend only on the request (a hash of its messages), so an interrupted run and an
uninterrupted one see the same texts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers.cli import run_cli
from tests.helpers.net import closed_port_url
from tests.helpers.openai_server import ScriptedServer
from tests.helpers.procs import CliProcess, file_lines

RECORDS = 8


def _digest(body: dict, index: int) -> int:
    text = json.dumps([body["messages"], index, body.get("seed")], sort_keys=True)
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)


def critic_text(body: dict, index: int) -> str:
    """A critique in the protocol's format, its verdict (-1, 1 or 2) picked by the request's hash."""
    verdict = _digest(body, index) % 3 - 1 or 2
    return f"Step 1: the arithmetic checks out. \\boxed{{1}}\n\n**Answer**: \\boxed{{{verdict}}}"


def teacher_text(body: dict, index: int) -> str:
    """A stage critique ending in a step judgment (+1, or -1 for one request in four, by the request's hash)."""
    sign = "1" if _digest(body, index) % 4 else "-1"
    return f"The step follows from the previous ones; the numbers agree.\nJudgment: \\boxed{{{sign}}}"


def solver_text(body: dict, index: int) -> str:
    """A three-step solution whose answer is 18 (right for GSM8K test problem 0) or 17, by the request's hash."""
    answer = 18 if _digest(body, index) % 2 else 17
    return f"First we count the eggs.\n\nThen we multiply by the price.\n\nSo the answer is \\boxed{{{answer}}}."


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _ids_once(path: Path) -> list[str]:
    """The ids of a JSONL file, asserting that none appears twice."""
    ids = [row["id"] for row in _rows(path)]
    repeated = [i for i, n in Counter(ids).items() if n > 1]
    assert not repeated, f"ids written twice in {path.name}: {repeated[:5]}"
    return ids


# ---------------------------------------------------------------------------------------------------
# eval


def _eval_args(shared_data: Path, url: str, run_dir: Path, *extra: str) -> list[str]:
    pb = shared_data / "processbench" / "gsm8k.json"
    return [
        "eval",
        "rollout=openai",
        f"rollout.openai.base_url={url}",
        "rollout.openai.model=critic",
        "rollout.openai.backoff_s=0.05",
        "rollout.openai.backoff_max_s=0.1",
        "rollout.openai.max_retries=2",
        "rollout.openai.timeout_s=5",
        "benchmarks=[]",
        f"+benchmarks.pb={{source: processbench, path: '{pb}'}}",
        f"limit={RECORDS}",
        "logger=disabled",
        f"hydra.run.dir={run_dir}",
        *extra,
    ]


def _pb_ids(shared_data: Path) -> list[str]:
    """The ids eval's ``limit`` draws (a seeded sample stratified by label class, in file order)."""
    from deepcritic.data.records import StepRecord
    from deepcritic.data.sample import stratified_sample

    raw = json.loads((shared_data / "processbench" / "gsm8k.json").read_text())
    records = [StepRecord(r["id"], "pb", r["problem"], r["steps"], r["label"]) for r in raw]
    return [r.id for r in stratified_sample(records, RECORDS, seed=0)[0]]


FAULTS = [
    # the server answers 3 requests, then HTTP 500 for good
    (500, 3, "InternalServerError"),
    # ... then a 200 whose body is not JSON
    ("malformed", 3, "malformed response"),
    # ... then never answers within the client's time-out
    ("hang", 3, "Timeout"),
]


@pytest.mark.parametrize("fault, good, named", FAULTS)
def test_eval_server_fault_stops_with_a_clear_error_and_keeps_finished_records(
    fault, good, named, shared_data, tmp_path
):
    with ScriptedServer([200] * good, default=fault, content=critic_text, hang_s=3.0) as server:
        proc = run_cli(
            *_eval_args(
                shared_data,
                server.url,
                tmp_path,
                "batch_size=1",
                "rollout.openai.concurrency=1",
                "rollout.openai.timeout_s=0.5",
            )
        )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    error = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and "every item of a batch failed" in error[0] and named in error[0], proc.stderr[-2000:]
    assert f"{good} rows were saved" in error[0] and "rerun with the same run dir to resume" in error[0]
    assert _ids_once(tmp_path / "predictions" / "pb.jsonl") == _pb_ids(shared_data)[:good]
    assert len(server.requests) == good + 3  # the failing record: one try and max_retries=2 retries, then stop


def test_eval_refused_connection_is_a_clear_error(shared_data, tmp_path):
    proc = run_cli(*_eval_args(shared_data, closed_port_url(), tmp_path, "batch_size=4"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "error: pb: every item of a batch failed (APIConnectionError" in proc.stderr
    assert (
        not (tmp_path / "predictions" / "pb.jsonl").exists() or _ids_once(tmp_path / "predictions" / "pb.jsonl") == []
    )


def test_eval_rerun_after_a_fault_finishes_every_record_exactly_once(shared_data, tmp_path):
    with ScriptedServer([200] * 5, default=500, content=critic_text) as server:
        first = run_cli(*_eval_args(shared_data, server.url, tmp_path, "batch_size=2", "rollout.openai.concurrency=2"))
        assert first.returncode == 2
        kept = (tmp_path / "predictions" / "pb.jsonl").read_text(encoding="utf-8")
        assert len(_ids_once(tmp_path / "predictions" / "pb.jsonl")) == 5  # a batch of 2 with one failure keeps one
        server.set(default=200)  # the server recovers
        second = run_cli(*_eval_args(shared_data, server.url, tmp_path, "batch_size=2", "rollout.openai.concurrency=2"))
    assert second.returncode == 0, second.stderr[-3000:]
    assert "5 of 8 already done" in second.stdout + second.stderr
    path = tmp_path / "predictions" / "pb.jsonl"
    assert path.read_text(encoding="utf-8").startswith(kept)  # finished records are kept as they were
    assert sorted(_ids_once(path)) == sorted(_pb_ids(shared_data))
    assert json.loads((tmp_path / "metrics.json").read_text())["benchmarks"]["pb"]["records"] == RECORDS


def test_eval_killed_midway_resumes_with_every_record_exactly_once(shared_data, tmp_path):
    with ScriptedServer(content=critic_text, delay_s=0.3) as server:
        reference = tmp_path / "reference"
        assert run_cli(*_eval_args(shared_data, server.url, reference, "batch_size=1")).returncode == 0
        run_dir = tmp_path / "run"
        predictions = run_dir / "predictions" / "pb.jsonl"
        first = CliProcess(*_eval_args(shared_data, server.url, run_dir, "batch_size=1"), log=tmp_path / "first.log")
        first.wait_for(lambda: file_lines(predictions) >= 3, timeout=120, what="3 predictions")
        assert first.kill() == -9
        done = file_lines(predictions)
        assert 3 <= done < RECORDS
        with predictions.open("a") as fh:  # as if the kill had come in the middle of writing a row
            fh.write('{"id": "gsm8k-7", "source": "processbench/gsm8k", "samples": [{"text": "Step 1')
        second = run_cli(*_eval_args(shared_data, server.url, run_dir, "batch_size=1"))
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"{done} of {RECORDS} already done" in second.stdout + second.stderr
    assert sorted(_ids_once(predictions)) == sorted(_pb_ids(shared_data))
    by_id = {r["id"]: r for r in _rows(predictions)}
    assert by_id == {r["id"]: r for r in _rows(reference / "predictions" / "pb.jsonl")}
    got, want = (json.loads((d / "metrics.json").read_text())["benchmarks"]["pb"] for d in (run_dir, reference))
    assert got == want


# ---------------------------------------------------------------------------------------------------
# synthesize and label: stage results in stages.jsonl


def _synthesize_args(url: str, run_dir: Path) -> list[str]:
    return [
        "synthesize",
        "rollout@teacher.rollout=openai",
        f"teacher.rollout.openai.base_url={url}",
        "teacher.rollout.openai.model=teacher",
        "teacher.rollout.openai.max_retries=1",
        "batch_size=2",
        "teacher.rollout.openai.concurrency=2",
        "data.limit=4",
        f"hydra.run.dir={run_dir}",
    ]


def _label_args(url: str, run_dir: Path) -> list[str]:
    return [
        "label",
        "rollout@generator.rollout=openai",
        f"generator.rollout.openai.base_url={url}",
        "generator.rollout.openai.model=generator",
        "generator.rollout.openai.max_retries=1",
        "limit=4",
        "rollouts_per_step=2",
        "generator.sampling.n=4",
        "batch_size=1",
        f"hydra.run.dir={run_dir}",
    ]


def cft_text(body: dict, index: int) -> str:
    """A CFT critique that concludes right or wrong by the request's hash."""
    verdict = "right" if _digest(body, index) % 2 else "wrong"
    return f"The computation is checked line by line.\n\nConclusion: {verdict}"


def _cft_data_args(url: str, run_dir: Path) -> list[str]:
    return [
        "cft-data",
        "rollout@teacher.rollout=openai",
        f"teacher.rollout.openai.base_url={url}",
        "teacher.rollout.openai.model=teacher",
        "teacher.rollout.openai.max_retries=1",
        "candidates.source=file",
        "candidates.path=${oc.env:DEEPCRITIC_DATA}/math500/test.jsonl",
        "candidates.question_field=problem",
        "candidates.solution_field=solution",
        "candidates.answer_field=answer",
        "candidates.id_field=unique_id",
        "limit=6",
        "batch_size=1",
        f"hydra.run.dir={run_dir}",
    ]


def _filter_args(url: str, run_dir: Path) -> list[str]:
    return [
        "filter",
        "rollout=openai",
        f"rollout.openai.base_url={url}",
        "rollout.openai.model=critic",
        "rollout.openai.max_retries=1",
        "data.synthetic.num_records=8",
        "sampling.n=4",
        "sampling.max_new_tokens=64",
        "batch_size=1",
        "logger=disabled",
        f"hydra.run.dir={run_dir}",
    ]


DATAGEN = [
    # (recipe args, the server's texts, its final output, its result file, rows to wait for before the kill)
    (_synthesize_args, teacher_text, "sft.jsonl", "stages.jsonl", 4),
    (_label_args, solver_text, "labels.jsonl", "stages.jsonl", 5),  # 4 solve rows, then into the rollout stage
    (_cft_data_args, cft_text, "cft.jsonl", "stages.jsonl", 2),
    (_filter_args, critic_text, "kept.jsonl", "samples.jsonl", 3),
]


@pytest.mark.parametrize(
    "make_args, content, output, store, kill_after", DATAGEN, ids=["synthesize", "label", "cft-data", "filter"]
)
def test_datagen_killed_midway_resumes_with_every_item_exactly_once(
    make_args, content, output, store, kill_after, shared_data, tmp_path
):
    env = {"DEEPCRITIC_DATA": str(shared_data)}
    with ScriptedServer(content=content, delay_s=0.25, finish="stop") as server:
        reference = tmp_path / "reference"
        proc = run_cli(*make_args(server.url, reference), env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        run_dir = tmp_path / "run"
        stages = run_dir / store
        first = CliProcess(*make_args(server.url, run_dir), log=tmp_path / "first.log", env=env)
        first.wait_for(lambda: file_lines(stages) >= kill_after, timeout=120, what=f"{kill_after} stage rows")
        assert first.kill() == -9
        assert not (run_dir / output).exists()
        done = file_lines(stages)
        second = run_cli(*make_args(server.url, run_dir), env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    # the rerun skipped exactly what was stored (each stage logs "<stage>: N of M already done")
    skipped = re.findall(r"\w+: (\d+) of \d+ already done", second.stdout + second.stderr)
    assert sum(map(int, skipped)) == done, skipped
    want = _ids_once(reference / store)
    assert sorted(_ids_once(stages)) == sorted(want) and len(want) > done
    assert {r["id"]: r for r in _rows(stages)} == {r["id"]: r for r in _rows(reference / store)}
    assert _rows(run_dir / output) == _rows(reference / output)  # the final output: same items, once each
    assert _rows(reference / output)  # and not trivially empty
