"""Models and tokenizers: load one from the Hub or a local path, or build a tiny one with no download; and
the precision they run in.

- :func:`resolve_precision` / :func:`run_precision`: ``model.dtype`` -> bf16 | fp16 | fp32, the one rule for
  training and transformers generation alike (``auto``: bf16 on a CUDA GPU that supports it, fp32 otherwise).
  vLLM engines take ``model.dtype`` as given, ``auto`` being vLLM's own choice (the checkpoint's dtype).
- :func:`load_model_and_tokenizer`: what a trainer starts from (a saved model, a checkpoint, or the tiny one).
- The tiny model (``model.from_scratch=true``, ``conf/model/tiny.yaml``) is a random Qwen2 sized by
  ``model.tiny``; its tokenizer is a byte-level BPE trained on the run's own text (so any text encodes) with
  Qwen's special tokens and a Qwen-style chat template. CPU demos and every CPU test use it;
  :func:`save_tiny_model` is the one place that builds and saves it.
- ``model.architecture`` (with ``from_scratch``) builds the same way at a published shape instead (random weights,
  e.g. Qwen2.5-0.5B's 24 layers and 151,936-row embedding), the tokenizer padded with filler tokens to the shape's
  vocabulary (:func:`pad_vocabulary`): real compute and memory with nothing downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from deepcritic.config import ModelConfig, TinyModelConfig
from deepcritic.config.architectures import ARCHITECTURES, Qwen2Shape
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
PRECISIONS = ("bf16", "fp16", "fp32")

# Qwen chat templates end every turn with this token; generation should stop there.
END_OF_TURN = "<|im_end|>"


def hardware() -> tuple[bool, bool]:
    """(CUDA available, bf16 supported on it)."""
    import torch

    cuda = torch.cuda.is_available()
    return cuda, cuda and torch.cuda.is_bf16_supported()


def resolve_precision(dtype: str, cuda: bool, bf16_supported: bool = True) -> str:
    """``model.dtype`` -> bf16 | fp16 | fp32. ``auto``: bf16 on a CUDA GPU with bf16 support, else fp32."""
    if dtype == "auto":
        return "bf16" if cuda and bf16_supported else "fp32"
    if dtype not in PRECISIONS:
        raise DeepcriticError(f"model.dtype = {dtype!r}: use auto, bf16, fp16 or fp32")
    return dtype


def run_precision(dtype: str) -> str:
    """:func:`resolve_precision` on this machine's hardware."""
    return resolve_precision(dtype, *hardware())


def torch_dtype(precision: str):
    """bf16 | fp16 | fp32 -> the torch dtype."""
    import torch

    return getattr(torch, _TORCH_DTYPES[precision])


def build_tiny_tokenizer(
    texts: Iterable[str], vocab_size: int = 1024, split_digits: bool = False, pad_to: int | None = None
):
    """A byte-level BPE tokenizer trained on ``texts``, with Qwen's special tokens and chat template.

    ``split_digits``: every digit is a token of its own (as in Qwen2's tokenizer), so no merge ever
    joins digits into a number token; arithmetic is then learnt digit by digit, which a tiny model
    learns far faster than a table of number tokens. ``pad_to``: :func:`pad_vocabulary` to that many ids.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.pre_tokenizer = (
        pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
        if split_digits
        else byte_level
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer)
    if pad_to is not None:
        tok = pad_vocabulary(tok, pad_to)
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    hf.chat_template = CHAT_TEMPLATE
    return hf


def pad_vocabulary(tokenizer: Any, size: int) -> Any:
    """A trained ``tokenizers.Tokenizer`` with filler tokens appended up to ``size`` ids.

    The fillers are ``Ġw0``, ``Ġw1``, ... (byte-level for " w0", " w1", ...): no merge produces them, so text
    encodes exactly as before, while a random model, which samples every id alike, emits word-like text of about
    five characters a token and every id it samples decodes.
    """
    from tokenizers import Tokenizer

    state = json.loads(tokenizer.to_str())
    vocab: dict[str, int] = state["model"]["vocab"]
    have = tokenizer.get_vocab_size(with_added_tokens=True)
    if size < have:
        raise DeepcriticError(f"model.tiny.pad_vocab_to = {size}: the trained vocabulary has {have} tokens already")
    next_id, i = have, 0
    while next_id < size:
        name = f"\u0120w{i}"
        if name not in vocab:
            vocab[name] = next_id
            next_id += 1
        i += 1
    return Tokenizer.from_str(json.dumps(state))


def _shape_kwargs(tiny: TinyModelConfig, shape: Qwen2Shape | None) -> dict[str, Any]:
    """Qwen2Config's size fields: ``model.tiny``'s, or a published shape's."""
    if shape is None:
        return {
            "hidden_size": tiny.hidden_size,
            "intermediate_size": tiny.intermediate_size,
            "num_hidden_layers": tiny.num_layers,
            "num_attention_heads": tiny.num_heads,
            "num_key_value_heads": tiny.num_kv_heads,
            "max_position_embeddings": tiny.max_position_embeddings,
            "tie_word_embeddings": True,
        }
    return {
        "hidden_size": shape.hidden_size,
        "intermediate_size": shape.intermediate_size,
        "num_hidden_layers": shape.num_layers,
        "num_attention_heads": shape.num_heads,
        "num_key_value_heads": shape.num_kv_heads,
        "max_position_embeddings": shape.max_position_embeddings,
        "tie_word_embeddings": shape.tie_word_embeddings,
        "rope_theta": shape.rope_theta,
    }


