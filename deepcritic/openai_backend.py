"""The OpenAI-compatible backend of :mod:`deepcritic.generation` (``rollout.backend=openai``): any chat-completions
server (``vllm serve``, an API model), requests in a thread pool with a time-out, retries with exponential backoff
and an optional rate limit. The API key is read from the environment variable NAMED in the config; it is never
logged. Chat and prefill prompts go to ``/chat/completions`` (a prefill with vLLM's and SGLang's
``continue_final_message``), text prompts to ``/completions``.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from deepcritic.config import ModelConfig, RolloutConfig, SamplingConfig, looks_like_env_name
from deepcritic.errors import DeepcriticError
from deepcritic.generation import Completion, Prompt, prompt_kind


class RateLimiter:
    """At most ``per_second`` calls of :meth:`wait` per second across threads (None: no limit)."""

    def __init__(
        self,
        per_second: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.interval = 1.0 / per_second if per_second else 0.0
        self.clock, self.sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self.sleep(start - now)


def backoff_delays(retries: int, base_s: float, max_s: float) -> list[float]:
    """Waits before each retry: ``base_s * 2**attempt``, capped at ``max_s`` (no jitter; see caller)."""
    return [min(max_s, base_s * 2**attempt) for attempt in range(retries)]


class OpenAIGenerator:
    """Chat completions from an OpenAI-compatible server, ``concurrency`` requests in flight."""

    def __init__(self, model: ModelConfig, rollout: RolloutConfig):
        import openai

        o = rollout.openai
        self.cfg = o
        self.model = o.model or model.name_or_path
        self.name = f"openai:{self.model}@{o.base_url}"
        api_key = "EMPTY"
        if o.api_key_env:
            api_key = os.environ.get(o.api_key_env, "")
            if not api_key:
                shown = o.api_key_env if looks_like_env_name(o.api_key_env) else "<hidden: not a variable name>"
                raise DeepcriticError(
                    f"rollout.openai.api_key_env names the environment variable "
                    f"{shown}, which is not set: export it, or set api_key_env=null "
                    "for a server without a key"
                )
        self.client = openai.OpenAI(base_url=o.base_url, api_key=api_key, timeout=o.timeout_s, max_retries=0)
        self.limiter = RateLimiter(o.requests_per_second)
        self.pool = ThreadPoolExecutor(max_workers=o.concurrency, thread_name_prefix="openai")

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingConfig) -> list[list[Completion]]:
        if not self.cfg.continue_final_message and any(prompt_kind(p) == "prefill" for p in prompts):
            raise DeepcriticError(
                f"{self.name}: these prompts continue a prefilled assistant turn, and "
                "rollout.openai.continue_final_message=false says the server cannot (the OpenAI API has no "
                "prefill). Use a vLLM or SGLang server (continue_final_message=true), rollout=vllm or rollout=hf"
            )
        if self.cfg.n_per_request:
            jobs = [(p, sampling.n, sampling.seed) for p in prompts]
        else:  # n requests of one sample each; seeds differ so that the samples differ
            jobs = [
                (p, 1, None if sampling.seed is None else sampling.seed + j) for p in prompts for j in range(sampling.n)
            ]
        results = list(self.pool.map(lambda job: self._request(job[0], job[1], job[2], sampling), jobs))
        if self.cfg.n_per_request:
            return results
        return [sum(results[i * sampling.n : (i + 1) * sampling.n], []) for i in range(len(prompts))]

    def _request(self, prompt: Prompt, n: int, seed: int | None, s: SamplingConfig) -> list[Completion]:
        """One request: chat completions for messages (a prefill asks the server to continue the last turn),
        the plain completions endpoint for a text prompt."""
        import openai

        kind = prompt_kind(prompt)
        body: dict[str, Any] = {
            "model": self.model,
            "n": n,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_new_tokens,
        }
        body["prompt" if kind == "text" else "messages"] = prompt
        if seed is not None:
            body["seed"] = seed
        if s.stop:
            body["stop"] = list(s.stop)
        extra = dict(self.cfg.extra_body)
        if s.top_k:  # not an OpenAI parameter: vLLM and SGLang servers read it from the body
            extra.setdefault("top_k", s.top_k)
        if s.stop_token_ids:  # neither is this one (vLLM's extension)
            extra.setdefault("stop_token_ids", list(s.stop_token_ids))
        if kind == "prefill":  # vLLM's and SGLang's chat extension
            extra.update(continue_final_message=True, add_generation_prompt=False)
        create = self.client.completions.create if kind == "text" else self.client.chat.completions.create
        delays = backoff_delays(self.cfg.max_retries, self.cfg.backoff_s, self.cfg.backoff_max_s)
        for attempt in range(len(delays) + 1):
            self.limiter.wait()
            try:
                resp = create(**body, extra_body=extra or None)
                return _openai_completions(resp, n)
            except (
                openai.APIConnectionError,
                openai.APITimeoutError,
                openai.RateLimitError,
                openai.InternalServerError,
            ) as exc:
                error = f"{type(exc).__name__}: {exc}"
            except (json.JSONDecodeError, MalformedResponse) as exc:  # a proxy's HTML page, a cut-off body
                error = f"malformed response: {exc}"
            except openai.APIStatusError as exc:  # 4xx other than 429: retrying will not help
                return [Completion("", "error", None, f"HTTP {exc.status_code}: {exc.message}") for _ in range(n)]
            if attempt < len(delays):
                time.sleep(delays[attempt] * (0.5 + random.random() / 2))  # jitter: threads do not retry in step
        return [Completion("", "error", None, error) for _ in range(n)]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()


class MalformedResponse(ValueError):
    """A 200 answer whose JSON is not a chat completion (retried like a server error)."""


def _choice_text(choice: Any) -> str | None:
    """A choice's text: ``message.content`` (chat completions) or ``text`` (completions); None if neither."""
    message = getattr(choice, "message", None)
    if message is not None:
        return message.content or ""
    text = getattr(choice, "text", None)
    return text if isinstance(text, str) else None


def _openai_completions(resp: Any, n: int) -> list[Completion]:
    choices = getattr(resp, "choices", None)
    if not isinstance(choices, list) or not all(
        isinstance(getattr(c, "index", None), int) and _choice_text(c) is not None for c in choices
    ):
        raise MalformedResponse(f"not a completion: {str(resp)[:200]}")
    choices = sorted(choices, key=lambda c: c.index)
    usage = getattr(resp, "usage", None)
    per_choice = usage.completion_tokens if usage is not None and n == 1 else None
    out = [Completion(_choice_text(c) or "", _openai_reason(c.finish_reason), per_choice) for c in choices]
    return out + [Completion("", "error", None, "server returned fewer choices than n") for _ in range(n - len(out))]


def _openai_reason(reason: str | None) -> str | None:
    return {"stop": "stop", "length": "length"}.get(reason or "", reason)
