"""The generation interface without a model: OpenAI-compatible backend against a scripted local HTTP
server (retries, backoff, n, errors, the API key from an env var), the rate limiter and backend choice."""

from __future__ import annotations

import pytest

from deepcritic.config import ModelConfig, OpenAIServerConfig, RolloutConfig, SamplingConfig
from deepcritic.errors import DeepcriticError
from deepcritic.generation import (
    build_generator,
    cut_at_stop,
    prompt_kind,
    render_prompt,
)
from deepcritic.openai_backend import OpenAIGenerator, RateLimiter, backoff_delays
from tests.helpers.openai_server import ScriptedServer

BACKOFF = [
    # doubling from the base
    (3, 1.0, 60.0, [1.0, 2.0, 4.0]),
    # capped at the maximum
    (5, 2.0, 10.0, [2.0, 4.0, 8.0, 10.0, 10.0]),
    # no retries
    (0, 1.0, 60.0, []),
]


@pytest.mark.parametrize("retries, base, cap, want", BACKOFF)
def test_backoff_delays(retries, base, cap, want):
    assert backoff_delays(retries, base, cap) == want


def test_rate_limiter_spaces_calls():
    now, slept = [0.0], []

    def sleep(s):
        slept.append(s)
        now[0] += s

    limiter = RateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.wait()
    assert slept == [0.5, 0.5]  # 2 per second: the 2nd and 3rd call wait half a second each
    RateLimiter(None, clock=lambda: 0.0, sleep=sleep).wait()
    assert len(slept) == 2  # no limit: no wait


@pytest.fixture
def server_factory():
    servers = []

    def make(script):
        servers.append(ScriptedServer(script))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def _generator(url: str, **openai) -> OpenAIGenerator:
    rollout = RolloutConfig(
        backend="openai",
        openai=OpenAIServerConfig(base_url=url, backoff_s=0.01, backoff_max_s=0.02, timeout_s=10, **openai),
    )
    return OpenAIGenerator(ModelConfig(name_or_path="served-name"), rollout)


MSGS = [[{"role": "user", "content": "hi"}], [{"role": "user", "content": "there"}]]


def test_n_completions_in_order_with_finish_reasons(server_factory):
    server = server_factory([])
    out = _generator(server.url).generate(MSGS, SamplingConfig(n=2, temperature=0.5, max_new_tokens=7, seed=3))
    assert [[c.text for c in o] for o in out] == [["answer 0", "answer 1"]] * 2  # sorted by choice index
    assert [c.finish_reason for c in out[0]] == ["stop", "length"]
    assert out[0][0].num_tokens is None  # n > 1 in one request: no per-completion count
    body = server.requests[0]["body"]
    assert (body["model"], body["n"], body["max_tokens"], body["seed"], body["temperature"]) == (
        "served-name",
        2,
        7,
        3,
        0.5,
    )


def test_top_k_reaches_the_server_only_when_set(server_factory):
    """top_k is not an OpenAI parameter: it goes in the body's extra fields (vLLM / SGLang servers read it)."""
    server = server_factory([])
    _generator(server.url).generate(MSGS[:1], SamplingConfig(temperature=0.7, top_p=0.8, top_k=20))
    _generator(server.url).generate(MSGS[:1], SamplingConfig())
    with_k, without = (r["body"] for r in server.requests)
    assert (with_k["top_k"], with_k["top_p"]) == (20, 0.8) and "top_k" not in without


def test_close_releases_the_pool(server_factory):
    gen = _generator(server_factory([]).url)
    gen.close()
    with pytest.raises(RuntimeError):  # the thread pool no longer takes work
        gen.generate(MSGS[:1], SamplingConfig())


def test_transient_errors_are_retried(server_factory):
    server = server_factory([500, 503, 429])
    out = _generator(server.url, max_retries=3).generate(MSGS[:1], SamplingConfig(n=1))
    assert out[0][0].text == "answer 0" and out[0][0].num_tokens == 5
    assert len(server.requests) == 4


def test_retries_exhausted_give_error_completions(server_factory):
    server = server_factory([500] * 10)
    out = _generator(server.url, max_retries=2).generate(MSGS[:1], SamplingConfig(n=2))
    assert [c.finish_reason for c in out[0]] == ["error", "error"] and out[0][0].text == ""
    assert "InternalServerError" in out[0][0].error and len(server.requests) == 3


def test_client_errors_are_not_retried(server_factory):
    server = server_factory([400])
    out = _generator(server.url, max_retries=5).generate(MSGS[:1], SamplingConfig(n=1))
    assert out[0][0].finish_reason == "error" and "HTTP 400" in out[0][0].error and len(server.requests) == 1


def test_one_sample_per_request_mode(server_factory):
    server = server_factory([])
    out = _generator(server.url, n_per_request=False).generate(MSGS, SamplingConfig(n=3, seed=10))
    assert [len(o) for o in out] == [3, 3] and len(server.requests) == 6
    assert sorted(r["body"]["seed"] for r in server.requests) == [10, 10, 11, 11, 12, 12]
    assert all(c.num_tokens == 5 for o in out for c in o)


def test_api_key_comes_from_the_named_env_var(server_factory, monkeypatch):
    server = server_factory([])
    monkeypatch.setenv("MY_TEST_KEY", "sk-secret-value")
    _generator(server.url, api_key_env="MY_TEST_KEY").generate(MSGS[:1], SamplingConfig())
    assert server.requests[0]["auth"] == "Bearer sk-secret-value"


