"""launch/vllm_server.sh (the trl vllm-serve server of GRPO's server mode) and GRPO through the training
launchers, with DRY_RUN=1: each prints the exact command it would run."""

from __future__ import annotations

import shlex

import pytest

from tests.helpers.launch import ACCELERATE_CONFIGS as ACC
from tests.helpers.launch import dry_run

CASES = [
    # server defaults: one GPU, port 8000 on all interfaces
    (
        "vllm_server.sh",
        {},
        ["runs/sft/x/final"],
        [
            "trl",
            "vllm-serve",
            "--model",
            "runs/sft/x/final",
            "--tensor_parallel_size",
            "1",
            "--data_parallel_size",
            "1",
            "--host",
            "0.0.0.0",
            "--port",
            "8000",
            "--gpu_memory_utilization",
            "0.9",
        ],
    ),
    # tensor parallel over 2 GPUs, another port, a context limit, extra flags passed through
    (
        "vllm_server.sh",
        {"TP": "2", "PORT": "8011", "MAX_MODEL_LEN": "12288"},
        ["m", "--dtype", "bfloat16"],
        [
            "trl",
            "vllm-serve",
            "--model",
            "m",
            "--tensor_parallel_size",
            "2",
            "--data_parallel_size",
            "1",
            "--host",
            "0.0.0.0",
            "--port",
            "8011",
            "--gpu_memory_utilization",
            "0.9",
            "--max_model_len",
            "12288",
            "--dtype",
            "bfloat16",
        ],
    ),
    # GRPO on one node with the training launcher (same script as SFT, recipe name first)
    (
        "train_1node.sh",
        {"NUM_GPUS": "6", "MASTER_PORT": "29500"},
        ["grpo", "experiment=deepcritic_grpo_qwen2.5_7b", "rollout=server"],
        [
            "accelerate",
            "launch",
            "--config_file",
            str(ACC / "multi_gpu.yaml"),
            "--num_processes",
            "6",
            "--main_process_port",
            "29500",
            "-m",
            "deepcritic.cli",
            "grpo",
            "experiment=deepcritic_grpo_qwen2.5_7b",
            "rollout=server",
        ],
    ),
    # GRPO on several nodes
    (
        "train_multinode.sh",
        {"NNODES": "2", "MASTER_ADDR": "node0", "NUM_GPUS": "8"},
        ["grpo", "hydra.run.dir=runs/g"],
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
            "grpo",
            "hydra.run.dir=runs/g",
        ],
    ),
]


@pytest.mark.parametrize("script, env, args, expected", CASES)
def test_dry_run_prints_exact_command(script, env, args, expected):
    proc = dry_run(script, env, args)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("+ ")]
    assert len(lines) == 1, proc.stdout
    assert shlex.split(lines[0][2:]) == expected


def test_server_needs_a_model():
    proc = dry_run("vllm_server.sh", {}, [])
    assert proc.returncode == 2 and "usage:" in proc.stderr
