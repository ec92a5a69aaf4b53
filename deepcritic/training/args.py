"""From our config to the trainers' arguments: the pure conversions behind ``sft``, ``cft`` and ``grpo``.

- :func:`gradient_accumulation`: keep the experiment's global batch on any number of processes.
- :func:`deepspeed_config`: the DeepSpeed JSON (as a dict, ``"auto"`` values filled by transformers)
  built from the ``deepspeed`` config group, the single source of the ZeRO settings. It is handed to
  the trainer arguments, so ``torchrun``, ``accelerate launch`` and the ``deepspeed`` launcher all work.
- :func:`trainer_kwargs`: what every trainer shares (schedule, batch, precision, DeepSpeed, checkpoints,
  logging); :func:`sft_kwargs` adds what only ``trl.SFTConfig`` has (``deepcritic.grpo.args`` adds GRPO's).
- :func:`peft_config`: the LoRA section as a peft config.

Table-tested in tests/unit/test_training.py.
"""

from __future__ import annotations

from typing import Any

from deepcritic.config import DeepSpeedConfig, LoraConfig, SFTTrainConfig, TrainConfig
from deepcritic.errors import DeepcriticError


def gradient_accumulation(global_batch: int, per_device: int, world: int) -> int:
    """Accumulation steps so that ``per_device * steps * world == global_batch``; raises if impossible."""
    if per_device < 1 or world < 1:
        raise DeepcriticError(f"per-device batch ({per_device}) and process count ({world}) must be at least 1")
    per_step = per_device * world
    if global_batch % per_step:
        raise DeepcriticError(
            f"train.global_batch_size={global_batch} is not divisible by per_device_batch_size x processes "
            f"= {per_device} x {world} = {per_step}: change train.per_device_batch_size or the number of "
            f"processes so that the global batch is a multiple of their product"
        )
    return global_batch // per_step


def accumulation_steps(train: TrainConfig, world: int) -> int:
    """The gradient accumulation for ``train`` on ``world`` processes (explicit when global_batch_size is null)."""
    if train.global_batch_size is None:
        return train.gradient_accumulation_steps
    return gradient_accumulation(train.global_batch_size, train.per_device_batch_size, world)


def deepspeed_config(ds: DeepSpeedConfig) -> dict[str, Any] | str | None:
    """The DeepSpeed config for the trainer: None (off), the user's JSON path, or a dict with ``"auto"`` values.

    ``"auto"`` entries are filled by transformers from the trainer arguments (batch sizes, accumulation,
    clipping, precision, learning rate, bucket sizes from the model's hidden size). ``train_batch_size``
    is left out on purpose: DeepSpeed derives it from micro batch x accumulation x world size.
    """
    if ds.config_file:
        return ds.config_file
    if ds.stage == 0:
        return None
    zero: dict[str, Any] = {
        "stage": ds.stage,
        "overlap_comm": True,
        "contiguous_gradients": True,
        "reduce_bucket_size": "auto",
    }
    if ds.stage == 2:
        zero.update({"allgather_partitions": True, "allgather_bucket_size": 2e8, "reduce_scatter": True})
    if ds.stage == 3:
        zero.update(
            {
                "stage3_prefetch_bucket_size": "auto",
                "stage3_param_persistence_threshold": "auto",
                "stage3_max_live_parameters": 1e9,
                "stage3_max_reuse_distance": 1e9,
                # the final save writes a normal Hugging Face checkpoint, gathered from all ranks
                "stage3_gather_16bit_weights_on_model_save": True,
            }
        )
    if ds.offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    if ds.offload_params:
        zero["offload_param"] = {"device": "cpu", "pin_memory": True}
    config: dict[str, Any] = {
        "zero_optimization": zero,
        "bf16": {"enabled": "auto"},
        "fp16": {"enabled": "auto"},
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "steps_per_print": 1_000_000,  # the trainer logs; keep DeepSpeed quiet
        "wall_clock_breakdown": False,
    }
    if ds.offload_optimizer:
        # ZeRO-Offload needs DeepSpeed's own CPU Adam; the learning-rate schedule stays the trainer's.
        config["optimizer"] = {
            "type": "AdamW",
            "params": {"lr": "auto", "betas": "auto", "eps": "auto", "weight_decay": "auto"},
        }
    return config


def trainer_kwargs(
    cfg: Any,
    world: int,
    *,
    output_dir: str,
    precision: str,
    cuda: bool,
    report_to: list[str] | None = None,
    run_name: str | None = None,
    project: str | None = None,
) -> dict[str, Any]:
    """The arguments every trainer shares, from a recipe config (``train``, ``deepspeed``, ``seed``).

    ``precision`` is the resolved one (``deepcritic.modeling.resolve_precision``). On a CPU-only machine with
    several processes the trainer runs with ``use_cpu`` (gloo); a single CPU process needs no flag.
    """
    t: TrainConfig = cfg.train
    return {
        "output_dir": output_dir,
        "learning_rate": t.learning_rate,
        "num_train_epochs": t.epochs,
        "max_steps": t.max_steps,
        "lr_scheduler_type": t.scheduler,
        "warmup_steps": t.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        "weight_decay": t.weight_decay,
        "max_grad_norm": t.max_grad_norm,
        "per_device_train_batch_size": t.per_device_batch_size,
        "gradient_accumulation_steps": accumulation_steps(t, world),
        "gradient_checkpointing": t.gradient_checkpointing,
        "gradient_checkpointing_kwargs": {"use_reentrant": False} if t.gradient_checkpointing else None,
        "bf16": precision == "bf16",
        "fp16": precision == "fp16",
        "use_cpu": not cuda and world > 1,
        "logging_steps": t.logging_steps,
        "logging_first_step": True,
        "save_strategy": "steps",
        "save_steps": t.save_steps,
        "save_total_limit": t.save_total_limit,
        "seed": cfg.seed,
        "data_seed": cfg.seed,
        "deepspeed": deepspeed_config(cfg.deepspeed),
        "report_to": report_to or "none",
        "run_name": run_name,
        **({"project": project} if project else {}),  # the Trackio project (transformers' name for it)
    }


def sft_kwargs(t: SFTTrainConfig) -> dict[str, Any]:
    """What only ``trl.SFTConfig`` has. Loss is on the completion (the assistant target) only: the examples are
    prompt-completion chats and ``completion_only_loss=True``."""
    return {
        "max_length": t.max_length,
        "packing": t.packing,
        "train_sampling_strategy": "group_by_length" if t.group_by_length else "random",
        "completion_only_loss": True,
        "assistant_only_loss": False,
        "dataset_num_proc": t.dataset_num_proc,
    }


def peft_config(lora: LoraConfig):
    """A peft LoraConfig for causal-LM training, or None when LoRA is off."""
    if not lora.enabled:
        return None
    from peft import LoraConfig as PeftLoraConfig

    modules = list(lora.target_modules)
    return PeftLoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        task_type="CAUSAL_LM",
        target_modules="all-linear" if modules == ["all-linear"] else modules,
    )
