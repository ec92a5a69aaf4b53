"""deepcritic plan's arithmetic: model states against hand-computed bytes and DeepSpeed's own estimators, activations
against the tensors a real forward saves, the vLLM engine, the argument split, and the verdicts with their advice."""

from __future__ import annotations

import dataclasses

import pytest

from deepcritic.config import ClusterConfig, PlanConfig
from deepcritic.config.architectures import ARCHITECTURES, Qwen2Shape
from deepcritic.config.planning import plan_arguments
from deepcritic.planning.activations import activations, layer_bytes_per_token, lm_head_bytes
from deepcritic.planning.engine import GIB, gpu_engine, kv_bytes_per_token_per_device
from deepcritic.planning.plan import estimate, plan
from deepcritic.planning.states import deepspeed_zero2, deepspeed_zero3, model_states

P, L = 8000, 1000  # parameters, largest module; 2 nodes x 4 GPUs (N = 8) unless said
# (stage, offload optimizer, offload params, w) -> (parameters, gradients, optimizer, host) per device / node
STATES = [
    # no DeepSpeed, bf16: weights, gradients and AdamW's two moments in bf16 (2P each, 4P moments)
    ((0, False, False, 2), (16000, 16000, 32000, 0)),
    # no DeepSpeed, fp32 (CPU): 4 bytes each, 16 bytes a parameter
    ((0, False, False, 4), (32000, 32000, 64000, 0)),
    # ZeRO-2: 2P 16-bit weights + 18P/N = (2 + 4) gradients + 12 optimizer per 8 GPUs; host 4P x 4 GPUs x 1.5
    ((2, False, False, 2), (16000, 6000, 12000, 192000)),
    # ZeRO-1 is counted as ZeRO-2 (DeepSpeed has one estimator for both)
    ((1, False, False, 2), (16000, 6000, 12000, 192000)),
    # ZeRO-2 + optimizer offload: only the 16-bit weights stay; host P x max(4 x 8, 16) x 1.5
    ((2, True, False, 2), (16000, 0, 0, 384000)),
    # ZeRO-3: 2P/N + the largest layer gathered (2L) weights, 4P/N + 2L gradients, 12P/N optimizer = 4L + 18P/N;
    # host (zero.Init) 4L x 4 GPUs x 1.5
    ((3, False, False, 2), (4000, 6000, 12000, 24000)),
    # ZeRO-3 + optimizer offload: 4L + 2P/N on the GPU; host 16P / 2 nodes x 1.5
    ((3, True, False, 2), (4000, 2000, 0, 96000)),
    # ZeRO-3 + optimizer and parameter offload: 4L on the GPU; host 18P / 2 nodes x 1.5
    ((3, True, True, 2), (2000, 2000, 0, 108000)),
    # ZeRO-3 in fp32 (CPU): 4-byte weights and gradients, still an fp32 optimizer copy
    ((3, False, False, 4), (8000, 8000, 12000, 24000)),
]


@pytest.mark.parametrize("setting, expected", STATES)
def test_model_states_per_device(setting, expected):
    stage, offload_optimizer, offload_params, w = setting
    s = model_states(P, L, stage, offload_optimizer, offload_params, gpus_per_node=4, nodes=2, w=w)
    assert (s.parameters, s.gradients, s.optimizer, s.host) == expected


# (total, largest, GPUs per node, nodes): divisible, so DeepSpeed's int() rounds nothing away
SIZES = [(494_032_768, 136_134_656, 8, 1), (7_615_616_512, 544_997_376, 8, 2), (8000, 1000, 4, 2), (1024, 256, 1, 1)]


@pytest.mark.parametrize("total, largest, gpus, nodes", SIZES)
def test_deepspeed_estimators_are_reproduced(total, largest, gpus, nodes, monkeypatch):
    monkeypatch.setenv("PYTORCH_NVML_BASED_CUDA_CHECK", "1")  # what importing DeepSpeed sets
    from deepspeed.runtime.zero.stage3 import estimate_zero3_model_states_mem_needs
    from deepspeed.runtime.zero.stage_1_and_2 import estimate_zero2_model_states_mem_needs

    for offload in (False, True):
        assert deepspeed_zero2(total, gpus, nodes, offload) == estimate_zero2_model_states_mem_needs(
            total, gpus, nodes, offload
        )
        ours = model_states(total, largest, 2, offload, False, gpus, nodes)
        assert ours.device == estimate_zero2_model_states_mem_needs(total, gpus, nodes, offload)[1]
    for optimizer, params in ((False, False), (True, False), (True, True)):
        theirs = estimate_zero3_model_states_mem_needs(total, largest, gpus, nodes, optimizer, params)
        assert deepspeed_zero3(total, largest, gpus, nodes, optimizer, params) == theirs
        assert model_states(total, largest, 3, optimizer, params, gpus, nodes).device == theirs[1]


