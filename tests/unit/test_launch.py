"""launch/ scripts with DRY_RUN=1: each prints the exact command it would run, overrides passed through."""

from __future__ import annotations

import shlex

import pytest

from tests.helpers.launch import ACCELERATE_CONFIGS as ACC
from tests.helpers.launch import dry_run

FREE_PORT = "<a free port>"  # single-node launches without MASTER_PORT pick one and say which

CASES = [
    # one node, accelerate (default launcher), 4 GPUs, no MASTER_PORT (a free one); an override with a space stays
    # one argument
    (
        "train_1node.sh",
        {"NUM_GPUS": "4"},
        ["sft", "experiment=deepcritic_sft_qwen2.5_7b", "chat.path=my data.jsonl"],
        [
            "accelerate",
            "launch",
            "--config_file",
            str(ACC / "multi_gpu.yaml"),
            "--num_processes",
            "4",
            "--main_process_port",
            FREE_PORT,
            "-m",
            "deepcritic.cli",
            "sft",
            "experiment=deepcritic_sft_qwen2.5_7b",
            "chat.path=my data.jsonl",
        ],
    ),
    # one node, torchrun
    (
        "train_1node.sh",
        {"NUM_GPUS": "8", "LAUNCHER": "torchrun"},
        ["cft", "experiment=cft_qwen2.5_math_7b"],
        [
            "torchrun",
            "--standalone",
            "--nproc_per_node",
            "8",
            "-m",
            "deepcritic.cli",
            "cft",
            "experiment=cft_qwen2.5_math_7b",
        ],
    ),
    # one node, the deepspeed launcher (it appends --local_rank, which the CLI strips)
    (
        "train_1node.sh",
        {"NUM_GPUS": "2", "LAUNCHER": "deepspeed", "MASTER_PORT": "29600"},
        ["sft"],
        ["deepspeed", "--num_gpus", "2", "--master_port", "29600", "--module", "deepcritic.cli", "sft"],
    ),
    # one node, a custom accelerate topology (the 2-process CPU one)
    (
        "train_1node.sh",
        {"NUM_GPUS": "2", "ACCELERATE_CONFIG": str(ACC / "cpu_2proc.yaml")},
        ["sft", "deepspeed=zero3"],
        [
            "accelerate",
            "launch",
            "--config_file",
            str(ACC / "cpu_2proc.yaml"),
            "--num_processes",
            "2",
            "--main_process_port",
            FREE_PORT,
            "-m",
            "deepcritic.cli",
            "sft",
            "deepspeed=zero3",
        ],
    ),
    # several nodes, torchrun c10d rendezvous
    (
        "train_multinode.sh",
        {"NNODES": "2", "MASTER_ADDR": "node0", "NUM_GPUS": "8"},
        ["sft", "hydra.run.dir=runs/x"],
        [
            "torchrun",
            "--nnodes",
            "2",
            "--nproc_per_node",
            "8",
            "--rdzv_backend",
            "c10d",
            "--rdzv_endpoint",
            "node0:29500",
            "--rdzv_id",
            "deepcritic",
            "-m",
            "deepcritic.cli",
            "sft",
            "hydra.run.dir=runs/x",
        ],
    ),
    # several nodes, accelerate multi-node: total processes = nodes x GPUs
    (
        "train_multinode.sh",
        {"NNODES": "4", "NODE_RANK": "3", "MASTER_ADDR": "node0", "NUM_GPUS": "8", "LAUNCHER": "accelerate"},
        ["cft"],
        [
            "accelerate",
            "launch",
            "--config_file",
            str(ACC / "multi_node.yaml"),
            "--num_machines",
            "4",
            "--machine_rank",
            "3",
            "--main_process_ip",
            "node0",
            "--main_process_port",
            "29500",
            "--num_processes",
            "32",
            "-m",
            "deepcritic.cli",
            "cft",
        ],
    ),
    # SLURM: srun one torchrun per node; run dir pinned to the job id so a requeue resumes
    (
        "slurm.sbatch",
        {"SLURM_JOB_ID": "4242", "SLURM_NNODES": "2", "SLURM_GPUS_ON_NODE": "8", "MASTER_ADDR": "gpu01"},
        ["sft", "experiment=deepcritic_sft_qwen2.5_7b"],
        [
            "srun",
            "--nodes",
            "2",
            "--ntasks-per-node",
            "1",
            "torchrun",
            "--nnodes",
            "2",
            "--nproc_per_node",
            "8",
            "--rdzv_backend",
            "c10d",
            "--rdzv_endpoint",
            "gpu01:29500",
            "--rdzv_id",
            "4242",
            "-m",
            "deepcritic.cli",
            "sft",
            "experiment=deepcritic_sft_qwen2.5_7b",
            "hydra.run.dir=runs/sft/slurm-4242",
        ],
    ),
    # SLURM: a run dir given by the user is kept
    (
        "slurm.sbatch",
        {"SLURM_JOB_ID": "7", "SLURM_NNODES": "1", "NUM_GPUS": "4", "MASTER_ADDR": "gpu01"},
        ["cft", "hydra.run.dir=runs/mine"],
        [
            "srun",
            "--nodes",
            "1",
            "--ntasks-per-node",
            "1",
            "torchrun",
            "--nnodes",
            "1",
            "--nproc_per_node",
            "4",
            "--rdzv_backend",
            "c10d",
            "--rdzv_endpoint",
            "gpu01:29500",
            "--rdzv_id",
            "7",
            "-m",
            "deepcritic.cli",
            "cft",
            "hydra.run.dir=runs/mine",
        ],
    ),
]


@pytest.mark.parametrize("script, env, args, expected", CASES)
def test_dry_run_prints_exact_command(script, env, args, expected):
    proc = dry_run(script, env, args)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("+ ")]
    assert len(lines) == 1, proc.stdout
    got = shlex.split(lines[0][2:])
    if FREE_PORT in expected:
        port = got[expected.index(FREE_PORT)]
        assert port.isdigit() and 1024 <= int(port) <= 65535 and port != "29500", port
        assert f"MASTER_PORT not set: using the free port {port}" in proc.stderr
        expected = [port if e == FREE_PORT else e for e in expected]
    assert got == expected


def test_slurm_script_asks_for_a_warning_and_a_requeue(repo_root):
    header = [
        line for line in (repo_root / "launch" / "slurm.sbatch").read_text().splitlines() if line.startswith("#SBATCH")
    ]
    assert "#SBATCH --signal=B:TERM@300" in header and "#SBATCH --requeue" in header
    proc = dry_run("slurm.sbatch", {"SLURM_JOB_ID": "42", "MASTER_ADDR": "gpu01"}, ["sft"])
    assert "# on SIGTERM: pass it to srun; when srun exits after it (or with 143): scontrol requeue 42" in proc.stdout


MISUSE = [
    # no recipe
    ("train_1node.sh", {}, [], "usage:"),
    # unknown launcher
    ("train_1node.sh", {"LAUNCHER": "mpirun"}, ["sft"], "use accelerate, torchrun or deepspeed"),
    # multi-node without the rendezvous address
    ("train_multinode.sh", {"NNODES": "2"}, ["sft"], "MASTER_ADDR"),
    # SLURM script outside a job without MASTER_ADDR
    ("slurm.sbatch", {}, ["sft"], "not inside a SLURM job"),
]


@pytest.mark.parametrize("script, env, args, fragment", MISUSE)
def test_misuse_fails_with_a_message(script, env, args, fragment):
    proc = dry_run(script, env, args)
    assert proc.returncode != 0 and fragment in proc.stderr
