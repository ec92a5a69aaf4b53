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


def _chats(prompts_and_targets):
    import datasets

    rows = [
        {"prompt": [{"role": "user", "content": p}], "completion": [{"role": "assistant", "content": t}]}
        for p, t in prompts_and_targets
    ]
    return datasets.Dataset.from_list(rows)


@pytest.fixture(scope="module")
def char_tokenizer():
    """A byte-level tokenizer with (almost) no merges: about one token per character, so lengths are easy to set."""
    from deepcritic.modeling import build_tiny_tokenizer

    return build_tiny_tokenizer(["abc"], vocab_size=300)


def test_an_example_whose_prompt_fills_max_length_is_dropped_and_counted(char_tokenizer):
    from deepcritic.chat_data import training_examples

    # max_length 80: a short chat fits; a long target is cut but keeps 40-odd target tokens; a 100-character prompt
    # leaves no target token at all (TRL would drop it silently, or fail when no example is left)
    chats = _chats([("short", "ok"), ("q" * 20, "t" * 100), ("p" * 100, "t")])
    kept, report = training_examples(chats, char_tokenizer, "chat_template", 80, drop=False)
    assert [len(r["prompt"][0]["content"]) for r in kept] == [5, 20]
    assert (report.total, report.overlong, report.no_target) == (3, 2, 1)
    assert "1 of them keep no target token within max_length" in report.message()
    assert report.metrics()["data/no_target_dropped"] == 1


def test_no_example_left_with_a_target_is_a_clear_error(char_tokenizer):
    from deepcritic.chat_data import training_examples
    from deepcritic.errors import DeepcriticError

    with pytest.raises(DeepcriticError, match="no example keeps a target token within train.max_length=40"):
        training_examples(_chats([("p" * 60, "t")]), char_tokenizer, "chat_template", 40, drop=False)
