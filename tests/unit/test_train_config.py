"""Validation of the sft / cft sections: train, chat data, tiny model; every problem at once."""

from __future__ import annotations

import dataclasses

import pytest

from deepcritic.config import (
    CFTRecipeConfig,
    ChatDataConfig,
    LoraConfig,
    ModelConfig,
    SFTRecipeConfig,
    SFTTrainConfig,
    TinyModelConfig,
    validate,
)


def _sft(train=None, chat=None, model=None) -> SFTRecipeConfig:
    cfg = SFTRecipeConfig()
    if train:
        cfg.train = dataclasses.replace(SFTTrainConfig(), **train)
    if chat:
        cfg.chat = dataclasses.replace(ChatDataConfig(), **chat)
    if model:
        cfg.model = model
    return cfg


CASES = [
    # defaults are valid for both recipes
    (SFTRecipeConfig(), []),
    (CFTRecipeConfig(), []),
    # learning rate must be positive
    (_sft(train={"learning_rate": 0.0}), ["train.learning_rate"]),
    # no epochs and no max_steps: nothing to train
    (_sft(train={"epochs": 0.0}), ["train.epochs"]),
    # max_steps alone is enough
    (_sft(train={"epochs": 0.0, "max_steps": 10}), []),
    # warmup is a fraction
    (_sft(train={"warmup_ratio": 1.5}), ["train.warmup_ratio"]),
    # global batch below the per-device batch
    (_sft(train={"global_batch_size": 2, "per_device_batch_size": 4}), ["train.global_batch_size"]),
    # explicit accumulation only checked when the global batch is null
    (_sft(train={"global_batch_size": None, "gradient_accumulation_steps": 0}), ["train.gradient_accumulation_steps"]),
    # silly max length
    (_sft(train={"max_length": 8}), ["train.max_length"]),
    # steps and limits
    (
        _sft(train={"save_steps": 0, "logging_steps": 0, "save_total_limit": 0}),
        ["train.logging_steps", "train.save_steps", "train.save_total_limit"],
    ),
    # empty resume
    (_sft(train={"resume": ""}), ["train.resume"]),
    # LoRA on with rank 0 and no modules
    (
        _sft(train={"lora": LoraConfig(enabled=True, r=0, target_modules=[])}),
        ["train.lora.r", "train.lora.target_modules"],
    ),
    # LoRA off: its fields are not checked
    (_sft(train={"lora": LoraConfig(enabled=False, r=0)}), []),
    # unknown chat source
    (_sft(chat={"source": "csv"}), ["chat.source"]),
    # messages need a file or a Hub dataset
    (_sft(chat={"source": "messages"}), ["chat.path"]),
    (_sft(chat={"source": "messages", "path": "x.jsonl"}), []),
    # cft from the Hub
    (_sft(chat={"source": "cft", "hub_name": "TIGER-Lab/WebInstruct-CFT"}), []),
    # bad limit
    (_sft(chat={"limit": 0}), ["chat.limit"]),
    # a tiny model with a head size below 64 (vLLM CPU attention)
    (
        _sft(model=ModelConfig(from_scratch=True, tiny=TinyModelConfig(hidden_size=64, num_heads=4))),
        ["model.tiny.num_heads"],
    ),
    # hidden size not a multiple of the heads; kv heads must divide heads
    (
        _sft(model=ModelConfig(from_scratch=True, tiny=TinyModelConfig(hidden_size=200, num_heads=3, num_kv_heads=1))),
        ["model.tiny.hidden_size"],
    ),
    (
        _sft(model=ModelConfig(from_scratch=True, tiny=TinyModelConfig(hidden_size=192, num_heads=3, num_kv_heads=2))),
        ["model.tiny.num_kv_heads"],
    ),
    # vocabulary too small for the byte alphabet
    (_sft(model=ModelConfig(from_scratch=True, tiny=TinyModelConfig(vocab_size=100))), ["model.tiny.vocab_size"]),
    # from_scratch needs no model name
    (_sft(model=ModelConfig(name_or_path="", from_scratch=True)), []),
    # tiny fields are not checked when loading a real model
    (_sft(model=ModelConfig(tiny=TinyModelConfig(num_heads=0))), []),
]


@pytest.mark.parametrize("cfg, keys", CASES)
def test_validate_sft_cft_sections(cfg, keys):
    assert [p.key for p in validate(cfg)] == keys


def test_problem_names_value_and_fix():
    problems = validate(_sft(train={"learning_rate": -1.0}, chat={"source": "cft"}))
    text = "\n".join(str(p) for p in problems)
    assert "train.learning_rate = -1.0: use a positive learning rate" in text
    assert "chat.path = None: source 'cft' needs chat.path=<file> or chat.hub_name=<dataset>" in text
