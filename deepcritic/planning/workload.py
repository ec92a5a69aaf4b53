"""A recipe's config -> the :class:`Workload` that ``deepcritic plan`` counts (pure: no model is loaded).

The model's shape comes from, in order: a from-scratch model's own fields (``model.architecture`` or
``model.tiny``), the ``config.json`` of a local model directory, ``model.architecture``, or the table of known Hub
names (deepcritic/config/architectures.py). Precision follows ``model.dtype`` as training resolves it (``auto``:
bf16 on GPUs, fp32 on CPU).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepcritic.config import ModelConfig
from deepcritic.config.architectures import ARCHITECTURES, KNOWN_MODELS, Qwen2Shape
from deepcritic.config.planning import ClusterConfig
from deepcritic.errors import DeepcriticError

TRAINING = ("sft", "cft", "grpo")


@dataclass(frozen=True)
class Workload:
    """What one training or generation process holds, and the batch it works on."""

    recipe: str
    shape: Qwen2Shape
    cluster: ClusterConfig
    w: int  # training precision, bytes per weight
    zero: int = 0
    offload_optimizer: bool = False
    offload_params: bool = False
    micro_batch: int = 1
    sequence: int = 0  # tokens per training sequence (prompt + completion)
    loss_tokens: int = 0  # tokens per sequence through the LM head
    padded: bool = False
    checkpointing: bool = False
    global_batch: int = 0  # sequences per optimizer step
    reference_model: bool = False
    rollout: str = "none"  # none | colocate | server | hf | openai
    utilization: float = 0.9
    kv_cache_gib: float = 1.0
    tensor_parallel: int = 1
    sleep: bool = False
    engine_w: int = 2
    compiled: bool = True  # vLLM compiles its graphs (TRL's colocated engine always; others unless enforce_eager)
    checkpoint_w: int = 2  # bytes per weight of the checkpoint a generation engine loads
    generation_batch: int = 0  # sequences generated at once per process
    samples_per_prompt: int = 1
    prompt: int = 0
    completion: int = 0
    max_model_len: int | None = None

    @property
    def world(self) -> int:
        return self.cluster.gpus_per_node * self.cluster.nodes

    @property
    def training(self) -> bool:
        return self.recipe in TRAINING


def shape_of(model: ModelConfig) -> Qwen2Shape:
    """The model's shape, without loading it: a from-scratch model's own (``model.architecture`` or ``model.tiny``),
    a local directory's ``config.json``, ``model.architecture``, or a known Hub name."""
    config = Path(model.name_or_path) / "config.json"
    if model.from_scratch and model.architecture:
        return ARCHITECTURES[model.architecture]
    if model.from_scratch:
        t = model.tiny
        return Qwen2Shape(
            hidden_size=t.hidden_size,
            intermediate_size=t.intermediate_size,
            num_layers=t.num_layers,
            num_heads=t.num_heads,
            num_kv_heads=t.num_kv_heads,
            vocab_size=t.pad_vocab_to or t.vocab_size,
            max_position_embeddings=t.max_position_embeddings,
            rope_theta=10000.0,
            tie_word_embeddings=True,
        )
    if config.is_file():
        return shape_from_config(json.loads(config.read_text(encoding="utf-8")))
    if model.architecture:
        return ARCHITECTURES[model.architecture]
    if model.name_or_path in KNOWN_MODELS:
        return ARCHITECTURES[KNOWN_MODELS[model.name_or_path]]
    raise DeepcriticError(
        f"model.name_or_path = {model.name_or_path!r}: no local config.json and not a known Hub name, so its shape "
        f"is unknown; set model.architecture to one of {', '.join(ARCHITECTURES)} (the shape it was trained from)"
    )


def shape_from_config(c: dict[str, Any]) -> Qwen2Shape:
    """A Hugging Face Qwen2 (or Llama-like) ``config.json`` as a shape."""
    rope = c.get("rope_theta") or (c.get("rope_parameters") or {}).get("rope_theta", 10000.0)
    return Qwen2Shape(
        hidden_size=c["hidden_size"],
        intermediate_size=c["intermediate_size"],
        num_layers=c["num_hidden_layers"],
        num_heads=c["num_attention_heads"],
        num_kv_heads=c.get("num_key_value_heads", c["num_attention_heads"]),
        vocab_size=c["vocab_size"],
        max_position_embeddings=c.get("max_position_embeddings", 32768),
        rope_theta=float(rope),
        tie_word_embeddings=bool(c.get("tie_word_embeddings", False)),
    )


def checkpoint_bytes(model: ModelConfig) -> int:
    """Bytes per weight of a local checkpoint (its config.json's dtype; 4 for float32), else 2 (bf16 releases)."""
    config = Path(model.name_or_path) / "config.json"
    if model.from_scratch or not config.is_file():
        return 2
    c = json.loads(config.read_text(encoding="utf-8"))
    return 4 if (c.get("dtype") or c.get("torch_dtype")) == "float32" else 2


