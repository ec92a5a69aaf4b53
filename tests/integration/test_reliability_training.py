"""Training survives crashes and preemption: `deepcritic sft` and `deepcritic grpo` killed with SIGKILL after a
checkpoint, or sent SIGTERM (SLURM's preemption signal) mid-step, then rerun with the same command
(`train.resume=auto`), end exactly where an uninterrupted run with the same seed ends.

"Exactly" is checked, not assumed: the resumed run has the same number of optimizer steps; its metrics
history holds every logging step once; per step, the batch's token count (SFT: TRL's cumulative
``num_tokens``) or prompts (GRPO: the completions table) equal the uninterrupted run's, so the data order
continues from the resume point; per-step losses, gradient norms and learning rates agree (CPU fp32)
and the final weights are the same, which they would not be if the optimizer moments, the scheduler or
the data position had not been restored.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers.cli import run_cli
from tests.helpers.env import clean_env
from tests.helpers.faults import fault_env
from tests.helpers.procs import CliProcess, complete_checkpoint
from tests.helpers.wandb_files import history_values, wandb_records

SFT_STEPS = 4
SFT = [
    "data.synthetic.num_records=32",
    "train.global_batch_size=2",
    "train.per_device_batch_size=2",
    "train.learning_rate=2e-3",
    "train.logging_steps=1",
    "train.max_length=560",
    "train.drop_overlong=true",
    f"train.max_steps={SFT_STEPS}",
    "logger=disabled",
    "model.from_scratch=false",
]


def _sft_args(model: Path, run_dir: Path, save_steps: int) -> list[str]:
    return ["sft", f"hydra.run.dir={run_dir}", f"model.name_or_path={model}", f"train.save_steps={save_steps}", *SFT]


def _history(run_dir: Path) -> list[dict]:
    return [h for h in json.loads((run_dir / "trainer_state.json").read_text())["log_history"] if "loss" in h]


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(run_dir / "final" / "model.safetensors")


def _assert_same_training(resumed: Path, reference: Path, steps: int) -> None:
    """The resumed run's history and final weights equal the uninterrupted run's (see the module docstring)."""
    got, want = _history(resumed), _history(reference)
    assert [h["step"] for h in got] == list(range(1, steps + 1))  # every step once, none lost, none twice
    assert [h["step"] for h in want] == list(range(1, steps + 1))
    assert json.loads((resumed / "trainer_state.json").read_text())["global_step"] == steps
    for g, w in zip(got, want):
        for key in ("loss", "grad_norm", "learning_rate"):
            assert g[key] == pytest.approx(w[key], rel=1e-3, abs=1e-6), (g["step"], key, g[key], w[key])
    a, b = _weights(resumed), _weights(reference)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5, msg=name)


def _batch_tokens(history: list[dict]) -> list[float]:
    """Tokens per step from TRL's cumulative count (the count restarts at a resume: compare within runs)."""
    counts = [h["num_tokens"] for h in history]
    return [b - a for a, b in zip(counts, counts[1:])]


