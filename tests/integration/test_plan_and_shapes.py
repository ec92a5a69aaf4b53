"""`deepcritic plan` through the console script (its arguments split between plan and the planned recipe), and a
from-scratch model with a vocabulary padded to a real size trained by the real `deepcritic sft`."""

from __future__ import annotations

import json

from tests.helpers.cli import run_cli


def test_plan_cli_splits_the_recipe_overrides_from_its_own(tmp_path):
    run_dir = tmp_path / "plan"
    proc = run_cli(
        "plan",
        "grpo",
        "experiment=deepcritic_grpo_qwen2.5_7b",
        "train.per_device_batch_size=2",
        "cluster.gpus_per_node=8",
        "cluster.gpu_memory_gib=80",
        f"hydra.run.dir={run_dir}",
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "FITS: 68.4 GiB of 80.0 GiB per device" in proc.stdout
    plan = json.loads((run_dir / "plan.json").read_text())
    assert plan["recipe"] == "grpo" and plan["overrides"][-1] == "train.per_device_batch_size=2"
    assert plan["fits"] is True and plan["tokens_per_step"] == {"trained": 512 * 12288, "generated": 512 * 8192}


def test_plan_refuses_a_bad_override_of_the_planned_recipe(tmp_path):
    proc = run_cli("plan", "sft", "train.learning_rate=-1", f"hydra.run.dir={tmp_path}", timeout=120)
    assert proc.returncode == 2 and "train.learning_rate" in proc.stderr


def test_sft_trains_a_tiny_shape_with_a_real_vocabulary(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli(
        "sft",
        f"hydra.run.dir={run_dir}",
        "model.tiny.pad_vocab_to=151936",
        "data.synthetic.num_records=8",
        "train.max_steps=1",
        "train.global_batch_size=2",
        "train.per_device_batch_size=2",
        "train.save_steps=100",
        "logger=disabled",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    config = json.loads((run_dir / "final" / "config.json").read_text())
    tokenizer = json.loads((run_dir / "final" / "tokenizer.json").read_text())
    assert config["vocab_size"] == 151936 == len(tokenizer["model"]["vocab"])
    card = (run_dir / "final" / "README.md").read_text()
    assert "tiny random Qwen2 (hidden 128, 2 layers, 2 heads)" in card
