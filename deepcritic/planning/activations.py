"""What a Qwen2 training step keeps for the backward pass, from the architecture.

Per token and decoder layer, with h = hidden size, q = heads x head size, k = KV heads x head size,
i = intermediate size and w = the activation dtype's bytes, the tensors autograd saves are (transformers'
Qwen2DecoderLayer with SDPA attention, read from its forward and checked by counting the saved tensors of a
real forward with ``torch.autograd.graph.saved_tensors_hooks``, tests/unit/test_planning.py):

- two RMSNorms: each saves its input in fp32 (it upcasts) and its normalised output (4h + wh bytes each);
- the q/k/v projections: their shared input (h); RoPE: q and k before and after rotation (2q + 2k);
  SDPA: its output (q) plus a logsumexp per head (4 bytes); the o projection: its input (h);
- the SwiGLU MLP: gate and up outputs, SiLU's output and the product (4i); gate/up/down inputs are shared.

so ``layer_bytes = w(4h + 2q + 2k + 4i) + 2 x (4h + wh)`` rounded into ``w(6h + 2q + 2k + 4i) + 2h(4 - w)`` plus
the per-token scalars. No s x s attention matrix is kept (SDPA's memory-efficient kernels; an eager attention
would add heads x s^2 x w per layer); a padded batch adds its attention mask (5 bytes per sequence position pair:
the boolean mask and its additive float form, counted once for the model).

Gradient checkpointing keeps only each layer's input (h x w per token per layer) and recomputes one layer at a
time in the backward pass. Either way the backward pass of one layer needs about one layer's activations again.

The LM head is TRL's chunked log-probability kernel (``trl/kernels/chunked_logprob.py``, used by SFTTrainer and
GRPOTrainer since TRL 1.x): it never materialises the (tokens x vocabulary) logits, but holds a tile of
min(tokens, 4096) x 32768 logits, and in the backward pass an fp32 gradient of the head's weight (4 x V x h) and of
the hidden states (4 x tokens x h).
"""

from __future__ import annotations

from dataclasses import dataclass

from deepcritic.config.architectures import Qwen2Shape

TOKEN_CHUNK, VOCAB_CHUNK = 4096, 32768  # TRL 1.16's chunked log-prob tile
# Without Triton (CPU) the kernel folds each tile with plain torch ops, and scores every position (the prompt's
# too); their temporaries add up to several tiles at the peak, more with more outputs requested: about 8 for
# SFTTrainer's log-probs, entropy and top-1, about 4 for GRPOTrainer's (measured on this project's CPU: 5 to 12
# tiles for SFT's three outputs; docs/benchmarks.md)
CPU_TILES = {"sft": 8, "grpo": 4}


def layer_bytes_per_token(shape: Qwen2Shape, w: int) -> int:
    """Bytes one decoder layer saves per token for the backward pass (see the module docstring)."""
    h, i = shape.hidden_size, shape.intermediate_size
    q, k = shape.num_heads * shape.head_dim, shape.num_kv_heads * shape.head_dim
    return w * (6 * h + 2 * q + 2 * k + 4 * i) + 2 * h * (4 - w) + 4 * (shape.num_heads + 2)


@dataclass(frozen=True)
class Activations:
    """Bytes of one micro batch's training step beyond the model state: kept for the backward pass, the backward
    pass's own working set (one layer), the LM head's buffers, and a padded batch's attention mask."""

    stored: int
    backward: int
    lm_head: int
    mask: int

    @property
    def total(self) -> int:
        return self.stored + self.backward + self.lm_head + self.mask


def activations(
    shape: Qwen2Shape,
    sequence: int,
    micro_batch: int,
    checkpointing: bool,
    w: int,
    loss_tokens: int | None = None,
    padded: bool = False,
    head_tiles: int = 1,
) -> Activations:
    """One micro batch of ``micro_batch`` sequences of ``sequence`` tokens; ``loss_tokens``: tokens per sequence
    that go through the LM head (default: all of them); ``head_tiles``: see :func:`lm_head_bytes`."""
    tokens = sequence * micro_batch
    layer = layer_bytes_per_token(shape, w) * tokens
    stored = shape.num_layers * (tokens * shape.hidden_size * w if checkpointing else layer)
    stored += 3 * tokens * shape.hidden_size * w  # embedding output, final norm
    head_tokens = (sequence if loss_tokens is None else loss_tokens) * micro_batch
    mask = 5 * micro_batch * sequence * sequence if padded else 0
    return Activations(stored, layer, lm_head_bytes(shape, head_tokens, w, head_tiles), mask)


def lm_head_bytes(shape: Qwen2Shape, tokens: int, w: int, tiles: int = 1) -> int:
    """TRL's chunked LM head at its peak, the backward pass: ``tiles`` logits tiles (1 with Triton, ``CPU_TILES``
    without), the fp32 gradients of the head's weight and of the hidden states, and the weight gradient cast back
    to ``w`` bytes."""
    tile = min(tokens, TOKEN_CHUNK) * min(VOCAB_CHUNK, shape.vocab_size) * w * tiles
    weight = shape.vocab_size * shape.hidden_size
    cast = 0 if w == 4 else weight * w
    return tile + 4 * weight + cast + 4 * tokens * shape.hidden_size
