"""The model to train or evaluate (group ``model``), or a tiny random one built on the spot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from deepcritic.config.architectures import ARCHITECTURES
from deepcritic.config.base import cross_check, key_of, option
from deepcritic.errors import Problem

DTYPES = ("auto", "bf16", "fp16", "fp32")


@dataclass
class TinyModelConfig:
    """A tiny random Qwen2 and a byte-level BPE tokenizer built on the spot (``model.from_scratch=true``).

    For CPU demos and tests: nothing is downloaded. The tokenizer is trained on the run's own training
    text and has a Qwen-style chat template (``<|im_start|>`` / ``<|im_end|>``). vLLM's CPU attention
    needs ``hidden_size / num_heads >= 64``.
    """

    hidden_size: int = option(128, "model width", ge=1)
    num_layers: int = option(2, "transformer layers", ge=1)
    num_heads: int = option(2, "attention heads (hidden_size / num_heads >= 64 for vLLM on CPU)", ge=1)
    num_kv_heads: int = option(1, "key/value heads (divides num_heads)", ge=1)
    intermediate_size: int = option(256, "MLP width", ge=1)
    vocab_size: int = option(
        1024,
        "target vocabulary of the tokenizer (bytes + special tokens + BPE merges)",
        ge=300,
        fix="use at least 300 (256 byte symbols + specials + merges)",
    )
    split_digits: bool = option(False, "true: every digit is its own token (no number tokens; arithmetic tasks)")
    max_position_embeddings: int = option(4096, "longest sequence the model can take")
    seed: int = option(0, "weight initialisation")
    pad_vocab_to: Optional[int] = option(
        None,
        "pad the trained tokenizer with filler tokens to this many (a real vocabulary, e.g. 151936), so that the "
        "embedding and the LM head cost what a real model's do; null: the trained vocabulary as it is",
        ge=300,
        fix="a vocabulary size of at least 300, or null",
    )


@cross_check(TinyModelConfig)
def _tiny_heads(t: TinyModelConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if t.num_heads >= 1 and t.hidden_size % t.num_heads:
        out.append(
            Problem(key_of(key, "hidden_size"), t.hidden_size, f"must be a multiple of num_heads ({t.num_heads})")
        )
    elif t.num_heads >= 1 and t.hidden_size // t.num_heads < 64:
        out.append(
            Problem(
                key_of(key, "num_heads"),
                t.num_heads,
                f"head size hidden_size/num_heads = {t.hidden_size // t.num_heads} is below 64, which "
                "vLLM's CPU attention rejects; use fewer heads or a larger hidden_size",
            )
        )
    if t.num_kv_heads >= 1 and t.num_heads % t.num_kv_heads:
        out.append(Problem(key_of(key, "num_kv_heads"), t.num_kv_heads, f"must divide num_heads ({t.num_heads})"))
    return out


@dataclass
class ModelConfig:
    """The model to train or evaluate: a Hub name or a local path in Hugging Face format."""

    name_or_path: str = option("Qwen/Qwen2.5-7B-Instruct", "Hub name or local Hugging Face directory")
    revision: Optional[str] = option(None, "Hub revision")
    tokenizer: Optional[str] = option(None, "tokenizer name or path; defaults to name_or_path")
    dtype: str = option(
        "auto",
        "auto (bf16 on a GPU that supports it, fp32 otherwise) | bf16 | fp16 | fp32",
        choices=DTYPES,
        fix="use auto, bf16, fp16 or fp32",
    )
    attn_implementation: Optional[str] = option(None, "e.g. flash_attention_2, sdpa")
    trust_remote_code: bool = option(False, "off unless you trust the model repository's code")
    template: Optional[str] = option(
        None, "critic prompt template file; null = the packaged critic.txt (deepcritic/critique/templates/)"
    )
    from_scratch: bool = option(False, "true: build the tiny model below instead of loading name_or_path")
    architecture: Optional[str] = option(
        None,
        "a published shape (deepcritic/config/architectures.py): with from_scratch=true, random weights of that "
        "shape and model.tiny's tokenizer padded to its vocabulary; for a loaded model, the shape `deepcritic plan` "
        "counts when no config.json is at hand; null: model.tiny's shape",
        choices=tuple(ARCHITECTURES),
    )
    tiny: TinyModelConfig = option(TinyModelConfig, "the tiny model (from_scratch=true)", when=lambda m: m.from_scratch)


@cross_check(ModelConfig)
def _model_name(m: ModelConfig, key: str) -> list[Problem]:
    if not m.name_or_path and not m.from_scratch:
        return [Problem(key_of(key, "name_or_path"), m.name_or_path, "set a Hub model name or a local path")]
    return []