def test_missing_api_key_env_is_a_user_error_without_the_key(monkeypatch):
    monkeypatch.delenv("MY_MISSING_KEY", raising=False)
    with pytest.raises(DeepcriticError, match="MY_MISSING_KEY, which is not set"):
        _generator("http://127.0.0.1:9/v1", api_key_env="MY_MISSING_KEY")


def test_unreachable_server_gives_error_completions():
    out = _generator("http://127.0.0.1:9/v1", max_retries=1).generate(MSGS[:1], SamplingConfig())
    assert out[0][0].finish_reason == "error" and "Connection" in out[0][0].error


def test_unknown_backend_is_a_user_error():
    with pytest.raises(DeepcriticError, match="use one of vllm, openai, hf"):
        build_generator(ModelConfig(), RolloutConfig(backend="tgi"))


# ---------------------------------------------------------------------------------------------------
# Prompt kinds (chat, prefill, text) and stop strings

KINDS = [
    # a user turn last: the model answers in a new assistant turn
    ([{"role": "user", "content": "q"}], "chat"),
    # a system and a user turn
    ([{"role": "system", "content": "s"}, {"role": "user", "content": "q"}], "chat"),
    # an assistant turn last: the model continues it
    ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "Step 1: 2"}], "prefill"),
    # a plain string: sent as it is
    ("<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n", "text"),
]


@pytest.mark.parametrize("prompt, kind", KINDS)
def test_prompt_kind(prompt, kind):
    assert prompt_kind(prompt) == kind


CUTS = [
    # the first stop string that occurs ends the text, and is not kept
    ("a critique. Conclusion: right [END] more", ["[END]"], ("a critique. Conclusion: right ", True)),
    # the earliest of several
    ("x (END) y [END]", ["[END]", "(END)"], ("x ", True)),
    # none occurs
    ("no stop here", ["[END]"], ("no stop here", False)),
    # no stop strings, and empty ones are ignored
    ("text", [], ("text", False)),
    ("text", [""], ("text", False)),
]


@pytest.mark.parametrize("text, stop, want", CUTS)
def test_cut_at_stop(text, stop, want):
    assert cut_at_stop(text, stop) == want


class _Template:
    """A tokenizer stand-in with Qwen's ChatML template semantics (records the flags it was called with)."""

    def apply_chat_template(self, messages, tokenize, add_generation_prompt, continue_final_message):
        self.flags = (add_generation_prompt, continue_final_message)
        parts = [f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages]
        if continue_final_message:
            parts[-1] = parts[-1][: -len("<|im_end|>\n")]
        return "".join(parts) + ("<|im_start|>assistant\n" if add_generation_prompt else "")


RENDERS = [
    # chat: a new assistant turn is opened
    (KINDS[0][0], "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n", (True, False)),
    # prefill: the assistant turn stays open after its text
    (KINDS[2][0], "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\nStep 1: 2", (False, True)),
]


@pytest.mark.parametrize("prompt, text, flags", RENDERS)
def test_render_prompt(prompt, text, flags):
    tokenizer = _Template()
    assert render_prompt(tokenizer, prompt) == text
    assert tokenizer.flags == flags
    assert render_prompt(tokenizer, "raw text") == "raw text"  # a text prompt skips the template


def test_render_prompt_with_a_real_chat_template(tiny_qwen2):
    """The tiny model's (Qwen) chat template: a prefill ends inside the assistant turn, after its last character."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen2)
    text = render_prompt(tokenizer, KINDS[2][0])
    assert text.endswith("<|im_start|>assistant\nStep 1: 2")
    assert render_prompt(tokenizer, KINDS[0][0]).endswith("<|im_start|>assistant\n")


def test_stop_and_prefill_reach_the_chat_server(server_factory):
    """Stop strings go in the body; a prefill asks a vLLM/SGLang server to continue the last assistant turn."""
    server = server_factory([])
    gen = _generator(server.url)
    gen.generate([KINDS[2][0]], SamplingConfig(stop=["[END]"]))
    gen.generate(MSGS[:1], SamplingConfig())
    prefill, chat = (r["body"] for r in server.requests)
    assert prefill["stop"] == ["[END]"] and prefill["messages"] == KINDS[2][0]
    assert (prefill["continue_final_message"], prefill["add_generation_prompt"]) == (True, False)
    assert not {"stop", "continue_final_message", "add_generation_prompt"} & set(chat)
    assert [r["path"] for r in server.requests] == ["/v1/chat/completions"] * 2


def test_stop_token_ids_reach_the_server_as_vllms_extension(server_factory):
    server = server_factory([])
    _generator(server.url).generate(["1+1="], SamplingConfig(stop_token_ids=[151645, 151643]))
    _generator(server.url).generate(["1+1="], SamplingConfig())
    with_ids, without = (r["body"] for r in server.requests)
    assert with_ids["stop_token_ids"] == [151645, 151643] and "stop_token_ids" not in without


def test_text_prompts_use_the_completions_endpoint(server_factory):
    server = server_factory([])
    out = _generator(server.url).generate(["Question: 1+1?\nAnswer:"], SamplingConfig(max_new_tokens=5))
    assert [c.text for c in out[0]] == ["answer 0"]
    assert server.requests[0]["path"] == "/v1/completions"
    assert (
        server.requests[0]["body"]["prompt"] == "Question: 1+1?\nAnswer:"
        and "messages" not in server.requests[0]["body"]
    )


def test_prefill_refused_by_a_server_that_cannot_continue(server_factory):
    server = server_factory([])
    gen = _generator(server.url, continue_final_message=False)
    with pytest.raises(DeepcriticError, match="continue_final_message=false"):
        gen.generate([KINDS[2][0]], SamplingConfig())
    assert server.requests == []  # refused before any request
