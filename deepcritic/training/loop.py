"""The training run that ``sft``, ``cft`` and ``grpo`` share, parameterised by a :class:`Stage`.

:func:`run` reads top to bottom: the run directory; the hardware and the precision (resolved once); the
stage prepares what must exist before anything else (GRPO: the vLLM environment, its records, a tiny model
saved for vLLM to load); the trainer arguments (before the model: with ZeRO-3 in them transformers loads the
weights already partitioned); one run directory for every rank; the Hub push's token (``hub.push``: read before
anything heavy); the stage's data; the checkpoint to resume from (``train.resume=auto``: the newest one); model
and tokenizer; the stage's dataset and its metrics (over-long examples counted); the trackers (``logger``); the
stage's trainer with a preemption callback (SIGTERM: a checkpoint at the end of the step, then exit 143), the
non-finite guard (a NaN step is not applied: stop or skip it), the trackers' and checkpoint pushes' callbacks
and the recipe's hooks (the evaluation during training); training; the final Hugging Face save with tokenizer,
chat template and model card under ``<output_dir>/final``; metrics.json; the push of final/ and best/ to the Hub
(``deepcritic.hub``), after everything is saved.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from deepcritic import tracking
from deepcritic.cards import EvalFigure
from deepcritic.config import ModelConfig
from deepcritic.modeling import hardware, load_model_and_tokenizer, resolve_precision
from deepcritic.preemption import PreemptionCallback, raise_if_preempted, release_engines
from deepcritic.runtime import run_dir
from deepcritic.store import write_json
from deepcritic.timing import StartupClock
from deepcritic.training.args import peft_config, trainer_kwargs
from deepcritic.training.card import ModelCard, write_model_card
from deepcritic.training.checkpoints import resolve_resume
from deepcritic.training.distributed import ensure_process_group_env, same_dir_on_all_ranks, world_size
from deepcritic.training.guards import NonFiniteGuard, raise_if_nonfinite, writes_reported
from deepcritic.training.publish import RunPush

log = logging.getLogger(__name__)

# (model dir, figures for the card's table, the card's evaluation results) -> writes README.md
CardWriter = Callable[[Path, dict[str, Any], list[EvalFigure]], None]


class Stage(Protocol):
    """What a training recipe says itself; everything else is :func:`run`."""

    name: str  # the recipe: run names, the model card's tag

    def prepare(self, out: Path, cuda: bool) -> ModelConfig:
        """Before the trainer arguments: set up what must exist first; returns the model to start from."""

    def trainer_args(self, common: dict[str, Any]) -> Any:
        """The trainer's config object from the shared keyword arguments (plus the stage's own)."""

    def load_data(self, out: Path) -> Any:
        """Load the training data (``out``: the run directory, e.g. for rejected rows); returns texts a tiny
        model's tokenizer can be trained on (None when the model is not built here)."""

    def dataset(self, tokenizer: Any) -> tuple[Any, dict[str, Any]]:
        """The trainer's dataset and the data metrics (counts, lengths) for metrics.json and wandb."""

    def describe(self, size: int, resume_from: str | None) -> str:
        """The console line that says what is trained on what."""

    def trainer(self, model: Any, tokenizer: Any, args: Any, dataset: Any, peft: Any, callbacks: list) -> Any:
        """The trainer, with ``callbacks`` (the preemption callback among them)."""

    def final_metrics(self, trainer: Any) -> dict[str, Any]:
        """The stage's own figures after training (logged values, checks), for metrics.json."""

    def card(self, model: ModelConfig) -> ModelCard:
        """The model card's content (``model``: the model training started from)."""


class Hook(Protocol):
    """A trainer callback that takes part in the run beyond training (the evaluation during training): it gets
    the trainer, the run directory and a model-card writer before training, and adds figures to metrics.json and
    a section to the final model's card after it."""

    def attach(self, trainer: Any, out: Path, write_card: CardWriter) -> None: ...

    def summary(self, train_runtime: float | None) -> dict[str, Any]: ...

    def card_section(self, model_dir: Path) -> tuple[str, list[str]]: ...

    def figures(self) -> list[EvalFigure]: ...


def run(cfg: Any, stage: Stage, hooks: Sequence[Hook] = ()) -> dict[str, Any]:
    """Train ``cfg`` (``model``, ``train``, ``deepspeed``, ``logger``, ``seed`` sections) as ``stage`` says, with
    ``hooks`` (trainer callbacks that also get the trainer, :class:`Hook`); returns the final metrics and
    ``final_model`` (the saved model's directory)."""
    clock = StartupClock()  # the fixed cost of a run, phase by phase (logged, in metrics.json as startup/*)
    out = Path(cfg.train.output_dir) if cfg.train.output_dir else run_dir()
    cuda, bf16_ok = hardware()
    precision = resolve_precision(cfg.model.dtype, cuda, bf16_ok)
    cfg = dataclasses.replace(cfg, model=stage.prepare(out, cuda))  # GRPO from scratch: the saved tiny model
    clock.mark("prepare")
    if cfg.deepspeed.stage or cfg.deepspeed.config_file:
        ensure_process_group_env()
    args = stage.trainer_args(
        trainer_kwargs(
            cfg,
            world_size(),
            output_dir=str(out),
            precision=precision,
            cuda=cuda,
            **tracking.trainer_settings(cfg.logger),
        )
    )
    out = same_dir_on_all_ranks(out)
    args.output_dir = str(out)
    publish = RunPush(cfg.hub, out)  # hub.push: the token is read now, so that a run that cannot push does not train

    clock.mark("arguments")
    texts = stage.load_data(out)
    checkpoint = resolve_resume(cfg.train.resume, out)
    clock.mark("data")
    model, tokenizer = load_model_and_tokenizer(cfg.model, precision, texts, checkpoint)
    clock.mark("model")
    dataset, data_metrics = stage.dataset(tokenizer)
    clock.mark("dataset")
    log_main(stage.describe(len(dataset), checkpoint))

    wandb_run = tracking.start_run(
        cfg.logger, dataclasses.asdict(cfg), out, f"{stage.name}-{out.name}", training=True, continuing=bool(checkpoint)
    )
    tracking.log_summary(wandb_run, data_metrics)
    clock.mark("trackers")
    trainer, preempt, guard = assemble_trainer(stage, cfg, (model, tokenizer, args, dataset), publish, hooks, out)
    clock.mark("trainer")  # a colocated vLLM engine starts here
    log_main(clock.line())
    with writes_reported(out):  # a full disk or a refused write: one line, and which checkpoint is safe
        result = trainer.train(resume_from_checkpoint=checkpoint)
    raise_if_preempted(preempt, out, cleanup=lambda: (tracking.finish(wandb_run), release_engines(trainer)))
    raise_if_nonfinite(guard, out)

    clock.skip()
    metrics = {**run_metrics(result, trainer, stage, guard, hooks), **data_metrics, **clock.metrics()}
    final = write_outputs(trainer, out, stage, cfg, hooks, metrics)
    clock.mark("finish")
    log_main(f"after training: final checks, model, state and card in {clock.phases['finish']:.1f} s")
    tracking.log_summary(wandb_run, metrics)
    tracking.finish(wandb_run)
    if trainer.is_world_process_zero():
        publish.finish(stage.name, trainer.state.global_step)  # after the local save: a failed push loses nothing
    return {**metrics, "final_model": str(final)}