@pytest.fixture(scope="module")
def sft_reference(tiny_qwen2, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("sft_reference") / "run"
    proc = run_cli(*_sft_args(tiny_qwen2, run_dir, save_steps=2))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return run_dir


def test_sft_killed_after_a_checkpoint_resumes_to_the_same_result(sft_reference, tiny_qwen2, tmp_path):
    run_dir = tmp_path / "run"
    args = _sft_args(tiny_qwen2, run_dir, save_steps=2)
    first = CliProcess(*args, log=tmp_path / "first.log")
    first.wait_for(lambda: complete_checkpoint(run_dir / "checkpoint-2"), timeout=300, what="checkpoint-2")
    assert first.kill() == -9  # killed mid-run, not finished
    assert not (run_dir / "final").exists()
    killed_at = max(int(p.name.split("-")[1]) for p in run_dir.glob("checkpoint-*") if complete_checkpoint(p))
    assert killed_at < SFT_STEPS

    second = run_cli(*args)
    assert second.returncode == 0, second.stderr[-4000:]
    assert f"resuming from {run_dir / f'checkpoint-{killed_at}'}" in second.stdout + second.stderr
    _assert_same_training(run_dir, sft_reference, SFT_STEPS)
    resumed = [h for h in _history(run_dir) if h["step"] > killed_at]
    reference = [h for h in _history(sft_reference) if h["step"] > killed_at]
    assert _batch_tokens(resumed) == _batch_tokens(reference)  # same batches after the resume point


def test_sft_sigterm_saves_a_checkpoint_exits_143_and_resumes(sft_reference, tiny_qwen2, tmp_path):
    """SIGTERM: a checkpoint, exit 143, and a rerun that ends like an uninterrupted run and continues the same wandb
    run (:func:`_assert_one_wandb_run`)."""
    run_dir = tmp_path / "run"
    # no periodic checkpoint: any checkpoint is SIGTERM's; wandb on (offline), which changes nothing in training
    args = [*_sft_args(tiny_qwen2, run_dir, save_steps=100), "logger=wandb_offline"]
    first = CliProcess(*args, log=tmp_path / "first.log")
    first.wait_for(lambda: "'loss'" in first.output(), timeout=300, what="the first logged step")
    assert first.terminate(timeout=120) == 143
    out = first.output()
    assert "SIGTERM received: saving a checkpoint at the end of this step" in out
    assert "Traceback" not in out
    checkpoints = list(run_dir.glob("checkpoint-*"))
    assert len(checkpoints) == 1 and complete_checkpoint(checkpoints[0]), checkpoints
    step = int(checkpoints[0].name.split("-")[1])
    assert 1 <= step < SFT_STEPS
    assert f"error: preempted (SIGTERM) at step {step}: saved {checkpoints[0]}. Rerun the same command" in out
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth", "model.safetensors"):
        assert (checkpoints[0] / name).is_file(), name
    assert not (run_dir / "final").exists()  # a preempted run does not pass for a finished one

    second = run_cli(*args)
    assert second.returncode == 0, second.stderr[-4000:]
    assert f"resuming from {checkpoints[0]}" in second.stdout + second.stderr
    _assert_same_training(run_dir, sft_reference, SFT_STEPS)
    _assert_one_wandb_run(run_dir, step)


def _assert_one_wandb_run(run_dir: Path, step: int) -> None:
    """Preempted at ``step`` and rerun, one wandb run: both offline run files carry the stored id, both are marked
    resumable, and the trainer's step axis goes on from the checkpoint (every step once, in order)."""
    run_id = (run_dir / "wandb" / "run-id").read_text().strip()
    files = sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb"))  # named by start time: the first run's first
    assert len(files) == 2 and all(f.name == f"run-{run_id}.wandb" for f in files)
    steps = []
    for f in files:
        records = wandb_records(f)
        run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
        assert run.run_id == run_id and run.resume  # one run, resumable (wandb sync appends the second)
        steps.append([s for s, _ in history_values(records, "train/loss")])
    assert steps[0] == list(range(1, step + 1)) and steps[1] == list(range(step + 1, SFT_STEPS + 1))


_GROUP = """
import os, sys
import torch.distributed as dist
from deepcritic.preemption import any_process
rank = int(sys.argv[1])
dist.init_process_group("gloo", rank=rank, world_size=2, init_method=f"tcp://127.0.0.1:{sys.argv[2]}")
# only rank 1 got the signal; both must stop at this step
print(int(any_process(rank == 1)), int(any_process(False)))
dist.destroy_process_group()
"""


def test_any_process_agrees_across_ranks(free_port):
    env = clean_env()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _GROUP, str(rank), str(free_port)],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for rank in (0, 1)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    assert [out.split() for out, _ in outs] == [["1", "0"], ["1", "0"]]


# ---------------------------------------------------------------------------------------------------
# GRPO: one run preempted, then killed, then finished, against an uninterrupted run.

GRPO_STEPS = 4
GRPO = [
    "model.from_scratch=false",
    "rollout=hf",
    "train.learning_rate=5e-4",
    "logger=disabled",
    "data.synthetic.num_records=32",
    "sampling.n=4",
    "sampling.max_new_tokens=16",
    "train.global_batch_size=8",
    "train.per_device_batch_size=8",
    "train.logging_steps=1",
    "grpo.num_completions_to_print=0",
    "train.save_steps=1",
    f"train.max_steps={GRPO_STEPS}",
]
GRPO_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "OMP_NUM_THREADS": "2"}


def _grpo_args(model: Path, run_dir: Path) -> list[str]:
    return ["grpo", f"hydra.run.dir={run_dir}", f"model.name_or_path={model}", *GRPO]


def _completions(run_dir: Path) -> list:
    import pandas as pd

    return [
        pd.read_parquet(run_dir / "completions" / f"completions_{step:05d}.parquet")
        for step in range(1, GRPO_STEPS + 1)
    ]


