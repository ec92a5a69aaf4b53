"""Long sequences at real shapes: GRPO keeps only prompts that a colocated engine's context can hold with a whole
completion, and a config whose lengths cannot fit the engine is refused before anything loads."""

from __future__ import annotations

import pytest

from deepcritic.config import validate
from deepcritic.grpo.data import prompt_limit
from tests.helpers.configs import compose

LIMITS = [
    # no limits anywhere: keep every prompt
    (None, None, 128, None),
    # only grpo.max_prompt_length
    (4096, None, 8192, 4096),
    # only the engine's context: what it leaves after the completion budget
    (None, 2048, 128, 1920),
    # both: the tighter one
    (4096, 12288, 8192, 4096),
    (4096, 8192, 8192, 0),
]


@pytest.mark.parametrize("max_prompt, max_model_len, new_tokens, expected", LIMITS)
def test_prompt_limit(max_prompt, max_model_len, new_tokens, expected):
    assert prompt_limit(max_prompt, max_model_len, new_tokens) == expected


ENGINE_LENGTHS = [
    # the paper's run: 4096 + 8192 = 12288 = max_model_len
    (["experiment=deepcritic_grpo_qwen2.5_7b"], []),
    # a longer prompt limit than the engine can hold with the completion
    (
        ["experiment=deepcritic_grpo_qwen2.5_7b", "grpo.max_prompt_length=6000"],
        [("rollout.vllm.max_model_len", 12288)],
    ),
    # completions alone longer than the context
    (["sampling.max_new_tokens=4096"], [("rollout.vllm.max_model_len", 2048)]),
    # generate rollouts have no engine context to check
    (["rollout=hf", "sampling.max_new_tokens=4096"], []),
]


@pytest.mark.parametrize("overrides, expected", ENGINE_LENGTHS)
def test_engine_context_must_hold_prompt_and_completion(overrides, expected):
    problems = [(p.key, p.value) for p in validate(compose("grpo", overrides)) if "max_model_len" in p.key]
    assert problems == expected
