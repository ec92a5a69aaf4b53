"""``deepcritic cft``: Critique Fine-Tuning (arXiv 2501.17703): question + candidate solution -> critique.

The data is TIGER-Lab/WebInstruct-CFT (configs WebInstruct-CFT-4K / -50K / -600K; rows ``instruction``,
``input``, ``output``) or a local json/jsonl/parquet file of the same form (``chat.path``). The user turn
is the instruction and the input (question and candidate solution); the target is the critique, which
ends with its right/wrong conclusion. Same trainer as ``sft``; reads top to bottom like it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from deepcritic import finetune, tracking, training
from deepcritic.chat_data import apply_length_limit, example_texts, load_examples
from deepcritic.config import CFTRecipeConfig
from deepcritic.runtime import run_dir

log = logging.getLogger(__name__)


def main(cfg: CFTRecipeConfig) -> dict:
    out = Path(cfg.train.output_dir) if cfg.train.output_dir else run_dir()
    if cfg.deepspeed.stage or cfg.deepspeed.config_file:
        training.ensure_process_group_env()
    cuda, bf16_ok = finetune.hardware()
    precision = training.resolve_precision(cfg.model.dtype, cuda, bf16_ok)
    args = training.to_trl_args(cfg, training.world_size(), output_dir=str(out), cuda=cuda, bf16_supported=bf16_ok,
                                report_to=tracking.report_to(cfg.logger), run_name=cfg.logger.name)
    out = training.same_dir_on_all_ranks(out)
    args.output_dir = str(out)

    examples, source = load_examples(cfg.chat)
    checkpoint = training.resolve_resume(cfg.train.resume, out)
    model, tokenizer = finetune.model_and_tokenizer(cfg.model, precision, example_texts(examples), checkpoint)

    examples, lengths = apply_length_limit(examples, tokenizer, cfg.train.max_length, cfg.train.drop_overlong,
                                           cfg.train.dataset_num_proc)
    if tracking.is_main_process():
        (log.warning if lengths.overlong else log.info)(lengths.message())
        log.info("training on %d CFT examples from %s%s", len(examples), source,
                 f", resuming from {checkpoint}" if checkpoint else "")

    run = tracking.start_run(cfg.logger, finetune.config_dict(cfg), out, default_name=f"cft-{out.name}")
    tracking.log_summary(run, lengths.metrics())
    trainer = finetune.build_trainer(model, tokenizer, args, examples, cfg.train.lora)
    result = trainer.train(resume_from_checkpoint=checkpoint)

    final = out / "final"
    finetune.save_final(trainer, final)
    metrics = {**finetune.final_metrics(result, trainer), **lengths.metrics()}
    if trainer.is_world_process_zero():
        trainer.save_state()
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        finetune.write_model_card(final, recipe="cft", cfg=cfg, base_model=finetune.base_model_name(cfg.model),
                                  data=source, metrics=metrics, length_report=lengths)
        log.info("final model: %s", final)
    tracking.log_summary(run, metrics)
    tracking.finish(run)
    return {**metrics, "final_model": str(final)}
