"""Sharing results through the real CLI, against a local fake of the Hub's API (tests/helpers/fake_hub.py; no
network here): `sft` with an evaluation during training that keeps best/, TensorBoard beside wandb, and
``hub.push=true hub.strategy=checkpoint``; `deepcritic push` after a push that failed; `convert` to a Hub data set
and a local parquet file; an `eval` run's figures into the model's card.

Checked: the files and the card metadata that reached the Hub (final/ at the root, best/ under best/, the newest
checkpoint under last-checkpoint/; the model-index read back by huggingface_hub's parser holds the figures the run
measured), that no token is in any file written or in the console output, TensorBoard's event files holding what
the trainer logged under wandb's names, a rerun of a failed push sending only what is missing, and the one-line
errors (exit status 2) of a push without a token (before training) or without a network (after the local save).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard, ModelCard

from tests.helpers.cli import run_cli
from tests.helpers.fake_hub import FakeHub
from tests.helpers.net import closed_port_url
from tests.helpers.openai_server import ScriptedServer
from tests.helpers.secrets import in_text, leaks
from tests.helpers.wandb_files import wandb_records

SECRETS = {"HF_TOKEN": "hf_dcsecret0publish0" + "Kx3Tq8Vb1Mz6Lw4Hn2Rj"}
TOKEN = SECRETS["HF_TOKEN"]
REPO = "tester/deepcritic-sft"
END_OF_TRAINING = ("train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos")
SFT = [
    "data.synthetic.num_records=16",
    "train.global_batch_size=4",
    "train.per_device_batch_size=4",
    "train.max_steps=4",
    "train.save_steps=2",
    "train.logging_steps=1",
    "train.max_length=1024",
    "model.from_scratch=false",
]


def _hub_env(hub_url: str, home: Path, token: str | None = TOKEN) -> dict[str, str]:
    env = {"HF_ENDPOINT": hub_url, "HF_HUB_DISABLE_XET": "1", "HF_HOME": str(home), "HF_TOKEN": token or ""}
    return env


def _one_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


@pytest.fixture(scope="module")
def fake():
    with FakeHub(token=TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def sft_run(fake, tiny_qwen2, shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("publish")
    run_dir = root / "sft"
    proc = run_cli(
        "sft",
        f"hydra.run.dir={run_dir}",
        f"model.name_or_path={tiny_qwen2}",
        *SFT,
        f"+eval_during_training.benchmarks.gsm8k={{source: processbench, path: {shared_data}/processbench/gsm8k.json}}",
        "eval_during_training.limit=2",
        "eval_during_training.every_steps=2",
        "eval_during_training.sampling.max_new_tokens=8",
        "eval_during_training.keep_best=true",
        "logger=[wandb_offline,tensorboard]",
        "hub.push=true",
        f"hub.model_id={REPO}",
        "hub.strategy=checkpoint",
        "hub.license=apache-2.0",
        "hub.tags=[ci]",
        env=_hub_env(fake.url, root / "hf_home"),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return run_dir, proc


def _local(folder: Path, prefix: str = "") -> dict[str, bytes]:
    return {f"{prefix}{p.relative_to(folder).as_posix()}": p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _figures(card: ModelCard) -> list[tuple]:
    return [
        (r.dataset_type, r.metric_type, r.metric_config, r.metric_value, r.metric_args) for r in card.data.eval_results
    ]


def _expected(run_dir: Path, step: int) -> list[tuple]:
    """The figures a card must hold for the evaluation at ``step``: its metrics.json, as percentages."""
    m = json.loads((run_dir / "eval_during_training" / f"step-{step}" / "metrics.json").read_text())["benchmarks"]
    keys = ("f1", "acc_error", "acc_correct", "parse_rate")
    return [("gsm8k", k, "deepcritic", round(100 * m["gsm8k"][k], 2), {"step": step}) for k in keys]


def test_final_best_and_the_newest_checkpoint_reach_the_hub(sft_run, fake):
    run_dir, _ = sft_run
    files = fake.files(REPO)
    assert {k: v for k, v in files.items() if "/" not in k} == _local(run_dir / "final")
    assert {k: v for k, v in files.items() if k.startswith("best/")} == _local(run_dir / "best", "best/")
    checkpoint = {k: v for k, v in files.items() if k.startswith("last-checkpoint/")}
    assert checkpoint == _local(run_dir / "checkpoint-4", "last-checkpoint/")  # the newest replaced the first
    assert [c["message"] for c in fake.commits(REPO)] == [
        "Training in progress, step 2",
        "Training in progress, step 4",
        "deepcritic sft: the final model at step 4 and best/",
    ]


def test_the_cards_carry_hub_metadata_and_the_measured_figures(sft_run, fake, tiny_qwen2):
    run_dir, _ = sft_run
    card = ModelCard(fake.files(REPO)["README.md"].decode())
    assert card.data.library_name == "transformers" and card.data.license == "apache-2.0"
    assert card.data.tags == ["deepcritic", "sft", "trl", "ci"] and card.data.pipeline_tag == "text-generation"
    assert card.data.base_model is None and f"`{tiny_qwen2}`" in card.text  # a local path: stated, not metadata
    assert card.data.model_name == REPO and _figures(card) == _expected(run_dir, 4)  # the final model's evaluation
    best = json.loads((run_dir / "best" / "best.json").read_text())["step"]
    best_card = ModelCard(fake.files(REPO)["best/README.md"].decode())
    assert _figures(best_card) == _expected(run_dir, best)
    assert "## Evaluation results" in card.text and "| gsm8k | gsm8k (gsm8k.json) | deepcritic | 4 |" in card.text


def test_no_token_is_in_any_file_or_in_the_output(sft_run):
    run_dir, proc = sft_run
    assert leaks(run_dir.parent, SECRETS) == []  # the run, its checkpoints, cards, wandb and TensorBoard files, HF_HOME
    assert in_text(proc.stdout + proc.stderr, SECRETS) == []


def test_tensorboard_holds_what_the_trainer_logged_under_wandb_s_names(sft_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir, _ = sft_run
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    history = json.loads((run_dir / "trainer_state.json").read_text())["log_history"]
    loss = [(h["step"], h["loss"]) for h in history if "loss" in h]
    assert [(e.step, e.value) for e in events.Scalars("train/loss")] == [(s, pytest.approx(v)) for s, v in loss]
    assert [s for s, _ in loss] == [1, 2, 3, 4]  # evaluation steps keep their training loss
    f1 = [(h["step"], h["eval_gsm8k/f1"]) for h in history if "eval_gsm8k/f1" in h]
    assert [(e.step, e.value) for e in events.Scalars("eval/gsm8k/f1")] == f1 and [s for s, _ in f1] == [0, 2, 4]
    (path,) = (run_dir / "wandb").glob("offline-run-*/run-*.wandb")
    wandb_keys = {
        item.key or "/".join(item.nested_key)
        for r in wandb_records(path)
        if r.WhichOneof("record_type") == "history"
        for item in r.history.item
    }
    # the same names in both trackers (wandb's callback puts the end-of-training figures into the run's summary)
    assert set(events.Tags()["scalars"]) - {f"train/{k}" for k in END_OF_TRAINING} <= wandb_keys


def test_a_failed_push_keeps_the_run_and_a_rerun_sends_only_what_is_missing(sft_run, tmp_path):
    run_dir, _ = sft_run
    before = _local(run_dir / "final")
    with FakeHub(token=TOKEN) as hub:
        env = _hub_env(hub.url, tmp_path / "hf_home")
        hub.fail_next("commit", 503)  # everything is uploaded, then the commit fails
        args = ["push", f"run={run_dir}", "hub.model_id=tester/again", f"hydra.run.dir={tmp_path / 'push'}"]
        failed = run_cli(*args, env=env)
        assert failed.returncode == 2
        assert _one_error(failed.stderr).startswith("error: hub.model_id=tester/again: the Hub answered 503 (")
        assert f"then push it with deepcritic push run={run_dir} hub.model_id=tester/again" in failed.stderr
        sent = list(hub.lfs_puts)
        assert sent and hub.commits("tester/again") == []
        done = run_cli(*args, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        assert hub.lfs_puts == sent  # the rerun sent no large file again
        assert {k: v for k, v in hub.files("tester/again").items() if "/" not in k} == before
        assert sorted(k for k in hub.files("tester/again") if k.startswith("best/")) == sorted(
            _local(run_dir / "best", "best/")
        )
    assert _local(run_dir / "final") == before  # the run itself is untouched


def test_a_push_without_a_token_fails_before_training(tiny_qwen2, tmp_path):
    run_dir = tmp_path / "run"
    env = _hub_env(closed_port_url(), tmp_path / "hf_home", token=None)
    args = ["sft", f"hydra.run.dir={run_dir}", f"model.name_or_path={tiny_qwen2}", *SFT, "logger=disabled"]
    proc = run_cli(*args, "hub.push=true", f"hub.model_id={REPO}", env=env)
    assert proc.returncode == 2
    assert _one_error(proc.stderr) == (
        "error: hub.token_env: $HF_TOKEN is not set and `hf auth login` saved no token: export HF_TOKEN=<a token "
        f"with write access from {env['HF_ENDPOINT']}/settings/tokens>, or set hub.token_env=<the variable that "
        "holds one>"
    )
    assert not (run_dir / "final").exists() and not list(run_dir.glob("checkpoint-*"))  # nothing was trained


def test_a_push_without_a_network_keeps_the_trained_run(tiny_qwen2, tmp_path):
    run_dir = tmp_path / "run"
    env = _hub_env(closed_port_url().rsplit("/v1", 1)[0], tmp_path / "hf_home")
    args = ["sft", f"hydra.run.dir={run_dir}", f"model.name_or_path={tiny_qwen2}", *SFT, "logger=disabled"]
    proc = run_cli(*args, "train.max_steps=1", "hub.push=true", f"hub.model_id={REPO}", env=env)
    assert proc.returncode == 2
    error = _one_error(proc.stderr)
    assert error.startswith(f"error: hub: cannot reach the Hub at {env['HF_ENDPOINT']} (")
    assert error.endswith(
        f"; the run is kept in {run_dir}: then push it with deepcritic push run={run_dir} hub.model_id={REPO}"
    )
    assert (run_dir / "final" / "model.safetensors").is_file() and (run_dir / "metrics.json").is_file()


def test_convert_writes_parquet_and_pushes_a_dataset_with_its_card(fake, shared_data, tmp_path):
    source = shared_data / "processbench" / "gsm8k.json"
    local = tmp_path / "records.parquet"
    args = [f"data.path={source}", "data.limit=12", f"hydra.run.dir={tmp_path / 'convert'}"]
    hub = ["hub.push=true", "hub.dataset_id=deepcritic-org/pb-gsm8k", "hub.license=apache-2.0"]
    proc = run_cli("convert", "data=processbench", *args, f"output={local}", *hub, env=_hub_env(fake.url, tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = fake.files("deepcritic-org/pb-gsm8k", "dataset")
    assert sorted(files) == ["README.md", "data/train-00000-of-00001.parquet"]
    pushed = pq.read_table(io.BytesIO(files["data/train-00000-of-00001.parquet"])).to_pylist()
    assert pushed == pq.read_table(local).to_pylist() and len(pushed) == 12
    errors = sum(r["label"] >= 0 for r in pushed)
    card = DatasetCard(files["README.md"].decode())
    assert card.data.license == "apache-2.0" and card.data.size_categories == ["n<1K"]
    assert f"| label balance | with a wrong step {errors}, without {12 - errors} |" in card.text
    assert f"from source `processbench` ({source})." in card.text and '"limit": 12' in card.text
    # the local parquet reads back as the data contract, record for record
    back = tmp_path / "back.jsonl"
    again = run_cli(
        "convert", "data=contract", f"data.path={local}", f"output={back}", f"hydra.run.dir={tmp_path / 'b'}"
    )
    assert again.returncode == 0, again.stderr[-3000:]
    rows = [json.loads(line) for line in back.read_text().splitlines()]
    assert [(r["id"], r["steps"], r["label"]) for r in rows] == [(r["id"], r["steps"], r["label"]) for r in pushed]


def test_an_eval_run_s_figures_join_the_model_s_card(sft_run, fake, shared_data, tmp_path):
    pb = shared_data / "processbench" / "gsm8k.json"
    with ScriptedServer(content=lambda body, i: "Step 1 is fine. \\boxed{1}\n**Answer**: \\boxed{-1}") as server:
        ev = run_cli(
            "eval",
            "rollout=openai",
            f"rollout.openai.base_url={server.url}",
            "rollout.openai.model=critic",
            "benchmarks=[]",
            f"+benchmarks.pb={{source: processbench, path: '{pb}'}}",
            "limit=4",
            "logger=disabled",
            f"hydra.run.dir={tmp_path / 'eval'}",
        )
    assert ev.returncode == 0, ev.stderr[-3000:]
    push = run_cli("push", f"run={tmp_path / 'eval'}", f"hub.model_id={REPO}", env=_hub_env(fake.url, tmp_path))
    assert push.returncode == 0, push.stderr[-3000:]
    card = ModelCard(fake.files(REPO)["README.md"].decode())
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())["benchmarks"]["pb"]
    measured = [
        ("pb", k, "deepcritic", round(100 * metrics[k], 2), None)
        for k in ("f1", "acc_error", "acc_correct", "parse_rate")
    ]
    assert _figures(card) == _expected(sft_run[0], 4) + measured  # the training's figures kept, the eval's added
    assert card.data.license == "apache-2.0" and "## Evaluation during training" in card.text
