"""The data-generation recipes end to end on CPU: synthesize, label and cft-data through vLLM offline on real
records (PRM800K samples, GSM8K, MATH500; one subprocess, see tests/helpers/datagen_driver.py), synthesize
through a real vLLM server on loopback with an API key, and a run killed midway (SIGKILL) and rerun.

The tiny models are random: their judgments almost never parse, so the vLLM tests check files, counts,
structure and that nothing crashed; the exact pipeline logic is checked with scripted teachers in
tests/unit/test_*_pipeline.py. The kill test uses a scripted OpenAI-compatible server, so that its
teacher agrees with the labels and the output is non-empty.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from deepcritic.chat_data import cft_example, messages_example
from deepcritic.config import ChatDataConfig, DataConfig
from deepcritic.critique import parse_critique
from deepcritic.data import load_records
from deepcritic.data.mc import first_wrong_step
from deepcritic.data.records import record_from_dict
from tests.helpers.cli import run_cli
from tests.helpers.env import clean_env
from tests.helpers.paths import DEEPCRITIC, REPO
from tests.helpers.vllm_server import VLLM_ENV, vllm_server

PRM_SAMPLES = "prm800k/samples/samples_prm800k.jsonl"


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text(encoding="utf-8"))


def _assert_key_nowhere(key: str, *texts: str, dirs: list[Path]) -> None:
    """The API key appears in no output file (any file under ``dirs``) and in no captured output."""
    files = [p for d in dirs for p in d.rglob("*") if p.is_file()]
    assert files
    assert not [str(p) for p in files if key.encode() in p.read_bytes()]
    assert all(key not in t for t in texts)


# ---------------------------------------------------------------------------------------------------
# vLLM offline, one engine per model in one subprocess


@pytest.fixture(scope="module")
def driver(tiny_qwen2, shared_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("datagen_driver")
    proc = subprocess.run(
        [sys.executable, "-m", "tests.helpers.datagen_driver", str(out), str(tiny_qwen2), str(shared_data)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(**VLLM_ENV, WANDB_MODE="disabled"),
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


def test_synthesize_runs_every_stage_on_prm800k_with_the_default_tiny_teacher(driver, shared_data):
    run = driver / "synthesize"
    records = load_records(DataConfig(source="prm800k", path=str(shared_data / PRM_SAMPLES), on_error="skip")).records[
        :3
    ]
    span = {r.id: len(r.steps) if r.label < 0 else r.label + 1 for r in records}
    rows = _lines(run / "stages.jsonl")
    keys = [tuple(json.loads(r["id"])) for r in rows]
    assert len(keys) == len(set(keys))
    assert sorted(k for k in keys if k[1] == "initial") == sorted(
        (rid, "initial", i) for rid, n in span.items() for i in range(n)
    )
    assert all(len(r["samples"]) == (2 if r["stage"] == "in_depth" else 1) for r in rows)
    assert all(
        s["finish_reason"] in ("stop", "length") and s["judgment"] in (None, 1, -1) for r in rows for s in r["samples"]
    )
    summary = _summary(run)
    assert summary["records"]["steps_to_critique"] == summary["stages"]["initial"]["steps"] == sum(span.values())
    assert sum(summary["mix"].values()) == len(records) == 2  # the phase-2 labelings of the sample file
    assert summary["mix"]["wrong"] == sum(r.label >= 0 for r in records)
    assert summary["stages"]["in_depth"]["steps"] == sum(1 for k in keys if k[1] == "in_depth")
    sft = _lines(run / "sft.jsonl")
    assert len(sft) == summary["kept"]["total"] == summary["outcomes"].get("kept", 0)
    for row in sft:  # a random teacher rarely gets here; when it does, the row must load and parse
        target = messages_example(row, "messages", "sft.jsonl", row["id"])["completion"][0]["content"]
        assert parse_critique(target).first_error == row["label"]
    assert (run / "tiny_model" / "config.json").is_file() and summary["teacher"].startswith("vllm:")


def test_label_rolls_out_every_step_prefix_through_vllm(driver):
    run = driver / "label_gsm8k"
    records = [record_from_dict(r, "labels.jsonl", f"line {i}") for i, r in enumerate(_lines(run / "labels.jsonl"), 1)]
    assert [r.id for r in records] == ["gsm8k/0-s0", "gsm8k/0-s1", "gsm8k/1-s0", "gsm8k/1-s1"]
    for r in records:
        estimates = r.meta["mc_estimates"]
        assert len(estimates) == len(r.steps) and r.label == first_wrong_step(estimates, 0.0)
        assert estimates[-1] == (1.0 if r.meta["final_answer_correct"] else 0.0)
        assert all(e in (0.0, 0.5, 1.0) for e in estimates)  # 2 rollouts per prefix
    rollouts = [r for r in _lines(run / "stages.jsonl") if r["stage"] == "rollout"]
    assert len(rollouts) == sum(len(r.steps) - 1 for r in records) and all(len(r["hits"]) == 2 for r in rollouts)
    summary = _summary(run)
    assert summary["rollouts"]["total"] == summary["rollouts"]["done_this_run"] == 2 * len(rollouts)
    assert summary["rollouts"]["prefix_caching"] is True and summary["rollouts"]["rollouts_per_s"] > 0
    assert summary["stages"]["solve"]["done_before"] == 2 and summary["stages"]["solve"]["done"] == 0  # seeded


def test_label_continues_each_prefix_inside_the_assistant_turn(driver):
    """The default continuation: what vLLM's engine receives for a rollout is the solve prompt, then an assistant
    turn holding the prefix's steps (blank-line separated) and left open: no end of turn after it."""
    run = driver / "label_gsm8k"
    sent = json.loads((run / "engine_prompts.json").read_text(encoding="utf-8"))
    records = [record_from_dict(r, "labels.jsonl", f"line {i}") for i, r in enumerate(_lines(run / "labels.jsonl"), 1)]
    prefixes = ["\n\n".join(r.steps[: i + 1]) for r in records for i in range(len(r.steps) - 1)]
    turns = []
    for text in sent:
        head, turn = text.rsplit("<|im_start|>assistant\n", 1)
        assert head.startswith("<|im_start|>user\nSolve the following math problem.")
        turns.append(turn)
    # one engine prompt per prefix of each solution (its samples come from n), ending with the prefix's last step
    assert sorted(turns) == sorted(prefixes)


