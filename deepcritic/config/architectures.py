"""Published Qwen2.5 shapes (``model.architecture``), for random-weight models of a real size and for ``deepcritic
plan``, which must know a model's shape without downloading it.

The values are the ``config.json`` fields of the released instruct checkpoints (the base checkpoints differ only
in ``max_position_embeddings``, 131072 for 1.5B and 7B). Where each came from:

- ``qwen2.5-0.5b``: Qwen/Qwen2.5-0.5B-Instruct's config.json, as copied unmodified in unsloth/Qwen2.5-0.5B-Instruct
  @00bafb7 (``_name_or_path: Qwen/Qwen2.5-0.5B-Instruct``); the model card states 0.49B parameters (0.36B without
  embeddings), 24 layers, 14 query and 2 key/value heads, 32,768 tokens of context.
- ``qwen2.5-1.5b``: Qwen/Qwen2.5-1.5B-Instruct's config.json, as copied in onnx-community/Qwen2.5-1.5B-Instruct
  @94677ac; the card states 1.54B parameters (1.31B without embeddings), 28 layers, 12 and 2 heads.
- ``qwen2.5-7b``: Qwen/Qwen2.5-7B-Instruct's config.json, as copied in osllmai-community/Qwen2.5-7B-Instruct and
  restated in verl's tests/utils/test_flops_counter.py @d43ed3ee; the card states 7.61B parameters (6.53B without
  embeddings), 28 layers, 28 and 4 heads, untied embeddings. Its vocabulary is 152,064 rows (not 151,936: the
  0.5B and 1.5B checkpoints have 151,936).

All three: ``rope_theta`` 1e6, ``hidden_act`` silu, QKV biases, ``rms_norm_eps`` 1e-6, head size
``hidden_size / num_attention_heads`` (64, 128, 128). The parameter counts below are computed from these fields
and equal the cards' figures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Qwen2Shape:
    """The fields of a Qwen2 ``config.json`` that fix its size (everything ``deepcritic plan`` counts)."""

    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    vocab_size: int
    max_position_embeddings: int
    rope_theta: float
    tie_word_embeddings: bool

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    def layer_parameters(self) -> int:
        """One decoder layer: q/k/v projections with biases, o projection, the SwiGLU MLP, two RMSNorm weights."""
        h, kv = self.hidden_size, self.num_kv_heads * self.head_dim
        attention = (h * h + h) + 2 * (h * kv + kv) + h * h
        return attention + 3 * h * self.intermediate_size + 2 * h

    def embedding_parameters(self) -> int:
        """The token embedding, plus the LM head when it is not tied to it."""
        return self.vocab_size * self.hidden_size * (1 if self.tie_word_embeddings else 2)

    def parameters(self) -> int:
        """Every parameter (a tied head counted once, as DeepSpeed's ``model_to_params`` does)."""
        return self.embedding_parameters() + self.num_layers * self.layer_parameters() + self.hidden_size

    def largest_layer_parameters(self) -> int:
        """The module with the most parameters of its own (DeepSpeed's ``largest_layer_params``): the embedding
        matrix, or an MLP projection if it were larger."""
        return self.hidden_size * max(self.vocab_size, self.intermediate_size)

    def kv_cache_bytes_per_token(self, dtype_bytes: int) -> int:
        """vLLM's KV cache for one token: 2 (K and V) x layers x KV heads x head size x bytes."""
        return 2 * self.num_layers * self.num_kv_heads * self.head_dim * dtype_bytes


ARCHITECTURES: dict[str, Qwen2Shape] = {
    "qwen2.5-0.5b": Qwen2Shape(
        hidden_size=896,
        intermediate_size=4864,
        num_layers=24,
        num_heads=14,
        num_kv_heads=2,
        vocab_size=151936,
        max_position_embeddings=32768,
        rope_theta=1000000.0,
        tie_word_embeddings=True,
    ),
    "qwen2.5-1.5b": Qwen2Shape(
        hidden_size=1536,
        intermediate_size=8960,
        num_layers=28,
        num_heads=12,
        num_kv_heads=2,
        vocab_size=151936,
        max_position_embeddings=32768,
        rope_theta=1000000.0,
        tie_word_embeddings=True,
    ),
    "qwen2.5-7b": Qwen2Shape(
        hidden_size=3584,
        intermediate_size=18944,
        num_layers=28,
        num_heads=28,
        num_kv_heads=4,
        vocab_size=152064,
        max_position_embeddings=32768,
        rope_theta=1000000.0,
        tie_word_embeddings=False,
    ),
}

# Hub names whose shape is one of the above (fine-tunes keep their base's shape), for `deepcritic plan` offline
KNOWN_MODELS: dict[str, str] = {
    "Qwen/Qwen2.5-0.5B-Instruct": "qwen2.5-0.5b",
    "Qwen/Qwen2.5-0.5B": "qwen2.5-0.5b",
    "Qwen/Qwen2.5-1.5B-Instruct": "qwen2.5-1.5b",
    "Qwen/Qwen2.5-1.5B": "qwen2.5-1.5b",
    "Qwen/Qwen2.5-7B-Instruct": "qwen2.5-7b",
    "Qwen/Qwen2.5-7B": "qwen2.5-7b",
    "Qwen/Qwen2.5-Math-7B": "qwen2.5-7b",  # same shape; its context is 4,096 tokens
    "Keven16/DeepCritic-7B-RL-PRM800K": "qwen2.5-7b",
}
