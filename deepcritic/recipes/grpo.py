"""``deepcritic grpo``: reinforce a critic with the 0/1 judgment reward (TRL GRPOTrainer).

Reads top to bottom: the run directory (a tiny model built from scratch is saved there first, so that
vLLM can load it); TRL's arguments (before the model: with ZeRO-3 it then loads partitioned); the
records (balanced if asked) as critic-prompt rows; model and tokenizer; over-long prompts counted and
dropped; wandb; the trainer (reward + critic metrics, dynamic sampling, vLLM colocate / server or plain
generate); training, resuming from the newest checkpoint with ``train.resume=auto`` (on SIGTERM: a
checkpoint at the end of the step, then exit 143, see ``deepcritic.preemption``); optionally a check
that the colocated engine holds the trained weights; the final Hugging Face save and metrics.json.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any, Sequence

from deepcritic import finetune, tracking, training
from deepcritic.config import GRPORecipeConfig, ModelConfig
from deepcritic.critique import load_template
from deepcritic.data import load_records
from deepcritic.data.records import StepRecord
from deepcritic.errors import DeepcriticError
from deepcritic.grpo import engine
from deepcritic.grpo.args import check_groups_per_process, to_grpo_config
from deepcritic.grpo.data import balance_records, grpo_row, prompt_length, split_by_length
from deepcritic.grpo.trainer import build_trainer
from deepcritic.preemption import PreemptionCallback, raise_if_preempted
from deepcritic.runtime import run_dir

log = logging.getLogger(__name__)


def main(cfg: GRPORecipeConfig, callbacks: Sequence[Any] = ()) -> dict:
    """Train; returns the final metrics. ``callbacks``: extra ``TrainerCallback``s (when called from Python)."""
    out = Path(cfg.train.output_dir) if cfg.train.output_dir else run_dir()
    cuda, bf16_ok = finetune.hardware()
    engine.prepare_environment(cfg.rollout, cuda)
    template = load_template(cfg.model.template)
    records, data_metrics = _records(cfg, out)
    if cfg.model.from_scratch:
        cfg = dataclasses.replace(cfg, model=_save_tiny_model(cfg.model, records, template, out))
    if cfg.deepspeed.stage or cfg.deepspeed.config_file:
        training.ensure_process_group_env()
    precision = training.resolve_precision(cfg.model.dtype, cuda, bf16_ok)
    args = to_grpo_config(cfg, training.world_size(), output_dir=str(out), cuda=cuda, bf16_supported=bf16_ok,
                          report_to=tracking.report_to(cfg.logger), run_name=cfg.logger.name)
    out = training.same_dir_on_all_ranks(out)
    args.output_dir = str(out)
    if cfg.grpo.dynamic_sampling:
        check_groups_per_process(args.per_device_train_batch_size, args.steps_per_generation, cfg.sampling.n)

    checkpoint = training.resolve_resume(cfg.train.resume, out)
    model, tokenizer = finetune.model_and_tokenizer(cfg.model, precision, None, None)
    dataset, length_metrics = _dataset(records, template, tokenizer, cfg.grpo.max_prompt_length)
    data_metrics.update(length_metrics)
    if tracking.is_main_process():
        log.info("GRPO on %d records (%s), %d samples each, rollouts: %s%s", len(dataset), cfg.data.source,
                 cfg.sampling.n, _rollout_name(cfg), f", resuming from {checkpoint}" if checkpoint else "")

    run = tracking.start_run(cfg.logger, finetune.config_dict(cfg), out, default_name=f"grpo-{out.name}")
    tracking.log_summary(run, data_metrics)
    preempt = PreemptionCallback()  # SIGTERM: checkpoint at the end of the step, then exit 143
    trainer = build_trainer(model, tokenizer, args, dataset, cfg, finetune.peft_config(cfg.train.lora),
                            [*callbacks, preempt])
    result = trainer.train(resume_from_checkpoint=checkpoint)
    raise_if_preempted(preempt, out, cleanup=lambda: tracking.finish(run))
    sync_metrics = engine.check_sync(trainer) if cfg.grpo.verify_engine_sync else {}

    final = out / "final"
    finetune.save_final(trainer, final)
    metrics = {**finetune.final_metrics(result, trainer), **_last_logged(trainer), **data_metrics, **sync_metrics}
    if trainer.is_world_process_zero():
        trainer.save_state()
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        _write_model_card(final, cfg, metrics)
        log.info("final model: %s", final)
    tracking.log_summary(run, metrics)
    tracking.finish(run)
    return {**metrics, "final_model": str(final)}


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


def _save_tiny_model(model_cfg: ModelConfig, records: list[StepRecord], template: str, out: Path) -> ModelConfig:
    """Build the tiny random model once, save it under <out>/initial and use it from there (vLLM loads paths)."""
    if training.world_size() > 1:
        raise DeepcriticError("model.from_scratch=true runs in one process: build the tiny model with "
                              "`deepcritic sft` first and pass model.name_or_path=<its final/ directory>")
    path = out / "initial"
    if not (path / "config.json").is_file():
        from deepcritic.modeling import build_tiny

        texts = [m["content"] for r in records for m in grpo_row(r, template)["prompt"]]
        model, tokenizer = build_tiny(model_cfg.tiny, texts)
        finetune.stop_at_end_of_turn(model, tokenizer)
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
    return dataclasses.replace(model_cfg, name_or_path=str(path), tokenizer=None, from_scratch=False)


def _dataset(records: list[StepRecord], template: str, tokenizer: Any, max_prompt_length: int | None):
    """Critic-prompt rows as a ``datasets.Dataset``; prompts over ``max_prompt_length`` tokens are dropped."""
    import datasets

    rows = [grpo_row(r, template) for r in records]
    lengths = [prompt_length(tokenizer, row["prompt"]) for row in rows]
    keep, drop = split_by_length(lengths, max_prompt_length)
    if drop:
        log.warning("%d of %d prompts are longer than grpo.max_prompt_length=%s tokens and were dropped",
                    len(drop), len(rows), max_prompt_length)
    if not keep:
        raise DeepcriticError("no training record is left (all prompts too long?): raise grpo.max_prompt_length")
    metrics = {"data/prompts": len(keep), "data/prompts_too_long": len(drop),
               "data/max_prompt_tokens": max(lengths[i] for i in keep)}
    return datasets.Dataset.from_list([rows[i] for i in keep]), metrics


def _rollout_name(cfg: GRPORecipeConfig) -> str:
    r = cfg.rollout
    if r.backend != "vllm":
        return "transformers generate"
    if r.vllm_mode == "server":
        return f"vLLM server {r.server.base_url or f'{r.server.host}:{r.server.port}'}"
    return f"vLLM colocated (tensor parallel {r.vllm.tensor_parallel_size})"


def _last_logged(trainer: Any) -> dict[str, Any]:
    """The last logged value of the headline metrics (for metrics.json and the model card)."""
    keys = ("reward", "critic/parse_rate", "critic/truncation_rate", "critic/acc_error", "critic/acc_correct",
            "critic/f1", "completions/mean_length", "frac_reward_zero_std")
    out: dict[str, Any] = {}
    for entry in trainer.state.log_history:
        out.update({f"last/{k}": entry[k] for k in keys if k in entry})
    return out


def _write_model_card(path: Path, cfg: GRPORecipeConfig, metrics: dict[str, Any]) -> None:
    from omegaconf import OmegaConf

    rows = [f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items()]
    text = "\n".join([
        "---", 'library_name: "transformers"', 'pipeline_tag: "text-generation"', 'tags: ["deepcritic", "grpo"]',
        "---", "", "# deepcritic GRPO critic", "",
        "Trained with `deepcritic grpo` (TRL GRPOTrainer; reward 1.0 when the final judgment names the first "
        "wrong step of the solution, or says there is none, as labelled; else 0.0).", "",
        f"- start model: `{cfg.model.name_or_path}`", f"- data: `{cfg.data.source}` {cfg.data.path or ''}",
        f"- samples per prompt: {cfg.sampling.n}, temperature {cfg.sampling.temperature}, "
        f"max completion {cfg.sampling.max_new_tokens} tokens", "",
        "## Final metrics", "", "| metric | value |", "|---|---|", *rows, "",
        "## Config", "", "```yaml", OmegaConf.to_yaml(OmegaConf.structured(cfg)).rstrip(), "```", "",
    ])
    (path / "README.md").write_text(text, encoding="utf-8")
