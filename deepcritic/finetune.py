"""The fine-tuning pipeline shared by ``sft`` and ``cft``, which differ only in where examples come from.

:func:`run` reads top to bottom; the steps below it are small and do one thing. Training itself,
progress bars, logging, checkpointing and resuming are TRL's ``SFTTrainer`` / the transformers ``Trainer``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any, Callable

from deepcritic import tracking, training
from deepcritic.chat_data import apply_length_limit, example_texts
from deepcritic.config import LoraConfig, ModelConfig
from deepcritic.modeling import build_tiny, load_model, load_tokenizer
from deepcritic.preemption import PreemptionCallback, raise_if_preempted
from deepcritic.runtime import run_dir

log = logging.getLogger(__name__)

# (run directory) -> (chat examples, a description of where they came from)
ExampleLoader = Callable[[Path], tuple[Any, str]]


def run(cfg: Any, recipe: str, load_examples: ExampleLoader) -> dict:
    """Train ``cfg.model`` on the examples ``load_examples`` returns; save the final model with a model card.

    Order matters: trainer arguments come first (with ZeRO-3 they make the model load partitioned),
    then examples, model and tokenizer, the over-length count (reported, optionally dropped), wandb,
    training (resuming from the newest checkpoint when ``train.resume=auto``), and the final Hugging
    Face save with tokenizer, chat template and model card under ``<output_dir>/final``. On SIGTERM
    (preemption) it saves a checkpoint at the end of the current step and stops with exit status 143
    instead (:mod:`deepcritic.preemption`); a rerun resumes from that checkpoint.
    """
    out = Path(cfg.train.output_dir) if cfg.train.output_dir else run_dir()
    if cfg.deepspeed.stage or cfg.deepspeed.config_file:
        training.ensure_process_group_env()
    cuda, bf16_ok = hardware()
    precision = training.resolve_precision(cfg.model.dtype, cuda, bf16_ok)
    args = training.to_trl_args(cfg, training.world_size(), output_dir=str(out), cuda=cuda, bf16_supported=bf16_ok,
                                report_to=tracking.report_to(cfg.logger), run_name=cfg.logger.name)
    out = training.same_dir_on_all_ranks(out)
    args.output_dir = str(out)

    examples, source = load_examples(out)
    checkpoint = training.resolve_resume(cfg.train.resume, out)
    model, tokenizer = model_and_tokenizer(cfg.model, precision, example_texts(examples), checkpoint)

    examples, lengths = apply_length_limit(examples, tokenizer, cfg.train.max_length, cfg.train.drop_overlong,
                                           cfg.train.dataset_num_proc)
    if tracking.is_main_process():
        (log.warning if lengths.overlong else log.info)(lengths.message())
        log.info("training on %d %s examples from %s%s", len(examples), recipe.upper(), source,
                 f", resuming from {checkpoint}" if checkpoint else "")

    wandb_run = tracking.start_run(cfg.logger, config_dict(cfg), out, default_name=f"{recipe}-{out.name}")
    tracking.log_summary(wandb_run, lengths.metrics())
    trainer = build_trainer(model, tokenizer, args, examples, cfg.train.lora)
    preempt = PreemptionCallback()  # SIGTERM: checkpoint at the end of the step, then exit 143
    trainer.add_callback(preempt)
    result = trainer.train(resume_from_checkpoint=checkpoint)
    raise_if_preempted(preempt, out, cleanup=lambda: tracking.finish(wandb_run))

    final = out / "final"
    save_final(trainer, final)
    metrics = {**final_metrics(result, trainer), **lengths.metrics()}
    if trainer.is_world_process_zero():
        trainer.save_state()
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        write_model_card(final, recipe=recipe, cfg=cfg, base_model=base_model_name(cfg.model),
                         data=source, metrics=metrics, length_report=lengths)
        log.info("final model: %s", final)
    tracking.log_summary(wandb_run, metrics)
    tracking.finish(wandb_run)
    return {**metrics, "final_model": str(final)}

# Qwen chat templates end every turn with this token; generation should stop there.
END_OF_TURN = "<|im_end|>"


def hardware() -> tuple[bool, bool]:
    """(CUDA available, bf16 supported on it)."""
    import torch

    cuda = torch.cuda.is_available()
    return cuda, cuda and torch.cuda.is_bf16_supported()


def model_and_tokenizer(cfg: ModelConfig, precision: str, texts: Any, checkpoint: str | None):
    """Load the model (or build the tiny one from ``texts``); from ``checkpoint`` when resuming a tiny model.

    A tiny model's tokenizer is trained per run, so a resumed run takes both from its checkpoint; a
    loaded model resumes through the trainer (weights, optimizer, scheduler, RNG, data position).
    """
    if cfg.from_scratch and checkpoint:
        model, tokenizer = load_model(cfg, precision, path=checkpoint), load_tokenizer(cfg, path=checkpoint)
    elif cfg.from_scratch:
        model, tokenizer = build_tiny(cfg.tiny, texts, precision)
    else:
        tokenizer = load_tokenizer(cfg)
        model = load_model(cfg, precision)
    stop_at_end_of_turn(model, tokenizer)
    return model, tokenizer


def stop_at_end_of_turn(model: Any, tokenizer: Any) -> None:
    """Make generation stop at ``<|im_end|>`` too (base models like Qwen2.5-Math stop at ``<|endoftext|>`` only)."""
    end = tokenizer.convert_tokens_to_ids(END_OF_TURN) if END_OF_TURN in tokenizer.get_vocab() else None
    gen = model.generation_config
    if end is None or gen is None:
        return
    eos = gen.eos_token_id
    eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
    if end not in eos:
        gen.eos_token_id = eos + [end] if eos else end
    if gen.pad_token_id is None:
        gen.pad_token_id = tokenizer.pad_token_id


def peft_config(lora: LoraConfig):
    """A peft LoraConfig for causal-LM training, or None when LoRA is off."""
    if not lora.enabled:
        return None
    from peft import LoraConfig as PeftLoraConfig

    modules = list(lora.target_modules)
    return PeftLoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, task_type="CAUSAL_LM",
                          target_modules="all-linear" if modules == ["all-linear"] else modules)


def build_trainer(model: Any, tokenizer: Any, args: Any, dataset: Any, lora: LoraConfig):
    """TRL's SFTTrainer on prompt-completion chats (loss on the completion only)."""
    from trl import SFTTrainer

    return SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                      peft_config=peft_config(lora))


