"""``deepcritic sft``: the SFT warm start: train a critic on (critic prompt -> deliberate critique) chats.

Examples come from the synthetic task (the default), step-labeled records of any data source (the
user turn is the critic prompt of the protocol, the target the record's gold critique), chat JSONL or
the Hub. Everything after loading is the shared fine-tuning pipeline, :func:`deepcritic.finetune.run`:
trainer arguments, model and tokenizer, over-length report, wandb, training with ``resume=auto``, and
the final Hugging Face save with tokenizer, chat template and model card under ``<output_dir>/final``.
"""

from __future__ import annotations

from pathlib import Path

from deepcritic import finetune
from deepcritic.chat_data import load_examples
from deepcritic.config import SFTRecipeConfig
from deepcritic.critique import load_template


def main(cfg: SFTRecipeConfig) -> dict:
    template = load_template(cfg.model.template)

    def critique_examples(out: Path):
        return load_examples(cfg.chat, cfg.data, template, rejects_default=out / "rejects.jsonl")

    return finetune.run(cfg, "sft", critique_examples)
