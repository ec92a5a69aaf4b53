"""The tiny model and tokenizer (model=tiny): Qwen chat format, any text encodes, sizes from the config."""

from __future__ import annotations

import pytest

from deepcritic.config import ModelConfig, TinyModelConfig
from deepcritic.errors import DeepcriticError
from deepcritic.modeling import build_tiny, load_model, load_tokenizer

TEXTS = ["Step 1: 3 + 4 = 7. The step states 7, which matches.\n\n\\boxed{1}\n\n**Answer**: \\boxed{-1}"] * 20


@pytest.fixture(scope="module")
def tiny(tiny_qwen2):
    """(model, tokenizer) of the session's tiny model (built by build_tiny), loaded as the recipes load them."""
    cfg = ModelConfig(name_or_path=str(tiny_qwen2))
    return load_model(cfg, "fp32"), load_tokenizer(cfg)


def test_chat_template_is_qwen_chatml(tiny):
    _, tok = tiny
    msgs = [{"role": "user", "content": "Check 1+1=2"}, {"role": "assistant", "content": "\\boxed{1}"}]
    assert tok.apply_chat_template(msgs, tokenize=False) == (
        "<|im_start|>user\nCheck 1+1=2<|im_end|>\n<|im_start|>assistant\n\\boxed{1}<|im_end|>\n"
    )
    assert tok.apply_chat_template(msgs[:1], tokenize=False, add_generation_prompt=True).endswith(
        "<|im_start|>assistant\n"
    )


ROUND_TRIP = [
    # a critique in the synthetic task's format, the kind of text the tokenizer was trained on
    TEXTS[0],
    # unseen words, unicode and LaTeX: byte-level BPE encodes anything
    "Conclusion: wrong ✗ — $\\frac{1}{2}$ 数学",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_any_text_round_trips(tiny, text):
    _, tok = tiny
    assert tok.decode(tok(text)["input_ids"]) == text


def test_special_tokens_are_single_ids(tiny):
    _, tok = tiny
    for token in ("<|im_start|>", "<|im_end|>", "<|endoftext|>"):
        assert len(tok(token)["input_ids"]) == 1
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"


def test_model_sizes_and_generation_stop(tiny):
    model, tok = tiny
    cfg = model.config
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads) == (128, 2, 2, 1)
    assert cfg.hidden_size // cfg.num_attention_heads >= 64  # vLLM CPU attention
    assert cfg.vocab_size == len(tok) and model.generation_config.eos_token_id == tok.eos_token_id


def test_missing_model_is_a_user_error(tmp_path):
    cfg = ModelConfig(name_or_path=str(tmp_path / "no-such-model"))
    with pytest.raises(DeepcriticError, match="use model=tiny"):
        load_tokenizer(cfg)
    with pytest.raises(DeepcriticError, match="cannot load"):
        load_model(cfg, "fp32")


SPLIT_DIGITS = [
    # a number is one token per digit, whatever merges the training text would allow
    ("12345", ["1", "2", "3", "4", "5"]),
    # digits around operators and spaces stay single tokens
    ("17 + 25 = 42", ["1", "7", "Ġ+", "Ġ", "2", "5", "Ġ=", "Ġ", "4", "2"]),
]


@pytest.mark.parametrize("text, tokens", SPLIT_DIGITS)
def test_split_digits_makes_every_digit_a_token(text, tokens):
    texts = ["17 + 25 = 42; 12345 is 12345 = 42"] * 50  # numbers seen often: BPE would merge them
    _, merged = build_tiny(TinyModelConfig(vocab_size=400), texts)
    _, split = build_tiny(TinyModelConfig(vocab_size=400, split_digits=True), texts)
    assert split.convert_ids_to_tokens(split(text)["input_ids"]) == tokens
    assert len(merged(text)["input_ids"]) < len(tokens)  # without the split the numbers merge
    assert split.decode(split(text)["input_ids"]) == text
