"""``deepcritic cft``: Critique Fine-Tuning (arXiv 2501.17703): question + candidate solution -> critique.

The data is TIGER-Lab/WebInstruct-CFT (configs WebInstruct-CFT-4K / -50K / -600K; rows ``instruction``,
``input``, ``output``) or a local json/jsonl/parquet file of the same form (``chat.path``). The user turn
is the instruction and the input (question and candidate solution); the target is the critique, which
ends with its right/wrong conclusion and ``[END]``. With ``chat=webinstruct_cft`` the sequence is the one
the CFT release trained on (LLaMA-Factory's qwen template: :mod:`deepcritic.chat_format`). Training is the
same run as ``sft`` (:func:`deepcritic.training.loop.run` with :class:`deepcritic.training.sft.SFTStage`).
"""

from __future__ import annotations

from deepcritic.chat_data import load_examples
from deepcritic.config import CFTRecipeConfig
from deepcritic.eval.during_training import hooks
from deepcritic.training.loop import run
from deepcritic.training.sft import SFTStage


def main(cfg: CFTRecipeConfig) -> dict:
    stage = SFTStage("cft", cfg, lambda out: load_examples(cfg.chat, rejects_default=out / "rejects.jsonl"))
    return run(cfg, stage, hooks(cfg))
