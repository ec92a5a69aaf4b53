"""The supervised stage that ``sft`` and ``cft`` share (TRL ``SFTTrainer``): they differ only in where the
examples come from, which the recipe passes in as a loader."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deepcritic import tracking
from deepcritic.cards import hub_dataset
from deepcritic.chat_data import ChatExamples, LengthReport, example_texts, training_examples
from deepcritic.config import ModelConfig
from deepcritic.training.args import sft_kwargs
from deepcritic.training.card import ModelCard
from deepcritic.training.loop import base_model_name

log = logging.getLogger(__name__)

# (run directory, for the rejects file) -> the chat examples, where they came from and what was left out
ExampleLoader = Callable[[Path], ChatExamples]


class SFTStage:
    """Prompt-completion chats -> ``SFTTrainer`` (loss on the completion only), as the chats themselves (TRL
    renders them with the tokenizer's chat template) or as token ids and labels rendered by ``chat.format``;
    over-long examples counted and reported (``train.max_length``), dropped with ``train.drop_overlong``."""

    def __init__(self, name: str, cfg: Any, load_examples: ExampleLoader):
        self.name, self.cfg, self.load_examples = name, cfg, load_examples
        self.examples: Any = None
        self.source = ""
        self.lengths: LengthReport | None = None
        self.skipped: dict[str, int] = {}

    def prepare(self, out: Path, cuda: bool) -> ModelConfig:
        return self.cfg.model

    def trainer_args(self, common: dict[str, Any]) -> Any:
        from trl import SFTConfig

        return SFTConfig(**common, **sft_kwargs(self.cfg.train))

    def load_data(self, out: Path) -> Any:
        loaded = self.load_examples(out)
        self.examples, self.source, self.skipped = loaded.dataset, loaded.source, loaded.metrics()
        if loaded.skipped and tracking.is_main_process():
            log.warning(loaded.message())
        return example_texts(self.examples)

    def dataset(self, tokenizer: Any) -> tuple[Any, dict[str, Any]]:
        t = self.cfg.train
        self.examples, self.lengths = training_examples(
            self.examples, tokenizer, self.cfg.chat.format, t.max_length, t.drop_overlong, t.dataset_num_proc
        )
        if tracking.is_main_process():
            (log.warning if self.lengths.overlong else log.info)(self.lengths.message())
        return self.examples, {**self.lengths.metrics(), **self.skipped}

    def describe(self, size: int, resume_from: str | None) -> str:
        return f"training on {size} {self.name.upper()} examples from {self.source}" + (
            f", resuming from {resume_from}" if resume_from else ""
        )

    def trainer(self, model: Any, tokenizer: Any, args: Any, dataset: Any, peft: Any, callbacks: list) -> Any:
        from trl import SFTTrainer

        context = getattr(model.config, "max_position_embeddings", None)
        longest = min(self.lengths.longest, self.cfg.train.max_length) if self.lengths else 0
        if context and longest > context and tracking.is_main_process():
            log.warning(
                "examples of up to %d tokens are longer than the model's context (max_position_embeddings=%d): "
                "positions past it were never trained; lower train.max_length to %d or use a longer-context model",
                longest,
                context,
                context,
            )
        return SFTTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft,
            callbacks=callbacks,
        )

    def final_metrics(self, trainer: Any) -> dict[str, Any]:
        return {}

    def card(self, model: ModelConfig) -> ModelCard:
        lora = " (LoRA adapter: load it with peft on top of the base model)" if self.cfg.train.lora.enabled else ""
        base = base_model_name(model)
        return ModelCard(
            recipe=self.name,
            title=f"deepcritic {self.name} model{lora}",
            summary=f"Trained with `deepcritic {self.name}` (TRL SFTTrainer; loss on the assistant target only).",
            sections=[
                ("Base model", [f"`{base}`"]),
                (
                    "Data",
                    [
                        f"- source: `{self.source}`",
                        f"- format: `{self.cfg.chat.format}`",
                        f"- {self.lengths.message() if self.lengths else ''}",
                    ],
                ),
            ],
            base_model=None if model.from_scratch else model.name_or_path,
            datasets=self._hub_datasets(),
        )

    def _hub_datasets(self) -> list[str]:
        """The Hub dataset the chats come from (the records' one for chat.source=records), if any."""
        chat = self.cfg.chat
        section = getattr(self.cfg, "data", None) if chat.source == "records" else chat
        name = hub_dataset(section) if section is not None else None
        return [name] if name else []
