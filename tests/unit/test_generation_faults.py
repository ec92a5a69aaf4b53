"""Server faults seen by the OpenAI-compatible backend, one per case, against the scripted local server:
each is retried a bounded number of times with backoff, then reported as an ``error`` completion that
names the fault; nothing raises (a raise in a worker thread would crash the recipe with a traceback)."""

from __future__ import annotations

import time

import pytest

from deepcritic.config import ModelConfig, OpenAIServerConfig, RolloutConfig, SamplingConfig
from deepcritic.openai_backend import OpenAIGenerator
from tests.helpers.net import closed_port_url
from tests.helpers.openai_server import ScriptedServer

MSGS = [[{"role": "user", "content": "hi"}]]


def _generator(url: str, **openai) -> OpenAIGenerator:
    settings = {"backoff_s": 0.01, "backoff_max_s": 0.02, "timeout_s": 10, **openai}
    rollout = RolloutConfig(backend="openai", openai=OpenAIServerConfig(base_url=url, **settings))
    return OpenAIGenerator(ModelConfig(name_or_path="served-name"), rollout)


FAULTS = [
    # a body that is not JSON (a proxy's cut-off answer)
    ("malformed", "malformed response"),
    # JSON, but not a chat completion
    ("wrong_shape", "malformed response"),
    # server errors
    (500, "InternalServerError"),
    (503, "InternalServerError"),
    # rate limited
    (429, "RateLimitError"),
    # the connection closes without an answer
    ("drop", "APIConnectionError"),
]


@pytest.mark.parametrize("fault, named", FAULTS)
def test_persistent_fault_is_retried_then_reported(fault, named):
    with ScriptedServer(default=fault) as server:
        out = _generator(server.url, max_retries=2).generate(MSGS, SamplingConfig(n=2))
    assert [c.finish_reason for c in out[0]] == ["error", "error"]
    assert named in out[0][0].error and out[0][0].text == ""
    assert len(server.requests) == 3  # the first try and 2 retries, no more


@pytest.mark.parametrize("fault", ["malformed", "wrong_shape", 500, "drop"])
def test_transient_fault_is_retried_until_it_succeeds(fault):
    with ScriptedServer([fault, fault]) as server:
        out = _generator(server.url, max_retries=3).generate(MSGS, SamplingConfig(n=1))
    assert (out[0][0].finish_reason, out[0][0].text) == ("stop", "answer 0")
    assert len(server.requests) == 3


def test_timeout_is_bounded_and_retried():
    # every answer comes after 3 s; the client gives up after 0.3 s per try, 2 tries
    with ScriptedServer(default="hang", hang_s=3.0) as server:
        start = time.monotonic()
        out = _generator(server.url, max_retries=1, timeout_s=0.3).generate(MSGS, SamplingConfig())
        elapsed = time.monotonic() - start
    assert out[0][0].finish_reason == "error" and "Timeout" in out[0][0].error
    assert len(server.requests) == 2 and elapsed < 2.5


def test_refused_connection_is_retried_then_reported():
    start = time.monotonic()
    out = _generator(closed_port_url(), max_retries=2).generate(MSGS, SamplingConfig())
    assert out[0][0].finish_reason == "error" and "APIConnectionError" in out[0][0].error
    assert time.monotonic() - start < 10


def test_backoff_waits_between_retries():
    # base 0.2 s, doubling, jitter in [0.5, 1]: 2 retries wait at least 0.1 + 0.2 s
    with ScriptedServer(default=500) as server:
        gen = _generator(server.url, max_retries=2, backoff_s=0.2, backoff_max_s=10.0)
        start = time.monotonic()
        gen.generate(MSGS, SamplingConfig())
        assert time.monotonic() - start >= 0.3
    assert len(server.requests) == 3
