"""``deepcritic grpo``: reinforce a critic with the 0/1 judgment reward (TRL GRPOTrainer).

The run is the shared training run (:func:`deepcritic.training.loop.run`); this recipe says what GRPO adds:

1. before anything else, the vLLM environment, the records (balanced between "has a wrong step" and "has
   none" when asked) and, for a model built from scratch, the tiny model saved under ``<out>/initial`` so that
   vLLM can load it;
2. TRL's ``GRPOConfig`` (sampling, algorithm, rollouts), checked for whole groups per process when dynamic
   sampling is on;
3. the dataset: every record as a critic-prompt row, prompts over ``grpo.max_prompt_length`` (or longer than a
   colocated engine's ``max_model_len`` leaves room for, after the completion budget) counted and dropped;
4. the trainer: the reward with critic metrics, dynamic sampling, vLLM colocate / server or plain generate;
5. after training: the last logged reward and critic metrics and, with ``grpo.verify_engine_sync``, a check
   that the colocated engine holds the trained weights.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deepcritic.cards import hub_dataset
from deepcritic.config import GRPORecipeConfig, ModelConfig
from deepcritic.critique import build_critic_messages, load_template
from deepcritic.data import load_records
from deepcritic.data.records import StepRecord
from deepcritic.errors import DeepcriticError
from deepcritic.eval.during_training import hooks
from deepcritic.grpo import engine
from deepcritic.grpo.args import check_groups_per_process, to_grpo_config
from deepcritic.grpo.data import balance_records, grpo_row, prompt_length, prompt_limit, split_by_length
from deepcritic.grpo.trainer import build_trainer
from deepcritic.modeling import save_tiny_model
from deepcritic.training.card import ModelCard
from deepcritic.training.distributed import world_size
from deepcritic.training.loop import run

log = logging.getLogger(__name__)

LAST_LOGGED = (
    "reward",
    "critic/parse_rate",
    "critic/truncation_rate",
    "critic/acc_error",
    "critic/acc_correct",
    "critic/f1",
    "completions/mean_length",
    "frac_reward_zero_std",
)


def main(cfg: GRPORecipeConfig, callbacks: Sequence[Any] = ()) -> dict:
    """Train; returns the final metrics. ``callbacks``: extra ``TrainerCallback``s (when called from Python)."""
    return run(cfg, GRPOStage(cfg, callbacks), hooks(cfg))


class GRPOStage:
    """What GRPO adds to the shared training run (see the module docstring)."""

    name = "grpo"

    def __init__(self, cfg: GRPORecipeConfig, callbacks: Sequence[Any] = ()):
        self.cfg, self.callbacks = cfg, list(callbacks)
        self.template = load_template("critic", cfg.model.template)
        self.records: list[StepRecord] = []
        self.metrics: dict[str, Any] = {}

    def prepare(self, out: Path, cuda: bool) -> ModelConfig:
        engine.prepare_environment(self.cfg.rollout, cuda)
        self.records, self.metrics = _records(self.cfg, out)
        if not self.cfg.model.from_scratch:
            return self.cfg.model
        if world_size() > 1:
            raise DeepcriticError(
                "model.from_scratch=true runs in one process: build the tiny model with "
                "`deepcritic sft` first and pass model.name_or_path=<its final/ directory>"
            )
        texts = [build_critic_messages(r.problem, r.steps, self.template)[0]["content"] for r in self.records]
        tiny, architecture = self.cfg.model.tiny, self.cfg.model.architecture
        save_tiny_model(tiny, texts, out / "initial", reuse=True, architecture=architecture)
        return dataclasses.replace(
            self.cfg.model, name_or_path=str(out / "initial"), tokenizer=None, from_scratch=False
        )

    def trainer_args(self, common: dict[str, Any]) -> Any:
        args = to_grpo_config(self.cfg, common)
        if self.cfg.grpo.dynamic_sampling:
            check_groups_per_process(args.per_device_train_batch_size, args.steps_per_generation, self.cfg.sampling.n)
        return args

    def load_data(self, out: Path) -> None:
        return None  # the records were loaded in prepare (a tiny model is built from them)

    def dataset(self, tokenizer: Any) -> tuple[Any, dict[str, Any]]:
        """Critic-prompt rows as a ``datasets.Dataset``; prompts over ``grpo.max_prompt_length`` tokens dropped."""
        import datasets

        ro = self.cfg.rollout
        engine_len = ro.vllm.max_model_len if ro.backend == "vllm" and ro.vllm_mode == "colocate" else None
        limit = prompt_limit(self.cfg.grpo.max_prompt_length, engine_len, self.cfg.sampling.max_new_tokens)
        rows = [grpo_row(r, self.template) for r in self.records]
        lengths = [prompt_length(tokenizer, row["prompt"]) for row in rows]
        keep, drop = split_by_length(lengths, limit)
        if drop:
            log.warning(
                "%d of %d prompts are longer than %s tokens (grpo.max_prompt_length=%s, rollout.vllm.max_model_len=%s "
                "minus sampling.max_new_tokens=%s) and were dropped",
                len(drop),
                len(rows),
                limit,
                self.cfg.grpo.max_prompt_length,
                engine_len,
                self.cfg.sampling.max_new_tokens,
            )
        if not keep:
            raise DeepcriticError(
                f"no training record is left: every prompt is longer than {limit} tokens; raise "
                "grpo.max_prompt_length or rollout.vllm.max_model_len, or lower sampling.max_new_tokens"
            )
        metrics = {
            **self.metrics,
            "data/prompts": len(keep),
            "data/prompts_too_long": len(drop),
            "data/max_prompt_tokens": max(lengths[i] for i in keep),
        }
        return datasets.Dataset.from_list([rows[i] for i in keep]), metrics

    def describe(self, size: int, resume_from: str | None) -> str:
        return (
            f"GRPO on {size} records ({self.cfg.data.source}), {self.cfg.sampling.n} samples each, rollouts: "
            f"{_rollout_name(self.cfg)}" + (f", resuming from {resume_from}" if resume_from else "")
        )

    def trainer(self, model: Any, tokenizer: Any, args: Any, dataset: Any, peft: Any, callbacks: list) -> Any:
        return build_trainer(model, tokenizer, args, dataset, self.cfg, peft, [*self.callbacks, *callbacks])

    def final_metrics(self, trainer: Any) -> dict[str, Any]:
        last: dict[str, Any] = {}
        for entry in trainer.state.log_history:
            last.update({f"last/{k}": entry[k] for k in LAST_LOGGED if k in entry})
        return {**last, **(engine.check_sync(trainer) if self.cfg.grpo.verify_engine_sync else {})}

    def card(self, model: ModelConfig) -> ModelCard:
        s, d = self.cfg.sampling, self.cfg.data
        return ModelCard(
            recipe="grpo",
            title="deepcritic GRPO critic",
            summary="Trained with `deepcritic grpo` (TRL GRPOTrainer; reward 1.0 when the final judgment names the "
            "first wrong step of the solution, or says there is none, as labelled; else 0.0).",
            sections=[
                (
                    None,
                    [
                        f"- start model: `{model.name_or_path}`",
                        f"- data: `{d.source}` {d.path or ''}",
                        f"- samples per prompt: {s.n}, temperature {s.temperature}, max completion "
                        f"{s.max_new_tokens} tokens",
                    ],
                )
            ],
            base_model=model.name_or_path,
            datasets=[name] if (name := hub_dataset(d)) else [],
        )


def _records(cfg: GRPORecipeConfig, out: Path) -> tuple[list[StepRecord], dict[str, Any]]:
    """The training records, balanced between "has a wrong step" and "has none" when asked."""
    records = load_records(cfg.data, rejects_default=out / "rejects.jsonl").records
    metrics: dict[str, Any] = {"data/records": len(records)}
    if cfg.grpo.balance_error_fraction is not None:
        balanced = balance_records(records, cfg.grpo.balance_error_fraction, cfg.seed)
        records = balanced.records
        log.info("balanced records with / without a wrong step: %s -> %s", balanced.before, balanced.after)
        metrics.update({"data/balanced_error": balanced.after[0], "data/balanced_correct": balanced.after[1]})
    return records, metrics


def _rollout_name(cfg: GRPORecipeConfig) -> str:
    r = cfg.rollout
    if r.backend != "vllm":
        return "transformers generate"
    if r.vllm_mode == "server":
        return f"vLLM server {r.server.base_url or f'{r.server.host}:{r.server.port}'}"
    return f"vLLM colocated (tensor parallel {r.vllm.tensor_parallel_size})"
