"""Models and tokenizers: load one from the Hub or a local path, or build a tiny one with no download.

The tiny model (``model.from_scratch=true``, ``conf/model/tiny.yaml``) is a random Qwen2 sized by
``model.tiny``; its tokenizer is a byte-level BPE trained on the run's own text (so any text encodes)
with Qwen's special tokens and a Qwen-style chat template. CPU demos and every CPU test use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from deepcritic.config import ModelConfig, TinyModelConfig
from deepcritic.errors import DeepcriticError

# Qwen2.5's turn markers; <|im_end|> ends every turn and is the end-of-sequence token for generation.
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# Qwen-style ChatML without the tool-calling branches. The assistant turn is wrapped in
# {% generation %} so that tokenizers can also return assistant masks.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

_TORCH_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def torch_dtype(precision: str):
    """bf16 | fp16 | fp32 -> the torch dtype."""
    import torch

    return getattr(torch, _TORCH_DTYPES[precision])


def build_tiny_tokenizer(texts: Iterable[str], vocab_size: int = 1024, split_digits: bool = False):
    """A byte-level BPE tokenizer trained on ``texts``, with Qwen's special tokens and chat template.

    ``split_digits``: every digit is a token of its own (as in Qwen2's tokenizer), so no merge ever
    joins digits into a number token; arithmetic is then learnt digit by digit, which a tiny model
    learns far faster than a table of number tokens.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.pre_tokenizer = (pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
                         if split_digits else byte_level)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    hf.chat_template = CHAT_TEMPLATE
    return hf


def build_tiny_model(tiny: TinyModelConfig, tokenizer, precision: str = "fp32"):
    """A random Qwen2ForCausalLM sized by ``tiny``, its vocabulary matching ``tokenizer``."""
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig, Qwen2Config

    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=tiny.hidden_size, intermediate_size=tiny.intermediate_size,
        num_hidden_layers=tiny.num_layers, num_attention_heads=tiny.num_heads,
        num_key_value_heads=tiny.num_kv_heads, max_position_embeddings=tiny.max_position_embeddings,
        tie_word_embeddings=True, bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, dtype=_TORCH_DTYPES[precision],
    )
    torch.manual_seed(tiny.seed)
    # from_config (not the class constructor) so that ZeRO-3, when configured, partitions at creation
    model = AutoModelForCausalLM.from_config(config, dtype=torch_dtype(precision))
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id)
    return model


def build_tiny(tiny: TinyModelConfig, texts: Iterable[str], precision: str = "fp32"):
    """(model, tokenizer): the tiny model and a tokenizer trained on ``texts``."""
    tokenizer = build_tiny_tokenizer(texts, tiny.vocab_size, tiny.split_digits)
    return build_tiny_model(tiny, tokenizer, precision), tokenizer


def load_tokenizer(cfg: ModelConfig, path: str | None = None):
    """The tokenizer of ``cfg`` (``model.tokenizer`` or ``model.name_or_path``), with a pad token and a chat template."""
    from transformers import AutoTokenizer

    name = path or cfg.tokenizer or cfg.name_or_path
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, revision=None if path else cfg.revision,
                                                  trust_remote_code=cfg.trust_remote_code)
    except OSError as exc:
        raise DeepcriticError(_not_found(name, exc)) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not tokenizer.chat_template:
        raise DeepcriticError(f"tokenizer {name!r} has no chat template: point model.tokenizer at one that has "
                              "(e.g. the instruct model's tokenizer)")
    return tokenizer


def load_model(cfg: ModelConfig, precision: str, path: str | None = None):
    """The causal LM of ``cfg`` (or the checkpoint at ``path``) in ``precision``.

    Weights load from safetensors only: a pickled ``pytorch_model.bin`` is refused, never unpickled
    (convert such a model once with ``save_pretrained``, which writes safetensors).
    """
    from transformers import AutoModelForCausalLM

    name = path or cfg.name_or_path
    kwargs = {"dtype": torch_dtype(precision), "trust_remote_code": cfg.trust_remote_code, "use_safetensors": True}
    if cfg.attn_implementation:
        kwargs["attn_implementation"] = cfg.attn_implementation
    if cfg.revision and not path:
        kwargs["revision"] = cfg.revision
    try:
        return AutoModelForCausalLM.from_pretrained(name, **kwargs)
    except OSError as exc:
        raise DeepcriticError(_not_found(name, exc)) from None


def _not_found(name: str, exc: Exception) -> str:
    hint = "" if Path(name).exists() else " (no such local path, and the Hub could not provide it)"
    if "safetensors" in str(exc):
        hint += (" (deepcritic loads weights from safetensors only, never a pickled pytorch_model.bin; if you "
                 "trust that file, convert it once: from_pretrained(..., use_safetensors=False).save_pretrained(dir))")
    return (f"cannot load {name!r}{hint}: {str(exc).splitlines()[0]}. Set model.name_or_path to a local "
            "Hugging Face directory or a Hub name you can reach, or use model=tiny for a CPU run with no download")