def _saved_bytes_per_layer_token(h: int, heads: int, kv: int, inter: int, dtype: str, tokens: int = 256) -> float:
    """Bytes per token that one more decoder layer adds to what autograd saves (parameters excluded), counted on
    a real forward of transformers' Qwen2."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    totals = []
    for layers in (1, 2):
        config = Qwen2Config(
            vocab_size=512, hidden_size=h, intermediate_size=inter, num_hidden_layers=layers,
            num_attention_heads=heads, num_key_value_heads=kv, attn_implementation="sdpa",
        )  # fmt: skip
        model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype)).train()
        params = {p.untyped_storage().data_ptr() for p in model.parameters()}
        seen: dict[int, int] = {}

        def pack(t, params=params, seen=seen):
            storage = t.untyped_storage()
            if storage.data_ptr() not in params:
                seen[storage.data_ptr()] = storage.nbytes()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model.model(input_ids=torch.randint(0, 512, (1, tokens)))
        totals.append(sum(seen.values()))
    return (totals[1] - totals[0]) / tokens


# (hidden, heads, KV heads, intermediate, dtype): head size 64; the formula within 1% of what autograd saves
SAVED = [(256, 4, 2, 704, "float32"), (384, 6, 1, 1024, "float32"), (256, 4, 2, 704, "bfloat16")]


@pytest.mark.parametrize("h, heads, kv, inter, dtype", SAVED)
def test_layer_activations_are_what_autograd_saves(h, heads, kv, inter, dtype):
    shape = Qwen2Shape(h, inter, 1, heads, kv, 512, 4096, 1e4, True)
    predicted = layer_bytes_per_token(shape, 4 if dtype == "float32" else 2)
    assert predicted == pytest.approx(_saved_bytes_per_layer_token(h, heads, kv, inter, dtype), rel=0.01)


def test_activation_arithmetic_by_hand():
    shape = ARCHITECTURES["qwen2.5-0.5b"]
    # fp32: 4 x (6*896 + 2*896 + 2*128 + 4*4864) + 4 x (14 + 2) = 107,584 bytes per token and layer
    assert layer_bytes_per_token(shape, 4) == 107_584
    # checkpointing keeps 24 layer inputs + embedding / final norm (27 x 512 x 896 x 4); one layer in the backward
    a = activations(shape, 512, 1, True, 4)
    assert (a.stored, a.backward, a.mask) == (27 * 512 * 896 * 4, 512 * 107_584, 0)
    # LM head: tile 512 x 32768 x 4 + fp32 weight gradient 4 x 151936 x 896 + fp32 hidden gradient 4 x 512 x 896
    assert lm_head_bytes(shape, 512, 4) == 67_108_864 + 544_538_624 + 1_835_008
    # a padded batch of 2 sequences of 1024 tokens: its mask, 5 x 2 x 1024^2
    assert activations(shape, 1024, 2, False, 2, padded=True).mask == 10_485_760


def test_vllm_engine_on_a_gpu_by_hand():
    shape = ARCHITECTURES["qwen2.5-7b"]
    assert kv_bytes_per_token_per_device(shape, 2, 1) == 2 * 28 * 4 * 128 * 2  # 57,344
    assert kv_bytes_per_token_per_device(shape, 2, 8) == 2 * 28 * 1 * 128 * 2  # 4 KV heads over 8 GPUs: one each
    e = gpu_engine(shape, 80 * GIB, 0.4)
    # 0.4 x 80 GiB, minus bf16 weights 2 x 7,615,616,512, minus a 4096-token prefill (4096 x (4h + 3i) x 2) and
    # the 0.5 GiB CUDA-graph allowance
    kv = 34_359_738_368 - 15_231_233_024 - (4096 * (4 * 3584 + 3 * 18944) * 2 + 2**29)
    assert (e.weights, e.kv_cache, e.kv_tokens) == (15_231_233_024, kv, kv // 57_344)


ARGS = [
    # the recipe first, its overrides quoted into overrides=[...], plan's own keys kept
    (
        ["grpo", "experiment=x", "cluster.nodes=2", "train.per_device_batch_size=2"],
        ["recipe=grpo", "cluster.nodes=2", "overrides=['experiment=x','train.per_device_batch_size=2']"],
    ),
    # Hydra's flags stay plan's and go first (argparse wants them before the overrides); a quote is escaped
    (
        ["sft", "--cfg", "job", "model.name_or_path=it's"],
        ["--cfg", "job", "recipe=sft", "overrides=['model.name_or_path=it\\'s']"],
    ),
    # already in plan's own form: unchanged
    (["recipe=sft", "cluster.gpu_memory_gib=40"], ["recipe=sft", "cluster.gpu_memory_gib=40"]),
]  # fmt: skip


@pytest.mark.parametrize("argv, expected", ARGS)
def test_plan_arguments(argv, expected):
    assert plan_arguments(argv) == expected


def _plan(recipe: str, overrides: list[str], **cluster):
    from deepcritic.planning.workload import workload
    from deepcritic.recipes.plan import compose_recipe

    return plan(workload(recipe, compose_recipe(recipe, overrides), ClusterConfig(**cluster)))


def test_paper_sft_fits_on_8_gpus_of_80_gib_with_hand_computed_states():
    p = _plan("sft", ["experiment=deepcritic_sft_qwen2.5_7b"], gpus_per_node=8, gpu_memory_gib=80)
    total, largest = 7_615_616_512, 544_997_376
    # ZeRO-3 over 8 GPUs, bf16: 2P/8 + 2L weights, 4P/8 + 2L gradients, 12P/8 optimizer
    assert p.items["parameters"] == 2 * total // 8 + 2 * largest
    assert p.items["gradients"] == 4 * total // 8 + 2 * largest
    assert p.items["optimizer"] == 12 * total // 8
    assert p.fits and p.advice == []


def test_a_run_that_does_not_fit_gets_advice_that_fits():
    p = _plan("grpo", ["experiment=deepcritic_grpo_qwen2.5_7b"], gpus_per_node=8, gpu_memory_gib=40)
    # 64 GiB on a 40 GiB GPU: no single change is enough (server mode alone still leaves 48 GiB), so the advice is
    # the cheapest combination, and applying it does fit
    assert not p.fits and len(p.advice) == 1
    assert p.advice[0].startswith("train.per_device_batch_size=2 (accumulation doubles) + deepspeed.offload_optimizer")
    assert estimate(dataclasses.replace(p.workload, micro_batch=2, offload_optimizer=True)).fits
    assert not estimate(dataclasses.replace(p.workload, rollout="server")).fits
    # on 80 GiB GPUs it is just over: each of several single changes fits
    q = _plan("grpo", ["experiment=deepcritic_grpo_qwen2.5_7b"], gpus_per_node=8, gpu_memory_gib=80)
    assert not q.fits and any(a.startswith("rollout.sleep_mode=true") for a in q.advice)


def test_plan_recipe_writes_plan_json(tmp_path):
    import json

    from deepcritic.recipes.plan import main

    cfg = PlanConfig(recipe="eval", overrides=["model=qwen2.5_7b_instruct"], output=str(tmp_path / "plan.json"))
    out = main(cfg)
    written = json.loads((tmp_path / "plan.json").read_text())
    assert written["fits"] is True and written == json.loads(json.dumps(out))
    assert set(written["per_device_gib"]) >= {"vLLM weights", "vLLM KV cache"}


def _ladder_rungs() -> list[dict]:
    from tests.helpers.paths import TESTS

    return json_load(TESTS / "data" / "scale_ladder_plan_check.json")


def json_load(path):
    import json

    return json.loads(path.read_text())


@pytest.mark.parametrize("rung", _ladder_rungs()["rungs"], ids=lambda r: r["rung"])
def test_plan_predicts_the_measured_ladder_within_25_percent(rung, tmp_path):
    """Every scale-ladder rung measured on this CPU (docs/benchmarks.md; tests/data/scale_ladder_plan_check.json:
    the rung's overrides and its measured peak resident memory): the plan of the same config, on the same kind of
    machine, is within 25% of what was measured."""
    import json

    from deepcritic.planning.workload import workload
    from deepcritic.recipes.plan import compose_recipe

    model = tmp_path / rung["model"]
    model.mkdir()
    (model / "config.json").write_text(json.dumps(_ladder_rungs()["models"][rung["model"]]))
    overrides = [o.replace("{model}", str(model)).replace("{data}", str(tmp_path)) for o in rung["overrides"]]
    cluster = ClusterConfig(device="cpu", gpus_per_node=rung["processes"], gpu_memory_gib=24.0 * rung["processes"])
    predicted = estimate(workload(rung["recipe"], compose_recipe(rung["recipe"], overrides), cluster)).total / GIB
    assert predicted == pytest.approx(rung["peak_gib"], rel=0.25)
