"""A tiny critic that GRPO can learn from, shared by the GRPO and filter integration tests.

A random model never writes a parseable verdict, so every reward is 0, every group has zero variance and
GRPO has no gradient: nothing would be tested. :func:`answerer` fine-tunes the session's tiny Qwen2 for
a few seconds to answer every critic prompt with a final line ``**Answer**: \\boxed{k}`` and a RANDOM k
(-1 or a step number), so that sampled verdicts vary: some parse, some are right, groups have variance.
The tests get it from the session fixture ``answering_critic`` (tests/conftest.py), trained once.
"""

from __future__ import annotations

import random
from pathlib import Path


def answerer(base: Path, out: Path, steps: int = 40, batch: int = 8, seed: int = 0) -> Path:
    """Train the answering critic from the tiny model at ``base`` and save it under ``out``; returns ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from deepcritic.config import SyntheticConfig
    from deepcritic.critique import build_critic_messages
    from deepcritic.data import generate_synthetic

    torch.manual_seed(seed)
    rng = random.Random(seed)
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base)
    records = generate_synthetic(SyntheticConfig(num_records=64, seed=7))

    def example(record):
        k = rng.choice([-1, *range(1, len(record.steps) + 1)])
        prompt = tok.apply_chat_template(
            build_critic_messages(record.problem, record.steps), tokenize=False, add_generation_prompt=True
        )
        p = tok(prompt, add_special_tokens=False)["input_ids"]
        t = tok(f"**Answer**: \\boxed{{{k}}}<|im_end|>", add_special_tokens=False)["input_ids"]
        return p, t

    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        pairs = [example(rng.choice(records)) for _ in range(batch)]
        width = max(len(p) + len(t) for p, t in pairs)
        ids = torch.full((batch, width), tok.pad_token_id)
        labels = torch.full((batch, width), -100)
        mask = torch.zeros((batch, width), dtype=torch.long)
        for i, (p, t) in enumerate(pairs):
            ids[i, : len(p) + len(t)] = torch.tensor(p + t)
            labels[i, len(p) : len(p) + len(t)] = torch.tensor(t)
            mask[i, : len(p) + len(t)] = 1
        model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
