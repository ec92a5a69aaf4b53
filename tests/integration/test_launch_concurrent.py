"""Two runs launched at once on one machine both finish: without MASTER_PORT each single-node launch takes a free
rendezvous port (and says which) instead of both binding 29500 (`launch/train_1node.sh`, accelerate, two gloo
processes each, the tiny Qwen2)."""

from __future__ import annotations

import json
import re
import subprocess

from tests.helpers.env import minimal_env
from tests.helpers.launch import ACCELERATE_CONFIGS
from tests.helpers.paths import LAUNCH


def test_two_launches_at_once_take_different_ports_and_both_finish(tiny_qwen2, tmp_path):
    env = minimal_env(
        NUM_GPUS="2",
        ACCELERATE_CONFIG=str(ACCELERATE_CONFIGS / "cpu_2proc.yaml"),
        OMP_NUM_THREADS="1",
        WANDB_MODE="disabled",
        HYDRA_FULL_ERROR="0",
    )
    runs = [tmp_path / f"run{i}" for i in (0, 1)]
    procs = [
        subprocess.Popen(
            [
                "bash",
                str(LAUNCH / "train_1node.sh"),
                "sft",
                f"hydra.run.dir={run}",
                f"model.name_or_path={tiny_qwen2}",
                "model.from_scratch=false",
                "data.synthetic.num_records=16",
                "train.global_batch_size=4",
                "train.per_device_batch_size=2",
                "train.max_steps=2",
                "train.max_length=560",
                "train.drop_overlong=true",
                "logger=disabled",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for run in runs
    ]
    outs = [p.communicate(timeout=900) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-3000:] for _, err in outs]
    ports = [re.search(r"using the free port (\d+)", err).group(1) for _, err in outs]
    assert ports[0] != ports[1]
    for run in runs:
        assert json.loads((run / "trainer_state.json").read_text())["global_step"] == 2
