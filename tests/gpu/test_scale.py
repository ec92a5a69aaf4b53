"""The GPU check at a real shape (launch/gpu_check.sh runs this file): on one GPU, random weights of a published
Qwen2.5 shape (``SCALE_ARCH``, default qwen2.5-1.5b), a few steps each of ``sft`` (bf16, sdpa, gradient
checkpointing, packed 2,048-token sequences), ``grpo`` with ``rollout=hf`` and ``eval`` with the HF backend, through
the real CLI. Each prints tokens/s and the peak GPU memory beside ``deepcritic plan``'s prediction for the same
config, and the summary goes to ``$SCALE_OUT/summary.json``. Skipped without CUDA (tests/conftest.py).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.env import clean_env
from tests.helpers.paths import REPO

ARCH = os.environ.get("SCALE_ARCH", "qwen2.5-1.5b")
OUT = Path(os.environ.get("SCALE_OUT", REPO / "runs" / "gpu_check"))
COMMON = ["model.from_scratch=false", "model.dtype=bf16", "model.attn_implementation=sdpa", "logger=disabled"]
STAGES = {
    "sft": [
        "data.synthetic.num_records=600",
        "train.max_length=2048",
        "train.packing=true",
        "train.gradient_checkpointing=true",
        "train.per_device_batch_size=2",
        "train.global_batch_size=2",
        "train.max_steps=6",
        "train.logging_steps=1",
        "train.save_steps=100000",
        "train.learning_rate=1e-5",
    ],
    "grpo": [
        "rollout=hf",
        "sampling.n=4",
        "sampling.max_new_tokens=256",
        "grpo.max_prompt_length=1024",
        "train.per_device_batch_size=8",
        "train.global_batch_size=8",
        "train.gradient_checkpointing=true",
        "train.max_steps=3",
        "train.save_steps=100000",
        "train.learning_rate=1e-6",
        "grpo.log_completions=false",
        "grpo.num_completions_to_print=0",
    ],
    "eval": [
        "rollout=hf",
        "rollout.hf.batch_size=8",
        "benchmarks=[]",
        "+benchmarks.synthetic={source: synthetic}",
        "limit=16",
        "sampling.max_new_tokens=256",
        "rollout.vllm.max_model_len=1280",  # the bound plan counts the HF KV cache to (prompts are ~300 tokens)
    ],
}


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """Random weights of ``ARCH`` with a tokenizer padded to its vocabulary, built once."""
    from deepcritic.config import TinyModelConfig
    from deepcritic.modeling import synthetic_tiny_model

    return synthetic_tiny_model(TinyModelConfig(vocab_size=8192), tmp_path_factory.mktemp("model") / ARCH, 0, ARCH)


def _run(stage: str, model: Path, tmp: Path) -> dict:
    """The recipe through the scale ladder's worker (step clock, generate timer, CUDA peak memory)."""
    timing, run_dir = tmp / f"{stage}.timing.json", tmp / stage
    args = [f"hydra.run.dir={run_dir}", f"model.name_or_path={model}", *COMMON, *STAGES[stage]]
    if stage == "eval":
        args = [a for a in args if not a.startswith("model.attn_implementation")]  # HF generate picks its own
    cmd = [sys.executable, str(REPO / "benchmarks" / "scale_ladder.py"), "--worker", str(timing), stage, *args]
    proc = subprocess.run(cmd, cwd=REPO, env=clean_env(WANDB_MODE="disabled"), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    result = json.loads(timing.read_text())
    state = run_dir / "trainer_state.json"
    result["log_history"] = json.loads(state.read_text())["log_history"] if state.is_file() else []
    result["predicted_gib"] = _predicted(stage, args)
    return result


def _predicted(stage: str, args: list[str]) -> float:
    import torch

    from deepcritic.config import ClusterConfig
    from deepcritic.planning.engine import GIB
    from deepcritic.planning.plan import estimate
    from deepcritic.planning.workload import workload
    from deepcritic.recipes.plan import compose_recipe

    memory = torch.cuda.get_device_properties(0).total_memory / GIB
    cluster = ClusterConfig(device="gpu", gpus_per_node=1, gpu_memory_gib=memory)
    overrides = [a for a in args if not a.startswith("hydra.")]
    return estimate(workload(stage, compose_recipe(stage, overrides), cluster)).total / GIB


def _report(stage: str, r: dict) -> dict:
    steps = r.get("steps") or []
    counts = [h["num_tokens"] for h in r["log_history"] if "num_tokens" in h]
    if steps and len(counts) > 1:
        tokens_per_s = (counts[-1] - counts[0]) / sum(steps[1:])  # the first step warms up
    else:
        tokens_per_s = r["generated_tokens"] / max(r["generate_s"], 1e-9)
    line = {
        "stage": stage,
        "arch": ARCH,
        "tokens_per_s": round(tokens_per_s, 1),
        "peak_allocated_gib": round(r.get("cuda_peak_allocated_gib", 0.0), 2),
        "peak_reserved_gib": round(r.get("cuda_peak_reserved_gib", 0.0), 2),
        "plan_gib": round(r["predicted_gib"], 2),
        "wall_s": round(r["wall_s"], 1),
    }
    print(f"[gpu check] {json.dumps(line)}")
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "summary.jsonl").open("a") as f:
        f.write(json.dumps(line) + "\n")
    return line


@pytest.mark.timeout(300)
def test_sft_at_a_real_shape(model, tmp_path):
    r = _run("sft", model, tmp_path)
    losses = [h["loss"] for h in r["log_history"] if "loss" in h]
    assert len(losses) == 6 and all(math.isfinite(x) for x in losses)
    assert _report("sft", r)["peak_reserved_gib"] > 0


@pytest.mark.timeout(300)
def test_grpo_with_generate_rollouts_at_a_real_shape(model, tmp_path):
    r = _run("grpo", model, tmp_path)
    steps = [h for h in r["log_history"] if "step_time" in h]
    assert len(steps) == 3 and all(math.isfinite(h["loss"]) for h in steps)
    assert _report("grpo", r)["peak_reserved_gib"] > 0


@pytest.mark.timeout(300)
def test_eval_with_the_hf_backend_at_a_real_shape(model, tmp_path):
    r = _run("eval", model, tmp_path)
    assert r["generated_tokens"] > 0 and r["generate_calls"] >= 1
    assert _report("eval", r)["tokens_per_s"] > 0