def test_label_with_judge_consensus_through_vllm(driver):
    """consensus=judge with the tiny model as its own judge (deepcritic's protocol): every labeled record is
    judged once, and kept only where the judge's verdict equals its label."""
    run = driver / "label_judge"
    kept, dropped = _lines(run / "labels.jsonl"), _lines(run / "disagreements.jsonl")
    judged = [r for r in _lines(run / "stages.jsonl") if r["stage"] == "judge"]
    assert len(judged) == len(kept) + len(dropped) == 4  # 2 problems x (1 right + 1 wrong) solutions
    assert all(r["label"] == r["meta"]["judge_verdict"] for r in kept)
    assert all(r["label"] != r["meta"]["judge_verdict"] for r in dropped)
    consensus = _summary(run)["consensus"]
    assert (consensus["judged"], consensus["kept"], consensus["dropped"]) == (4, len(kept), len(dropped))
    assert consensus["protocol"] == "deepcritic" and consensus["judge"].startswith("vllm:")


def test_label_on_math500_samples_and_keeps_what_a_random_model_allows(driver):
    run = driver / "label_math500"
    solves = [r for r in _lines(run / "stages.jsonl") if r["stage"] == "solve"]
    assert [json.loads(r["id"])[0] for r in solves] == [
        "math500/test/precalculus/807.json",
        "math500/test/intermediate_algebra/1994.json",
    ]
    assert all(len(r["samples"]) == 2 and all(s["correct"] is False for s in r["samples"]) for r in solves)
    summary = _summary(run)
    assert summary["solutions"]["sampled"] == 4 and summary["labeled"]["records"] == len(_lines(run / "labels.jsonl"))


@pytest.mark.parametrize("name, candidates", [("cft_generate", 4), ("cft_file", 3)])
def test_cft_data_critiques_every_candidate(driver, name, candidates):
    run = driver / name
    critiques = [r for r in _lines(run / "stages.jsonl") if r["stage"] == "critique"]
    assert len(critiques) == candidates == _summary(run)["candidates"]["total"]
    rows = _lines(run / "cft.jsonl")
    assert len(rows) == _summary(run)["kept"]["total"]
    for i, row in enumerate(rows):
        assert cft_example(row, ChatDataConfig(source="cft"), "cft.jsonl", f"line {i}")["completion"][0]["content"]
    if name == "cft_file":
        assert _summary(run)["candidates"]["correct"] == 3  # MATH500 reference solutions, graded by math-verify


# ---------------------------------------------------------------------------------------------------
# A real vLLM server on loopback, with an API key