def build_tiny_model(tiny: TinyModelConfig, tokenizer, precision: str = "fp32", shape: Qwen2Shape | None = None):
    """A random Qwen2ForCausalLM sized by ``tiny`` (or by a published ``shape``), its vocabulary matching
    ``tokenizer``."""
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig, Qwen2Config

    config = Qwen2Config(
        vocab_size=len(tokenizer),
        **_shape_kwargs(tiny, shape),
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        dtype=_TORCH_DTYPES[precision],
    )
    torch.manual_seed(tiny.seed)
    # from_config (not the class constructor) so that ZeRO-3, when configured, partitions at creation
    model = AutoModelForCausalLM.from_config(config, dtype=torch_dtype(precision))
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return model


def build_tiny(tiny: TinyModelConfig, texts: Iterable[str], precision: str = "fp32", architecture: str | None = None):
    """(model, tokenizer): the tiny model and a tokenizer trained on ``texts``; with ``architecture``
    (``model.architecture``) the model has that published shape and the tokenizer is padded to its vocabulary."""
    shape = ARCHITECTURES[architecture] if architecture else None
    pad = shape.vocab_size if shape else tiny.pad_vocab_to
    tokenizer = build_tiny_tokenizer(texts, tiny.vocab_size, tiny.split_digits, pad)
    return build_tiny_model(tiny, tokenizer, precision, shape), tokenizer


def save_tiny_model(
    tiny: TinyModelConfig, texts: Iterable[str], path: Path, reuse: bool = True, architecture: str | None = None
) -> tuple[Any, Any]:
    """Build the tiny model (at ``architecture``'s shape when given) and a tokenizer trained on ``texts``, and
    save both at ``path`` (vLLM loads paths).

    Written to a temporary directory and renamed, so a crash never leaves half a model. ``reuse``: a model
    already at ``path`` is kept (a resumed run) and ``(None, None)`` is returned; otherwise it is replaced.
    Returns the built ``(model, tokenizer)``.
    """
    path = Path(path)
    if reuse and (path / "config.json").is_file() and (path / "tokenizer.json").is_file():
        return None, None
    model, tokenizer = build_tiny(tiny, texts, architecture=architecture)
    stop_at_end_of_turn(model, tokenizer)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if path.exists():
        shutil.rmtree(path)
    tmp.replace(path)
    return model, tokenizer


def synthetic_tiny_model(
    tiny: TinyModelConfig, path: Path, task_seed: int = 0, architecture: str | None = None
) -> Path:
    """The tiny model whose tokenizer is trained on the synthetic task's critic chats (64 records drawn with
    ``task_seed``), saved at ``path`` and kept when already there: the model of ``model=tiny`` data generation,
    the CPU tests and the benchmarks, the same whatever data a run then uses (``architecture``: at that shape)."""
    from deepcritic.chat_data import example_texts, record_example
    from deepcritic.config import SyntheticConfig
    from deepcritic.data import generate_synthetic

    records = generate_synthetic(SyntheticConfig(num_records=64, seed=task_seed))
    texts = list(example_texts([record_example(r) for r in records]))
    save_tiny_model(tiny, texts, path, reuse=True, architecture=architecture)
    return Path(path)


def stop_at_end_of_turn(model: Any, tokenizer: Any) -> None:
    """Make generation stop at ``<|im_end|>`` too (base models like Qwen2.5-Math stop at ``<|endoftext|>`` only)."""
    end = tokenizer.convert_tokens_to_ids(END_OF_TURN) if END_OF_TURN in tokenizer.get_vocab() else None
    gen = model.generation_config
    if end is None or gen is None:
        return
    eos = gen.eos_token_id
    eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
    if end not in eos:
        gen.eos_token_id = eos + [end] if eos else end
    if gen.pad_token_id is None:
        gen.pad_token_id = tokenizer.pad_token_id


def load_model_and_tokenizer(cfg: ModelConfig, precision: str, texts: Any = None, checkpoint: str | None = None):
    """The model to train and its tokenizer: loaded, or the tiny one built from ``texts``; from ``checkpoint``
    when resuming a tiny model.

    A tiny model's tokenizer is trained per run, so a resumed run takes both from its checkpoint; a loaded
    model resumes through the trainer (weights, optimizer, scheduler, RNG, data position).
    """
    if cfg.from_scratch and checkpoint:
        model, tokenizer = load_model(cfg, precision, path=checkpoint), load_tokenizer(cfg, path=checkpoint)
    elif cfg.from_scratch:
        model, tokenizer = build_tiny(cfg.tiny, texts, precision, cfg.architecture)
    else:
        tokenizer = load_tokenizer(cfg)
        model = load_model(cfg, precision)
    stop_at_end_of_turn(model, tokenizer)
    return model, tokenizer


def load_tokenizer(cfg: ModelConfig, path: str | None = None):
    """The tokenizer of ``cfg`` (``model.tokenizer`` or ``model.name_or_path``), with a pad token and a chat
    template."""
    from transformers import AutoTokenizer

    name = path or cfg.tokenizer or cfg.name_or_path
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            name, revision=None if path else cfg.revision, trust_remote_code=cfg.trust_remote_code
        )
    except OSError as exc:
        raise DeepcriticError(_not_found(name, exc)) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not tokenizer.chat_template:
        raise DeepcriticError(
            f"tokenizer {name!r} has no chat template: point model.tokenizer at one that has "
            "(e.g. the instruct model's tokenizer)"
        )
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
        hint += (
            " (deepcritic loads weights from safetensors only, never a pickled pytorch_model.bin; if you "
            "trust that file, convert it once: from_pretrained(..., use_safetensors=False).save_pretrained(dir))"
        )
    return (
        f"cannot load {name!r}{hint}: {str(exc).splitlines()[0]}. Set model.name_or_path to a local "
        "Hugging Face directory or a Hub name you can reach, or use model=tiny for a CPU run with no download"
    )
