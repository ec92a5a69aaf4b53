"""How completions are generated (groups ``rollout``; sections ``sampling``): backend, engine, sampling."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from deepcritic.config.base import cross_check, key_of, option
from deepcritic.config.model import ModelConfig
from deepcritic.errors import Problem

BACKENDS = ("vllm", "openai", "hf")


@dataclass
class SamplingConfig:
    """How a generation backend samples: ``n`` completions per prompt (every backend reads these)."""

    n: int = option(1, "completions per prompt", ge=1, fix="use at least 1 sample per prompt")
    temperature: float = option(0.0, "0 = greedy", ge=0, fix="use 0 (greedy) or a positive temperature")
    top_p: float = option(1.0, "nucleus sampling mass", gt=0, le=1)
    top_k: int = option(0, "sample among the k most likely tokens; 0 = off", ge=0)
    max_new_tokens: int = option(4096, "tokens per completion at most", ge=1, fix="use at least 1 token")
    stop: list[str] = option(
        [], "strings that end a completion (not kept in the text), e.g. ['[END]']; every backend honours them"
    )
    stop_token_ids: list[int] = option(
        [],
        "token ids that end a completion besides the model's end-of-sequence ones (vLLM's stop_token_ids; HF: "
        "extra end tokens; a vLLM server reads them from the request), e.g. Qwen2's [151645, 151643]",
    )
    seed: Optional[int] = option(
        0,
        "per-request seed (vLLM on GPU, OpenAI-compatible servers); HF: seeded per "
        "batch; vLLM on CPU: the engine seed (rollout.vllm.seed) instead",
    )


@cross_check(SamplingConfig)
def _greedy_samples(s: SamplingConfig, key: str) -> list[Problem]:
    if s.temperature == 0 and s.n > 1:
        return [
            Problem(
                key_of(key, "temperature"),
                s.temperature,
                f"greedy decoding gives {s.n} identical samples: set a temperature > 0 (e.g. 0.7) or n=1",
            )
        ]
    return []


@dataclass
class VLLMEngineConfig:
    """vLLM's offline engine (``vllm.LLM``) arguments."""

    tensor_parallel_size: int = option(1, "GPUs per engine", ge=1)
    gpu_memory_utilization: float = option(
        0.9, "fraction of GPU memory for the engine (on CPU: of RAM, unless kv_cache_memory_gib is set)", gt=0, le=1
    )
    max_model_len: Optional[int] = option(None, "prompt + completion tokens at most; null = the model's own limit")
    enable_prefix_caching: bool = option(True, "reuse the KV cache of shared prompt prefixes")
    enforce_eager: bool = option(False, "true: no CUDA graphs / compilation (faster start, slower decode)")
    kv_cache_memory_gib: Optional[float] = option(
        None, "fixed KV-cache size instead of gpu_memory_utilization", gt=0, fix="a positive size, or null"
    )
    seed: int = option(0, "engine seed")
    in_process: bool = option(True, "run the engine core in this process (VLLM_ENABLE_V1_MULTIPROCESSING=0)")


@dataclass
class OpenAIServerConfig:
    """An OpenAI-compatible chat-completions server (``vllm serve``, an API model).

    The API key is never written in a config: ``api_key_env`` names the environment variable that holds
    it (null: no key, as for a local ``vllm serve``).
    """

    base_url: str = option("http://127.0.0.1:8000/v1", "the server's /v1 URL")
    model: Optional[str] = option(None, "served model name; null = model.name_or_path")
    api_key_env: Optional[str] = option(
        None, "the NAME of the environment variable holding the key, e.g. OPENAI_API_KEY"
    )
    concurrency: int = option(8, "requests in flight", ge=1)
    timeout_s: float = option(600.0, "per request, seconds")
    max_retries: int = option(5, "retries of a failed request, waiting backoff_s * 2^attempt (capped)")
    backoff_s: float = option(1.0, "first wait before a retry, seconds")
    backoff_max_s: float = option(60.0, "longest wait before a retry, seconds")
    requests_per_second: Optional[float] = option(
        None, "rate limit over all threads; null = none", gt=0, fix="a positive rate, or null"
    )
    n_per_request: bool = option(True, "false: send n requests of n=1 (servers that reject n > 1)")
    continue_final_message: bool = option(
        True,
        "the server can continue a prefilled assistant turn (vLLM / SGLang: continue_final_message); false (the "
        "OpenAI API): prompts that need it are refused",
    )
    extra_body: dict[str, Any] = option({}, "extra request fields, e.g. {top_k: 20}")


def looks_like_env_name(name: str) -> bool:
    """An environment variable name (letters, digits, _; not starting with a digit; at most 64 chars) that
    does not look like a pasted API key (``sk-...``, ``sk_...``)."""
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name)) and not name.lower().startswith(("sk_", "sk-"))


@cross_check(OpenAIServerConfig)
def _openai_server(o: OpenAIServerConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if not o.base_url.startswith(("http://", "https://")):
        out.append(Problem(key_of(key, "base_url"), o.base_url, "an http(s) URL, e.g. http://127.0.0.1:8000/v1"))
    if o.max_retries < 0 or o.timeout_s <= 0:
        out.append(Problem(key_of(key, "max_retries"), o.max_retries, "use >= 0 retries and a positive timeout_s"))
    if o.api_key_env is not None and not looks_like_env_name(o.api_key_env):
        out.append(
            Problem(
                key_of(key, "api_key_env"),
                "<hidden>",
                "the NAME of an environment variable holding the key (e.g. OPENAI_API_KEY), never the key itself",
            )
        )
    return out


@dataclass
class HFGenerateConfig:
    """transformers ``generate`` (the fallback backend): batched, left padding."""

    batch_size: int = option(8, "prompts per generate() call", ge=1)


@dataclass
class RolloutConfig:
    """Which backend generates completions, and its knobs (``deepcritic/generation.py``).

    ``backend``: ``vllm`` (offline engine), ``openai`` (an OpenAI-compatible server) or ``hf``
    (transformers generate). Only the section of the chosen backend is read (and checked).
    ``deepcritic grpo`` extends this section with its own fields (``GRPORolloutConfig``).
    """

    backend: str = option("vllm", "vllm | openai | hf", choices=BACKENDS)
    vllm: VLLMEngineConfig = option(VLLMEngineConfig, "backend=vllm", when=lambda r: r.backend == "vllm")
    openai: OpenAIServerConfig = option(OpenAIServerConfig, "backend=openai", when=lambda r: r.backend == "openai")
    hf: HFGenerateConfig = option(HFGenerateConfig, "backend=hf", when=lambda r: r.backend == "hf")


@dataclass
class RoleConfig:
    """One model in a pipeline (the generator, the critic): what it is, how it runs, how it samples."""

    model: ModelConfig = option(ModelConfig, "the model")
    rollout: RolloutConfig = option(RolloutConfig, "how it runs")
    sampling: SamplingConfig = option(SamplingConfig, "how it samples")