def test_grpo_preempted_then_killed_resumes_to_the_same_result(answering_critic, tmp_path):
    critic = answering_critic  # trained once per session (tests/conftest.py)
    reference = tmp_path / "reference"
    proc = run_cli(*_grpo_args(critic, reference), env=GRPO_ENV, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert any(h["grad_norm"] > 0 for h in _history(reference))  # the policy moves: the weight check means something

    run_dir = tmp_path / "run"
    args = _grpo_args(critic, run_dir)
    # 1. SIGTERM while step 2 runs: checkpoint at the end of that step, exit 143
    first = CliProcess(*args, log=tmp_path / "first.log", env=GRPO_ENV)
    first.wait_for(lambda: "'loss'" in first.output(), timeout=400, what="the first logged step")
    assert first.terminate(timeout=180) == 143
    assert "error: preempted (SIGTERM) at step" in first.output() and "Traceback" not in first.output()
    preempted_at = max(int(p.name.split("-")[1]) for p in run_dir.glob("checkpoint-*"))
    assert complete_checkpoint(run_dir / f"checkpoint-{preempted_at}") and preempted_at < GRPO_STEPS - 1
    # 2. the rerun resumes, then is killed with SIGKILL after its next checkpoint
    second = CliProcess(*args, log=tmp_path / "second.log", env=GRPO_ENV)
    second.wait_for(
        lambda: complete_checkpoint(run_dir / f"checkpoint-{preempted_at + 1}"),
        timeout=400,
        what=f"checkpoint-{preempted_at + 1}",
    )
    assert second.kill() == -9
    assert f"resuming from {run_dir / f'checkpoint-{preempted_at}'}" in second.output()
    assert not (run_dir / "final").exists()
    # 3. the next rerun finishes
    third = run_cli(*args, env=GRPO_ENV, timeout=600)
    assert third.returncode == 0, third.stderr[-4000:]
    assert "resuming from" in third.stdout + third.stderr

    got = [h for h in _history(run_dir) if "reward" in h]
    want = [h for h in _history(reference) if "reward" in h]
    assert [h["step"] for h in got] == [h["step"] for h in want] == list(range(1, GRPO_STEPS + 1))
    for g, w in zip(got, want):
        for key in ("loss", "reward", "grad_norm", "critic/parse_rate"):
            assert g[key] == pytest.approx(w[key], rel=1e-3, abs=1e-6), (g["step"], key)
    # per step, the same prompts (data order) and the same sampled completions (RNG state restored)
    for step, (a, b) in enumerate(zip(_completions(run_dir), _completions(reference)), start=1):
        assert list(a["prompt"]) == list(b["prompt"]), step
        assert list(a["completion"]) == list(b["completion"]), step
    a, b = _weights(run_dir), _weights(reference)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5, msg=name)


# ---------------------------------------------------------------------------------------------------
# GRPO with colocated vLLM: SIGTERM mid-generation and mid-update (injected: tests/helpers/faults).

VLLM = [
    *[a for a in GRPO if a != "rollout=hf"],
    "rollout=colocate",
    "rollout.vllm.kv_cache_memory_gib=1",
    "rollout.vllm.enforce_eager=true",  # no graph compilation: the engine starts sooner
    "rollout.vllm.max_model_len=1024",
]


@pytest.fixture(scope="module")
def vllm_reference(answering_critic, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("grpo_vllm_reference") / "run"
    proc = run_cli("grpo", f"hydra.run.dir={run_dir}", f"model.name_or_path={answering_critic}", *VLLM, env=GRPO_ENV)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return run_dir


@pytest.mark.parametrize("phase", ["generate:2", "backward:2"], ids=["mid-generation", "mid-update"])
def test_grpo_with_colocated_vllm_preempted_resumes_to_the_same_result(
    vllm_reference, answering_critic, phase, tmp_path
):
    """SIGTERM while step 2's rollouts are generated, or while its update runs: the step finishes, checkpoint-2 is
    written, the engine is shut down and the run exits 143; the rerun ends with the uninterrupted run's prompts,
    completions and rewards per step, and its weights."""
    run_dir = tmp_path / "run"
    args = ["grpo", f"hydra.run.dir={run_dir}", f"model.name_or_path={answering_critic}", *VLLM]
    first = run_cli(*args, env={**GRPO_ENV, **fault_env(sigterm_in=phase)}, timeout=600)
    assert first.returncode == 143, first.stderr[-4000:]
    output = first.stdout + first.stderr
    assert "error: preempted (SIGTERM) at step 2" in output and "Traceback" not in output
    assert complete_checkpoint(run_dir / "checkpoint-2") and not (run_dir / "checkpoint-3").exists()
    second = run_cli(*args, env=GRPO_ENV, timeout=600)
    assert second.returncode == 0, second.stderr[-4000:]
    assert f"resuming from {run_dir / 'checkpoint-2'}" in second.stdout + second.stderr

    got = [h for h in _history(run_dir) if "reward" in h]
    want = [h for h in _history(vllm_reference) if "reward" in h]
    assert [h["step"] for h in got] == [h["step"] for h in want] == list(range(1, GRPO_STEPS + 1))
    for g, w in zip(got, want):
        for key in ("loss", "reward", "critic/parse_rate"):
            assert g[key] == pytest.approx(w[key], rel=1e-3, abs=1e-6), (g["step"], key)
    for step, (a, b) in enumerate(zip(_completions(run_dir), _completions(vllm_reference)), start=1):
        assert list(a["prompt"]) == list(b["prompt"]), step
        assert list(a["completion"]) == list(b["completion"]), step
    a, b = _weights(run_dir), _weights(vllm_reference)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5, msg=name)
