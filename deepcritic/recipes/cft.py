"""``deepcritic cft``: Critique Fine-Tuning (arXiv 2501.17703): question + candidate solution -> critique.

The data is TIGER-Lab/WebInstruct-CFT (configs WebInstruct-CFT-4K / -50K / -600K; rows ``instruction``,
``input``, ``output``) or a local json/jsonl/parquet file of the same form (``chat.path``). The user turn
is the instruction and the input (question and candidate solution); the target is the critique, which
ends with its right/wrong conclusion. Training is the same pipeline as ``sft``:
:func:`deepcritic.finetune.run`.
"""

from __future__ import annotations

from deepcritic import finetune
from deepcritic.chat_data import load_examples
from deepcritic.config import CFTRecipeConfig


def main(cfg: CFTRecipeConfig) -> dict:
    return finetune.run(cfg, "cft", lambda _out: load_examples(cfg.chat))