def save_final(trainer: Any, path: Path) -> None:
    """Hugging Face format (weights gathered from every ZeRO-3 rank), tokenizer and chat template.

    Every process must call it: under ZeRO-3 the weights are gathered collectively.
    """
    trainer.save_model(str(path))
    if trainer.is_world_process_zero():
        trainer.processing_class.save_pretrained(str(path))  # tokenizer files + chat_template.jinja


def final_metrics(train_output: Any, trainer: Any) -> dict[str, Any]:
    """train_loss / runtime from the trainer's result, plus the last logged loss and the step count."""
    metrics = dict(train_output.metrics)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    if losses:
        metrics["first_logged_loss"], metrics["last_logged_loss"] = losses[0], losses[-1]
    metrics["global_step"] = trainer.state.global_step
    return metrics


def write_model_card(path: Path, *, recipe: str, cfg: Any, base_model: str, data: str, metrics: dict,
                     length_report: Any) -> Path:
    """README.md beside the weights: base model, data, the composed config, final metrics."""
    from omegaconf import OmegaConf

    config_yaml = OmegaConf.to_yaml(OmegaConf.structured(cfg))
    lora = " (LoRA adapter: load it with peft on top of the base model)" if cfg.train.lora.enabled else ""
    front = {"library_name": "transformers", "pipeline_tag": "text-generation", "tags": ["deepcritic", recipe]}
    if not cfg.model.from_scratch:
        front["base_model"] = base_model
    lines = [
        "---", *[f"{k}: {json.dumps(v)}" for k, v in front.items()], "---", "",
        f"# deepcritic {recipe} model{lora}", "",
        f"Trained with `deepcritic {recipe}` (TRL SFTTrainer; loss on the assistant target only).", "",
        "## Base model", "", f"`{base_model}`", "",
        "## Data", "", f"- source: `{data}`", f"- {length_report.message()}", "",
        "## Final metrics", "", "| metric | value |", "|---|---|",
        *[f"| {k} | {_fmt(v)} |" for k, v in metrics.items()], "",
        "## Config", "", "```yaml", config_yaml.rstrip(), "```", "",
    ]
    card = path / "README.md"
    card.write_text("\n".join(lines), encoding="utf-8")
    return card


def base_model_name(cfg: ModelConfig) -> str:
    if cfg.from_scratch:
        t = cfg.tiny
        return f"tiny random Qwen2 (hidden {t.hidden_size}, {t.num_layers} layers, {t.num_heads} heads), built from scratch"
    return cfg.name_or_path + (f"@{cfg.revision}" if cfg.revision else "")


def config_dict(cfg: Any) -> dict[str, Any]:
    """The composed config as plain data (for wandb and files)."""
    return dataclasses.asdict(cfg)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
