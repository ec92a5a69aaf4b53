"""On a CUDA GPU: ``model.dtype=auto`` resolves to bf16, a few SFT steps of the tiny model train in bf16 through
the real CLI, and the HF generation backend generates on the GPU. Marked ``gpu`` by directory and skipped
without CUDA (tests/conftest.py); under a minute on a GPU.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from deepcritic.config import HFGenerateConfig, ModelConfig, RolloutConfig, SamplingConfig
from tests.helpers.cli import run_cli


def _bf16_gpu() -> None:
    if not torch.cuda.is_bf16_supported():
        pytest.skip(f"{torch.cuda.get_device_name()} has no bf16 support")


def test_auto_precision_is_bf16_on_a_gpu_that_supports_it():
    from deepcritic.modeling import hardware, resolve_precision, run_precision

    _bf16_gpu()
    cuda, bf16_ok = hardware()
    assert (cuda, bf16_ok) == (True, True)
    assert resolve_precision("auto", cuda, bf16_ok) == "bf16" == run_precision("auto")


SFT = [
    "model.from_scratch=false",
    "model.dtype=auto",
    "data.synthetic.num_records=48",
    "train.max_steps=10",
    "train.global_batch_size=4",
    "train.per_device_batch_size=4",
    "train.learning_rate=2e-3",
    "train.logging_steps=1",
    "train.save_steps=100",
    "train.max_length=560",
    "train.drop_overlong=true",
    "logger=disabled",
]


@pytest.mark.timeout(300)
def test_sft_steps_on_cuda_in_bf16_lower_the_loss_and_change_the_weights(tiny_qwen2, tmp_path):
    from safetensors.torch import load_file

    _bf16_gpu()
    run_dir = tmp_path / "run"
    proc = run_cli("sft", f"hydra.run.dir={run_dir}", f"model.name_or_path={tiny_qwen2}", *SFT, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]

    losses = [h["loss"] for h in json.loads((run_dir / "trainer_state.json").read_text())["log_history"] if "loss" in h]
    assert len(losses) == 10 and all(math.isfinite(loss) for loss in losses), losses
    assert sum(losses[-3:]) / 3 < losses[0], losses

    before, after = load_file(tiny_qwen2 / "model.safetensors"), load_file(run_dir / "final" / "model.safetensors")
    assert {t.dtype for t in after.values()} == {torch.bfloat16}  # trained and saved in bf16 (dtype=auto)
    name = "model.layers.0.self_attn.q_proj.weight"
    assert after[name].shape == before[name].shape
    assert not torch.equal(after[name], before[name].to(torch.bfloat16))


def test_hf_backend_generates_on_cuda(tiny_qwen2):
    from deepcritic.generation import build_generator

    _bf16_gpu()
    generator = build_generator(
        ModelConfig(name_or_path=str(tiny_qwen2), dtype="auto"),
        RolloutConfig(backend="hf", hf=HFGenerateConfig(batch_size=2)),
    )
    try:
        assert generator.model.device.type == "cuda" and generator.model.dtype == torch.bfloat16
        prompts = [[{"role": "user", "content": f"What is {i} + {i}?"}] for i in range(3)]  # two batches
        out = generator.generate(prompts, SamplingConfig(n=2, temperature=1.0, max_new_tokens=8, seed=0))
    finally:
        generator.close()
    assert [len(completions) for completions in out] == [2, 2, 2]
    for completion in (c for completions in out for c in completions):
        assert completion.finish_reason in ("stop", "length") and 1 <= completion.num_tokens <= 8
        assert completion.finish_reason == "stop" or completion.num_tokens == 8
