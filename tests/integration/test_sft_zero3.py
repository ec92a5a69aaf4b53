"""`deepcritic sft` under `accelerate launch` with DeepSpeed ZeRO-3 on 2 CPU processes (gloo).

The ZeRO settings come from the `deepspeed=zero3` config group; launch/accelerate/cpu_2proc.yaml
only says "2 processes, CPU". Checks: both ranks wrote their ZeRO shards into ONE run directory, the
final save gathered full weights into a normal Hugging Face checkpoint, and training changed them.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import torch

from tests.helpers.cli import accelerate_cli
from tests.helpers.env import clean_env
from tests.helpers.paths import REPO, venv_script


def _cmd(port: int, model, run_dir) -> list[str]:
    return accelerate_cli(
        port,
        "sft",
        "deepspeed=zero3",
        f"hydra.run.dir={run_dir}",
        f"model.name_or_path={model}",
        "model.from_scratch=false",
        "data.synthetic.num_records=32",
        "train.max_steps=4",
        "train.save_steps=2",
        "train.logging_steps=1",
        "train.global_batch_size=4",
        "train.per_device_batch_size=1",
        "train.learning_rate=2e-3",
        "train.max_length=1024",
        "logger=disabled",
    )


ENV = {"HYDRA_FULL_ERROR": "0", "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def zero3_run(tiny_qwen2, tmp_path_factory):
    from tests.helpers.net import free_port

    run_dir = tmp_path_factory.mktemp("sft_zero3") / "run"
    proc = subprocess.run(
        _cmd(free_port(), tiny_qwen2, run_dir),
        cwd=REPO,
        env=clean_env(**ENV),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return run_dir


def test_zero3_two_cpu_processes(zero3_run, tiny_qwen2):
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    run_dir = zero3_run
    # global batch 4 = 1 per process x 2 processes x accumulation 2
    args = json.loads((run_dir / "trainer_state.json").read_text())
    assert args["global_step"] == 4 and args["train_batch_size"] == 1
    losses = [h["loss"] for h in args["log_history"] if "loss" in h]
    assert len(losses) == 4 and all(loss == loss for loss in losses)

    # one run directory; DeepSpeed shards of both ranks in the checkpoint
    shards = sorted(p.name for p in (run_dir / "checkpoint-4" / "global_step4").glob("*optim_states.pt"))
    assert shards == ["zero_pp_rank_0_mp_rank_00_optim_states.pt", "zero_pp_rank_1_mp_rank_00_optim_states.pt"]

    # the final save is a full (gathered) Hugging Face model that reloads, and training changed it
    final = run_dir / "final"
    model = AutoModelForCausalLM.from_pretrained(final)
    before = load_file(tiny_qwen2 / "model.safetensors")
    name = "model.layers.1.mlp.down_proj.weight"
    after = model.state_dict()[name]
    assert after.shape == before[name].shape and not torch.equal(after, before[name])
    assert (final / "tokenizer.json").is_file() and (final / "README.md").is_file()


LAUNCHERS = [
    # torchrun, ZeRO-3
    (
        "torchrun",
        ["--standalone", "--nproc_per_node", "2", "-m", "deepcritic.cli"],
        "zero3",
        ["zero_pp_rank_0_mp_rank_00_optim_states.pt", "zero_pp_rank_1_mp_rank_00_optim_states.pt"],
    ),
    # the deepspeed launcher (appends --local_rank=N, which the CLI strips), ZeRO-2
    (
        "deepspeed",
        ["--num_gpus", "2", "--master_port", None, "--module", "deepcritic.cli"],
        "zero2",
        ["zero_pp_rank_0_mp_rank_00_optim_states.pt", "zero_pp_rank_1_mp_rank_00_optim_states.pt"],
    ),
]


@pytest.mark.parametrize("launcher, launcher_args, group, shards", LAUNCHERS)
def test_other_launchers(tiny_qwen2, free_port, tmp_path, launcher, launcher_args, group, shards):
    run_dir = tmp_path / "run"
    launcher_args = [str(free_port) if a is None else a for a in launcher_args]
    cmd = [
        str(venv_script(launcher)),
        *launcher_args,
        "sft",
        f"deepspeed={group}",
        f"hydra.run.dir={run_dir}",
        f"model.name_or_path={tiny_qwen2}",
        "model.from_scratch=false",
        "data.synthetic.num_records=16",
        "train.max_steps=2",
        "train.save_steps=2",
        "train.global_batch_size=4",
        "train.per_device_batch_size=2",
        "train.max_length=1024",
        "logger=disabled",
    ]
    env = clean_env(OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert sorted(p.name for p in (run_dir / "checkpoint-2" / "global_step2").glob("*optim_states.pt")) == shards
    assert (run_dir / "final" / "model.safetensors").is_file()


def test_sigterm_to_one_rank_checkpoints_both_and_the_rerun_matches(zero3_run, tiny_qwen2, free_port, tmp_path):
    """SIGTERM reaches rank 1 only (a node's agent, a stray kill): both ranks stop at the same step, write one
    checkpoint with both shards and exit 143; the rerun ends with the uninterrupted run's losses and weights."""
    from safetensors.torch import load_file

    from tests.helpers.procs import complete_checkpoint, preempt_one_rank

    run_dir = tmp_path / "run"
    output = preempt_one_rank(_cmd(free_port, tiny_qwen2, run_dir), tmp_path / "first.log", clean_env(**ENV), REPO)
    stopped = sorted(set(re.findall(r"error: preempted \(SIGTERM\) at step (\d+)", output)))
    assert len(stopped) == 1 and output.count("error: preempted (SIGTERM) at step") == 2, output[-3000:]  # both ranks
    step = int(stopped[0])
    assert step < 4 and complete_checkpoint(run_dir / f"checkpoint-{step}") and not (run_dir / "final").exists()
    shards = sorted(p.name for p in (run_dir / f"checkpoint-{step}" / f"global_step{step}").glob("*optim_states.pt"))
    assert len(shards) == 2
    again = subprocess.run(
        _cmd(free_port, tiny_qwen2, run_dir),
        cwd=REPO,
        env=clean_env(**ENV),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-6000:]
    assert f"resuming from {run_dir / f'checkpoint-{step}'}" in again.stdout + again.stderr

    def losses(d):
        return [h["loss"] for h in json.loads((d / "trainer_state.json").read_text())["log_history"] if "loss" in h]

    assert losses(run_dir) == pytest.approx(losses(zero3_run), rel=1e-4)
    a, b = load_file(run_dir / "final" / "model.safetensors"), load_file(zero3_run / "final" / "model.safetensors")
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5, msg=name)
