"""``deepcritic sft``: the SFT warm start: train a critic on (critic prompt -> deliberate critique) chats.

Examples come from the synthetic task (the default), step-labeled records of any data source (the
user turn is the critic prompt of the protocol, the target the record's gold critique), chat JSONL or
the Hub. Everything else is the shared training run, :func:`deepcritic.training.loop.run` with the supervised
stage (:class:`deepcritic.training.sft.SFTStage`): trainer arguments, model and tokenizer, over-length
report, wandb, training with ``resume=auto``, and the final Hugging Face save with tokenizer, chat template
and model card under ``<output_dir>/final``.
"""

from __future__ import annotations

from pathlib import Path

from deepcritic.chat_data import load_examples
from deepcritic.config import SFTRecipeConfig
from deepcritic.critique import load_template
from deepcritic.eval.during_training import hooks
from deepcritic.training.loop import run
from deepcritic.training.sft import SFTStage


def main(cfg: SFTRecipeConfig) -> dict:
    template = load_template("critic", cfg.model.template)

    def critique_examples(out: Path):
        return load_examples(cfg.chat, cfg.data, template, rejects_default=out / "rejects.jsonl")

    return run(cfg, SFTStage("sft", cfg, critique_examples), hooks(cfg))