def weight_bytes(dtype: str, device: str) -> int:
    """Bytes per weight as training resolves ``model.dtype`` (``auto``: bf16 on a GPU, fp32 on CPU)."""
    precision = {"auto": "bf16" if device == "gpu" else "fp32"}.get(dtype, dtype)
    return 4 if precision == "fp32" else 2


def workload(recipe: str, cfg: Any, cluster: ClusterConfig) -> Workload:
    """The workload of ``cfg`` (the composed, validated config of ``recipe``) on ``cluster``."""
    if recipe in ("sft", "cft"):
        return _sft(recipe, cfg, cluster)
    if recipe == "grpo":
        return _grpo(cfg, cluster)
    model, rollout, sampling = _generation_role(recipe, cfg)
    shape = shape_of(model)
    limit = rollout.vllm.max_model_len or shape.max_position_embeddings
    return Workload(
        recipe,
        shape,
        cluster,
        weight_bytes(model.dtype, cluster.device),
        rollout=rollout.backend,
        **_engine(rollout),
        engine_w=4 if model.dtype == "fp32" else 2,
        compiled=not rollout.vllm.enforce_eager,
        checkpoint_w=checkpoint_bytes(model),
        generation_batch=(rollout.hf.batch_size if rollout.backend == "hf" else getattr(cfg, "batch_size", 8))
        * sampling.n,
        samples_per_prompt=sampling.n,
        prompt=max(0, limit - sampling.max_new_tokens),
        completion=sampling.max_new_tokens,
        max_model_len=rollout.vllm.max_model_len,
    )


def _training(cfg: Any, cluster: ClusterConfig) -> dict[str, Any]:
    """What SFT and GRPO share: the shape, precision, ZeRO and the micro batch."""
    t, ds = cfg.train, cfg.deepspeed
    return {
        "shape": shape_of(cfg.model),
        "cluster": cluster,
        "w": weight_bytes(cfg.model.dtype, cluster.device),
        "zero": ds.stage,
        "offload_optimizer": ds.offload_optimizer,
        "offload_params": ds.offload_params,
        "micro_batch": t.per_device_batch_size,
        "checkpointing": t.gradient_checkpointing,
        "global_batch": t.global_batch_size or t.per_device_batch_size * t.gradient_accumulation_steps,
    }


def _sft(recipe: str, cfg: Any, cluster: ClusterConfig) -> Workload:
    t = cfg.train
    padded = t.per_device_batch_size > 1 and not t.packing
    return Workload(recipe, sequence=t.max_length, loss_tokens=t.max_length, padded=padded, **_training(cfg, cluster))


def _grpo(cfg: Any, cluster: ClusterConfig) -> Workload:
    t, s, r = cfg.train, cfg.sampling, cfg.rollout
    shape = shape_of(cfg.model)
    limit = r.vllm.max_model_len if r.backend == "vllm" else None
    prompt = cfg.grpo.max_prompt_length or max(0, (limit or shape.max_position_embeddings) - s.max_new_tokens)
    common = _training(cfg, cluster)
    per_step = common["micro_batch"] * cluster.gpus_per_node * cluster.nodes
    return Workload(
        "grpo",
        sequence=prompt + s.max_new_tokens,
        loss_tokens=s.max_new_tokens,
        padded=t.per_device_batch_size > 1,
        reference_model=cfg.grpo.beta > 0,
        rollout="hf" if r.backend == "hf" else r.vllm_mode,
        **_engine(r),
        sleep=r.sleep_mode,
        engine_w=4 if cfg.model.dtype == "fp32" else 2,
        generation_batch=common["micro_batch"] * max(1, common["global_batch"] // per_step),
        samples_per_prompt=s.n,
        prompt=prompt,
        completion=s.max_new_tokens,
        max_model_len=limit,
        **common,
    )


def _engine(rollout: Any) -> dict[str, Any]:
    v = rollout.vllm
    return {
        "utilization": v.gpu_memory_utilization,
        "kv_cache_gib": v.kv_cache_memory_gib or 1.0,
        "tensor_parallel": v.tensor_parallel_size,
    }


def _generation_role(recipe: str, cfg: Any) -> tuple[ModelConfig, Any, Any]:
    """The model, rollout and sampling a generation recipe runs (``eval``'s critic, ``label``'s generator ...)."""
    if hasattr(cfg, "model") and hasattr(cfg, "rollout") and hasattr(cfg, "sampling"):
        return cfg.model, cfg.rollout, cfg.sampling
    for role in ("generator", "teacher", "critic"):
        section = getattr(cfg, role, None)
        if section is not None and hasattr(section, "rollout"):
            return section.model, section.rollout, section.sampling
    raise DeepcriticError(f"deepcritic plan: recipe {recipe!r} neither trains nor generates with a local model")
