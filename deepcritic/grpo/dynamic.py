"""DAPO-style dynamic sampling: drop groups that carry no gradient and refill the batch with fresh prompts.

With a 0/1 reward, a group (the ``n`` samples of one prompt) whose samples all score the same has
advantage 0 for every sample and adds nothing to the policy gradient. ``grpo.dynamic_sampling=true``
makes each generation batch out of groups that do carry one:

1. generate and score the batch as usual (TRL);
2. while some process has fewer useful groups than its batch holds, and at most
   ``dynamic_sampling_max_rounds`` times: generate and score a batch of fresh prompts (same size,
   drawn from the training set by :class:`RefillSource`) and collect its useful groups;
3. fill the batch with useful groups in generation order (:func:`select_groups`); if still short, the
   first round's zero-variance groups fill the rest (they add no gradient; the batch size is kept).

Why the advantages stay right: TRL normalises rewards per group (``scale_rewards=group``; ``none`` only
centres them), so a group's advantages do not depend on what else is in its batch and can be moved
as they are (``scale_rewards=batch`` is rejected with dynamic sampling). Every round is sampled and
scored by the current policy (no optimizer step in between), so the old / reference / sampling
log-probs moved with the rows stay on-policy. The token count that normalises the ``dapo`` loss
(``num_items_in_batch``) is recomputed for the merged batch by the trainer.

Groups must not straddle processes: each process's generation batch holds whole groups
(``per_device_batch_size x gradient accumulation`` divisible by ``sampling.n``), checked at start.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch

from deepcritic.errors import DeepcriticError

# How each field of TRL's generation batch is merged: padded on the left or right (and with what), one
# value per row, or recomputed by the caller.
LEFT_PADDED = {"prompt_ids": "pad", "prompt_mask": 0}
RIGHT_PADDED = {
    "completion_ids": "pad",
    "completion_mask": 0,
    "old_per_token_logps": 0.0,
    "sampling_per_token_logps": 0.0,
    "ref_per_token_logps": 0.0,
    "importance_sampling_ratio": 1.0,
    "tool_mask": 1,
}
PER_ROW = ("advantages",)
RECOMPUTED = ("num_items_in_batch",)


def zero_variance_groups(advantages: torch.Tensor, group_size: int, atol: float = 1e-6) -> list[bool]:
    """Per group of ``group_size`` consecutive rows: True when every advantage is (numerically) zero.

    Zero advantages are exactly "no gradient"; with equal rewards TRL's advantages are 0 up to float
    rounding of the group mean (about 1e-12 after dividing by std + 1e-4), far below ``atol``.
    """
    if advantages.numel() % group_size:
        raise ValueError(f"{advantages.numel()} rows do not split into groups of {group_size}")
    return (advantages.detach().reshape(-1, group_size).abs() <= atol).all(dim=1).tolist()


def select_groups(zero_variance: Sequence[Sequence[bool]], slots: int) -> list[tuple[int, int]]:
    """The (round, group) pairs that fill a batch of ``slots`` groups.

    ``zero_variance[r][g]`` flags group ``g`` of generation round ``r`` (round 0 = the batch the
    trainer asked for). Groups with variance come first, in generation order; when there are fewer
    than ``slots``, round 0's zero-variance groups fill the rest, in order.
    """
    useful = [(r, g) for r, flags in enumerate(zero_variance) for g, zero in enumerate(flags) if not zero]
    filler = [(0, g) for g, zero in enumerate(zero_variance[0] if zero_variance else []) if zero]
    return (useful + filler)[:slots]


def missing_groups(zero_variance: Sequence[Sequence[bool]], slots: int) -> int:
    """How many of ``slots`` cannot yet be filled with groups that have variance."""
    return max(0, slots - sum(not z for flags in zero_variance for z in flags))


def merge_rows(
    batches: Sequence[dict[str, Any]], picks: Sequence[tuple[int, int]], group_size: int, pad_token_id: int
) -> dict[str, Any]:
    """One generation batch made of the groups ``picks`` (round, group) taken from ``batches``.

    Token-level fields are re-padded to the widest pick (prompts on the left, completions on the
    right, as TRL pads them); ``num_items_in_batch`` is left out for the caller to recompute.
    """
    keys = [k for k in batches[0] if k not in RECOMPUTED]
    unknown = [k for k in keys if k not in LEFT_PADDED and k not in RIGHT_PADDED and k not in PER_ROW]
    if unknown:
        raise DeepcriticError(
            f"grpo.dynamic_sampling cannot merge the batch field(s) {unknown} (multimodal or "
            "tool-calling inputs); set grpo.dynamic_sampling=false"
        )
    out: dict[str, Any] = {}
    for key in keys:
        parts = [batches[r][key][g * group_size : (g + 1) * group_size] for r, g in picks]
        if key in PER_ROW:
            out[key] = torch.cat(parts, dim=0)
            continue
        side, value = ("left", LEFT_PADDED[key]) if key in LEFT_PADDED else ("right", RIGHT_PADDED[key])
        out[key] = _cat_padded(parts, pad_token_id if value == "pad" else value, side)
    return out


def _cat_padded(parts: list[torch.Tensor], value: float, side: str) -> torch.Tensor:
    width = max(p.shape[1] for p in parts)
    padded = []
    for p in parts:
        extra = width - p.shape[1]
        if extra:
            fill = torch.full((p.shape[0], extra, *p.shape[2:]), value, dtype=p.dtype, device=p.device)
            p = torch.cat([fill, p] if side == "left" else [p, fill], dim=1)
        padded.append(p)
    return torch.cat(padded, dim=0)


def loss_tokens(batch: dict[str, Any]) -> torch.Tensor:
    """Completion tokens that enter the loss in this process's batch (TRL's ``num_items_in_batch`` before gather)."""
    mask = batch["completion_mask"]
    if "tool_mask" in batch:
        mask = mask * batch["tool_mask"]
    return mask.sum()


class RefillSource:
    """Fresh prompts for refill rounds: the same seeded shuffle of the training set on every process.

    Each call hands every process its own slice of the next ``prompts x processes`` prompts, each row
    repeated ``group_size`` times (TRL's layout), so groups stay whole and processes stay in step.
    The stream is independent of the trainer's sampler (its own seed), reshuffled when used up; ``position``
    counts what was drawn, so that a resumed run continues it (:meth:`seek`).
    """

    def __init__(self, dataset: Any, group_size: int, seed: int, process_index: int, num_processes: int):
        if len(dataset) == 0:
            raise DeepcriticError("dynamic sampling needs a non-empty training set")
        self.dataset, self.group_size, self.seed = dataset, group_size, seed
        self.process_index, self.num_processes = process_index, num_processes
        self.position = 0  # prompts drawn so far (all processes): a checkpoint saves it, a resume seeks to it
        self._rng = random.Random(seed)
        self._order: list[int] = []

    def seek(self, position: int) -> None:
        """Continue the stream after its first ``position`` prompts, as if they had been drawn (a resumed run)."""
        self._rng, self._order, self.position = random.Random(self.seed), [], 0
        for _ in range(position):
            self._next()

    def draw(self, rows_per_process: int) -> list[dict[str, Any]]:
        """``rows_per_process`` rows for this process: whole groups of fresh prompts."""
        per_process = rows_per_process // self.group_size
        indices = [self._next() for _ in range(per_process * self.num_processes)]
        mine = indices[self.process_index * per_process : (self.process_index + 1) * per_process]
        return [dict(self.dataset[i]) for i in mine for _ in range(self.group_size)]

    def _next(self) -> int:
        if not self._order:
            self._order = list(range(len(self.dataset)))
            self._rng.shuffle(self._order)
        self.position += 1
        return self._order.pop()