def test_synthesize_through_vllm_serve_with_an_api_key_that_reaches_no_output(tiny_qwen2, shared_data, tmp_path):
    key = f"sk-test-{secrets.token_hex(12)}"
    run = tmp_path / "run"
    with vllm_server(tiny_qwen2, tmp_path / "server.log", served_name="tiny-teacher", env={"VLLM_API_KEY": key}) as url:
        proc = run_cli(
            "synthesize",
            "rollout@teacher.rollout=openai",
            f"teacher.rollout.openai.base_url={url}",
            "teacher.rollout.openai.model=tiny-teacher",
            "teacher.rollout.openai.api_key_env=DC_TEST_TEACHER_KEY",
            "teacher.rollout.openai.concurrency=4",
            "teacher.sampling.seed=null",
            "teacher.sampling.max_new_tokens=16",
            f"data.path={shared_data / PRM_SAMPLES}",
            "data.limit=2",
            f"hydra.run.dir={run}",
            env={"DC_TEST_TEACHER_KEY": key},
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = _summary(run)
    assert summary["teacher"] == f"openai:tiny-teacher@{url}" and not (run / "tiny_model").exists()
    assert summary["stages"]["initial"]["run"]["done"] == summary["records"]["steps_to_critique"] > 0
    assert summary["stages"]["initial"]["run"]["failed"] == 0  # the key was accepted (a wrong one: HTTP 401)
    assert len(_lines(run / "sft.jsonl")) == summary["kept"]["total"]
    _assert_key_nowhere(key, proc.stdout, proc.stderr, dirs=[run])


# ---------------------------------------------------------------------------------------------------
# Killed midway, then rerun


class ScriptedTeacher:
    """An OpenAI-compatible /v1/chat/completions that critiques like a perfect teacher, slowly: it reads the
    packaged stage templates' headings to find the stage and step, and answers with the label's judgment."""

    def __init__(self, labels: dict[str, int], key: str, delay_s: float = 0.03):
        self.labels, self.key, self.delay_s = labels, key, delay_s
        self.requests, self.bad_auth = 0, 0
        teacher = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                teacher.requests += 1
                teacher.bad_auth += self.headers.get("Authorization") != f"Bearer {teacher.key}"
                time.sleep(teacher.delay_s)
                text = teacher.reply(body["messages"][-1]["content"])
                data = json.dumps(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
                            for i in range(body.get("n", 1))
                        ],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def reply(self, prompt: str) -> str:
        problem = prompt.split("## Problem\n\n", 1)[1].split("\n\n## Solution", 1)[0]
        step = int(re.search(r"## Step to review\n\nStep (\d+):", prompt).group(1)) - 1
        judgment = -1 if step == self.labels[problem] else 1
        stage = "merged" if "## Second review" in prompt else "in-depth" if "## First review" in prompt else "initial"
        return f"The {stage} critique of this step checks each calculation.\n\n\\boxed{{{judgment}}}"

    def close(self) -> None:
        self.httpd.shutdown()


def _synthesize_cmd(url: str, run: Path, data: Path) -> list[str]:
    return [
        str(DEEPCRITIC),
        "synthesize",
        "rollout@teacher.rollout=openai",
        f"teacher.rollout.openai.base_url={url}",
        "teacher.rollout.openai.model=scripted",
        "teacher.rollout.openai.api_key_env=DC_TEST_TEACHER_KEY",
        "teacher.rollout.openai.concurrency=2",
        f"data.path={data / PRM_SAMPLES}",
        "data.limit=null",
        "extra_correct=-1",
        "batch_size=4",
        f"hydra.run.dir={run}",
    ]


def test_a_run_killed_midway_reruns_to_each_item_exactly_once(shared_data, tmp_path):
    records = load_records(DataConfig(source="prm800k", path=str(shared_data / PRM_SAMPLES), on_error="skip")).records
    key = f"sk-test-{secrets.token_hex(12)}"
    teacher = ScriptedTeacher({r.problem: r.label for r in records}, key)
    env = clean_env(DC_TEST_TEACHER_KEY=key, HYDRA_FULL_ERROR="0")
    try:
        killed = tmp_path / "killed"
        proc = subprocess.Popen(
            _synthesize_cmd(teacher.url, killed, shared_data),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        stages = killed / "stages.jsonl"
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if stages.exists() and stages.read_text(encoding="utf-8").count("\n") >= 12:
                break
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL, "the run finished before it could be killed"
        partial = len(_lines(stages))
        assert not (killed / "sft.jsonl").exists() and partial >= 12

        rerun = subprocess.run(
            _synthesize_cmd(teacher.url, killed, shared_data), env=env, capture_output=True, text=True, timeout=300
        )
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        clean = tmp_path / "clean"
        whole = subprocess.run(
            _synthesize_cmd(teacher.url, clean, shared_data), env=env, capture_output=True, text=True, timeout=300
        )
        assert whole.returncode == 0, whole.stderr[-3000:]
    finally:
        teacher.close()
    keys = [r["id"] for r in _lines(stages)]
    span = sum(len(r.steps) if r.label < 0 else r.label + 1 for r in records)
    assert len(keys) == len(set(keys)) == 3 * span  # every (record, stage, step) once: nothing lost, nothing twice
    summary = _summary(killed)
    assert summary["stages"]["initial"]["run"]["done_before"] >= min(partial, span)
    sft = _lines(killed / "sft.jsonl")
    assert [r["id"] for r in sft] == [r.id for r in records] and sft == _lines(clean / "sft.jsonl")
    assert all(parse_critique(r["messages"][1]["content"]).first_error == r["label"] for r in sft)
    assert teacher.bad_auth == 0 and teacher.requests > 0
    _assert_key_nowhere(key, rerun.stdout, rerun.stderr, whole.stdout, whole.stderr, dirs=[killed, clean])