def log_main(message: str) -> None:
    """One console line, from the main process only."""
    if tracking.is_main_process():
        log.info(message)


def run_metrics(result: Any, trainer: Any, stage: Stage, guard: NonFiniteGuard, hooks: Sequence[Hook]) -> dict:
    """What training measured: the trainer's figures, the stage's own, the non-finite guard's and the hooks'."""
    extra = {**stage.final_metrics(trainer), **guard.summary()}
    for hook in hooks:
        extra.update(hook.summary(result.metrics.get("train_runtime")))
    return {**train_metrics(result, trainer), **extra}


def assemble_trainer(
    stage: Stage, cfg: Any, parts: tuple[Any, Any, Any, Any], publish: RunPush, hooks: Sequence[Hook], out: Path
) -> tuple[Any, PreemptionCallback, NonFiniteGuard]:
    """The stage's trainer for ``parts`` (model, tokenizer, trainer arguments, dataset) with the run's callbacks:
    the preemption callback (SIGTERM: checkpoint at the end of the step, then exit 143), the non-finite guard (a
    non-finite step never reaches the weights), the trackers', the Hub pushes' and the hooks, which are attached."""
    model, tokenizer, args, dataset = parts
    preempt, guard = PreemptionCallback(), NonFiniteGuard(cfg.train.nonfinite)
    callbacks = [preempt, guard, *tracking.callbacks(cfg.logger), *publish.callbacks, *hooks]
    trainer = stage.trainer(model, tokenizer, args, dataset, peft_config(cfg.train.lora), callbacks)
    for hook in hooks:
        hook.attach(trainer, out, partial(write_stage_card, stage, cfg))
    return trainer, preempt, guard


def write_outputs(trainer: Any, out: Path, stage: Stage, cfg: Any, hooks: Sequence[Hook], metrics: dict) -> Path:
    """The final model (every rank: ZeRO-3 gathers collectively), the trainer state, metrics.json and the final
    model's card with the hooks' sections and figures; a refused write is one line (``writes_reported``)."""
    final = out / "final"
    with writes_reported(out):
        save_final(trainer, final)
        if trainer.is_world_process_zero():
            trainer.save_state()
            write_json(out / "metrics.json", metrics)
            card = stage.card(cfg.model)
            card.sections += [hook.card_section(final) for hook in hooks]
            write_model_card(final, card, metrics, cfg, [figure for hook in hooks for figure in hook.figures()])
            log.info("final model: %s", final)
    return final


def write_stage_card(stage: Stage, cfg: Any, path: Path, metrics: dict[str, Any], figures: list[EvalFigure]) -> None:
    """The stage's model card for a model saved during training (``best/``): a hook's :data:`CardWriter`."""
    write_model_card(path, stage.card(cfg.model), metrics, cfg, figures)


def save_final(trainer: Any, path: Path) -> None:
    """Hugging Face format (weights gathered from every ZeRO-3 rank), tokenizer and chat template.

    Every process must call it: under ZeRO-3 the weights are gathered collectively.
    """
    trainer.save_model(str(path))
    if trainer.is_world_process_zero():
        trainer.processing_class.save_pretrained(str(path))  # tokenizer files + chat_template.jinja


def train_metrics(train_output: Any, trainer: Any) -> dict[str, Any]:
    """train_loss / runtime from the trainer's result, plus the last logged loss and the step count."""
    metrics = dict(train_output.metrics)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    if losses:
        metrics["first_logged_loss"], metrics["last_logged_loss"] = losses[0], losses[-1]
    metrics["global_step"] = trainer.state.global_step
    return metrics


def base_model_name(cfg: ModelConfig) -> str:
    """How a card names the model training started from."""
    if cfg.from_scratch and cfg.architecture:
        return f"random-weight Qwen2 of {cfg.architecture}'s shape, built from scratch"
    if cfg.from_scratch:
        t = cfg.tiny
        shape = f"hidden {t.hidden_size}, {t.num_layers} layers, {t.num_heads} heads"
        return f"tiny random Qwen2 ({shape}), built from scratch"
    return cfg.name_or_path + (f"@{cfg.revision}" if cfg.revision else "")
