"""How a training chat becomes the sequence the trainer learns from (``chat.format``).

- ``chat_template``: the examples stay prompt-completion chats and TRL's ``SFTTrainer`` renders them with the
  tokenizer's chat template; the completion (with the template's end of turn) carries the loss.
- ``llamafactory_qwen``: the sequence LLaMA-Factory 0.9.2.dev0 trains on with ``template: qwen``, which is
  how the CFT release trained (TIGER-AI-Lab/CritiqueFineTuning @44b83b8c vendors that LLaMA-Factory; its
  ``src/llamafactory/data/`` matches upstream between commits 3c55976a0 and b2e4f1160, where the qwen template,
  the alpaca converter and the supervised preprocessing read as below)::

      <|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n      the template's default system turn
      <|im_start|>user\\n{user}<|im_end|>\\n<|im_start|>assistant\\n     the user turn and the assistant header
      {target}{eos}                                                       the target, then the tokenizer's eos

  Each of the three pieces is tokenized on its own (``encode(piece, add_special_tokens=False)``: tokens never
  merge across them) and the tokenizer's own ``eos_token`` id follows the target: ``<|endoftext|>`` for a base
  model such as Qwen2.5-Math-7B, not ``<|im_end|>`` (LLaMA-Factory's qwen template stopped replacing the eos
  with ``<|im_end|>`` in commit bb047bc84, 2024-12-17, before the vendored copy).
  Labels cover the target and that eos, nothing else. A sequence longer than ``train.max_length`` is cut the
  way LLaMA-Factory cuts at ``cutoff_len`` (:func:`cutoff_lengths`). Rendered here, the examples reach TRL as
  ``input_ids`` and ``labels``, which it trains on unchanged.

The default system sentence is a fact of that template (LLaMA-Factory's ``default_system`` for qwen), stated
here with its source: it cannot be read from the model (Qwen2.5-Math's own chat template has another one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deepcritic.errors import DeepcriticError

IGNORE = -100  # the label of a token without loss (transformers' and LLaMA-Factory's convention)


@dataclass(frozen=True)
class PieceTemplate:
    """A chat template written as LLaMA-Factory writes one: the text around the system and the user content
    (the user piece ends with the assistant header), the default system text, and the special tokens it needs
    the tokenizer to hold as single tokens."""

    name: str
    system: tuple[str, str]
    user: tuple[str, str]
    default_system: str
    special_tokens: tuple[str, ...]


LLAMAFACTORY_QWEN = PieceTemplate(
    name="llamafactory_qwen",
    system=("<|im_start|>system\n", "<|im_end|>\n"),
    user=("<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant\n"),
    default_system="You are a helpful assistant.",  # LLaMA-Factory template.py, qwen's default_system (3c55976a0)
    special_tokens=("<|im_start|>", "<|im_end|>"),
)
TEMPLATES = {t.name: t for t in (LLAMAFACTORY_QWEN,)}


def template_of(chat_format: str) -> PieceTemplate:
    """The piece template of a ``chat.format`` rendered here (every format but ``chat_template``)."""
    if chat_format not in TEMPLATES:
        raise DeepcriticError(f"chat.format = {chat_format!r}: use chat_template or {', '.join(TEMPLATES)}")
    return TEMPLATES[chat_format]


def check_tokenizer(tokenizer: Any, template: PieceTemplate) -> None:
    """Refuse a tokenizer the template cannot be rendered with: no eos token, or its special tokens missing."""
    fix = "use a tokenizer with Qwen's special tokens (model.tokenizer=...) or chat.format=chat_template"
    if tokenizer.eos_token_id is None:
        raise DeepcriticError(f"chat.format = {template.name!r}: the tokenizer has no eos token; {fix}")
    missing = [t for t in template.special_tokens if len(tokenizer.encode(t, add_special_tokens=False)) != 1]
    if missing:
        raise DeepcriticError(
            f"chat.format = {template.name!r}: the tokenizer does not hold {', '.join(missing)} as single tokens; {fix}"
        )


def pieces(example: dict[str, Any], template: PieceTemplate) -> tuple[str, str, str]:
    """(system piece, user piece, target) of a prompt-completion chat: one user turn, after an optional system
    turn (an empty system turn gets the default, as in LLaMA-Factory)."""
    prompt, completion = example["prompt"], example["completion"]
    roles = [turn["role"] for turn in prompt]
    if roles not in (["user"], ["system", "user"]) or [t["role"] for t in completion] != ["assistant"]:
        raise DeepcriticError(
            f"chat.format = {template.name!r} renders one user turn (after an optional system turn) and one "
            f"assistant target, got prompt roles {roles}: use chat.format=chat_template for other chats"
        )
    system = (prompt[0]["content"] if roles[0] == "system" else "") or template.default_system
    return (
        template.system[0] + system + template.system[1],
        template.user[0] + prompt[-1]["content"] + template.user[1],
        completion[0]["content"],
    )


def encode(example: dict[str, Any], tokenizer: Any, template: PieceTemplate) -> dict[str, Any]:
    """``input_ids``, ``labels`` and ``prompt_length`` of one chat: each piece tokenized alone, the eos id after
    the target, labels on the target and the eos only."""
    system, user, target = pieces(example, template)
    prompt = [i for piece in (system, user) for i in tokenizer.encode(piece, add_special_tokens=False)]
    answer = tokenizer.encode(target, add_special_tokens=False) + [tokenizer.eos_token_id]
    return {"input_ids": prompt + answer, "labels": [IGNORE] * len(prompt) + answer, "prompt_length": len(prompt)}


def cutoff_lengths(prompt: int, target: int, cutoff: int) -> tuple[int, int]:
    """(prompt tokens, target tokens) kept of a sequence cut at ``cutoff`` tokens, as LLaMA-Factory keeps them:
    a target under half the cutoff stays whole and the prompt loses its end; else a prompt under half the cutoff
    stays whole and the target loses its end; else both keep their share of the cutoff."""
    if 2 * target < cutoff:
        target_cap = cutoff
    elif 2 * prompt < cutoff:
        target_cap = cutoff - prompt
    else:
        target_cap = int(cutoff * (target / (prompt + target)))
    kept_target = min(target_cap, target)
    return min(max(cutoff - kept_target, 0), prompt), kept_target


def truncate(row: dict[str, Any], max_length: int) -> dict[str, Any]:
    """An encoded row cut to ``max_length`` tokens by :func:`cutoff_lengths` (unchanged when it fits)."""
    ids, labels, n = row["input_ids"], row["labels"], row["prompt_length"]
    if len(ids) <= max_length:
        return {"input_ids": ids, "labels": labels}
    keep_prompt, keep_target = cutoff_lengths(n, len(ids) - n, max_length)
    return {
        "input_ids": ids[:keep_prompt] + ids[n : n + keep_target],
        "labels": labels[:keep_prompt] + labels[n : n + keep_target],
    }
