"""From our config to TRL's: the pure conversions behind ``sft`` / ``cft`` (table-tested in tests/unit).

- :func:`gradient_accumulation`: keep the experiment's global batch on any number of processes.
- :func:`deepspeed_config`: the DeepSpeed JSON (as a dict, ``"auto"`` values filled by transformers)
  built from the ``deepspeed`` config group, the single source of the ZeRO settings. It is handed to
  the trainer arguments, so ``torchrun``, ``accelerate launch`` and the ``deepspeed`` launcher all work.
- :func:`resolve_precision`: ``auto`` -> bf16 on a CUDA GPU that supports it, fp32 otherwise.
- :func:`trl_kwargs` / :func:`to_trl_args`: the ``trl.SFTConfig`` for a recipe config.
- :func:`resolve_resume`: ``train.resume`` (auto | never | path) -> the checkpoint to resume from.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path
from typing import Any

from deepcritic.config import DeepSpeedConfig, TrainConfig
from deepcritic.errors import DeepcriticError

log = logging.getLogger(__name__)

PRECISIONS = ("bf16", "fp16", "fp32")


def world_size() -> int:
    """Number of training processes, from the launcher's environment (1 when run directly)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


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
        zero.update({
            "stage3_prefetch_bucket_size": "auto",
            "stage3_param_persistence_threshold": "auto",
            "stage3_max_live_parameters": 1e9,
            "stage3_max_reuse_distance": 1e9,
            # the final save writes a normal Hugging Face checkpoint, gathered from all ranks
            "stage3_gather_16bit_weights_on_model_save": True,
        })
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


def resolve_precision(dtype: str, cuda: bool, bf16_supported: bool = True) -> str:
    """``model.dtype`` -> bf16 | fp16 | fp32. ``auto``: bf16 on a CUDA GPU with bf16 support, else fp32."""
    if dtype == "auto":
        return "bf16" if cuda and bf16_supported else "fp32"
    if dtype not in PRECISIONS:
        raise DeepcriticError(f"model.dtype = {dtype!r}: use auto, bf16, fp16 or fp32")
    return dtype


def trl_kwargs(cfg: Any, world: int, *, output_dir: str, cuda: bool, bf16_supported: bool = True,
               report_to: list[str] | None = None, run_name: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``trl.SFTConfig`` from a recipe config (``model``, ``train``, ``deepspeed``, ``seed``).

    Loss is on the completion (assistant target) only: the examples are prompt-completion chats and
    ``completion_only_loss=True``. On a CPU-only machine with several processes the trainer runs with
    ``use_cpu`` (gloo); a single CPU process needs no flag.
    """
    t: TrainConfig = cfg.train
    precision = resolve_precision(cfg.model.dtype, cuda, bf16_supported)
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
        "max_length": t.max_length,
        "packing": t.packing,
        "completion_only_loss": True,
        "assistant_only_loss": False,
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
        "dataset_num_proc": t.dataset_num_proc,
    }


def to_trl_args(cfg: Any, world: int, **kwargs: Any):
    """``trl.SFTConfig`` for ``cfg`` on ``world`` processes (see :func:`trl_kwargs` for ``kwargs``).

    Build it before loading the model: with ZeRO-3 in the arguments, transformers then loads the
    weights already partitioned across processes.
    """
    from trl import SFTConfig

    return SFTConfig(**trl_kwargs(cfg, world, **kwargs))


def resolve_resume(resume: str, output_dir: str | Path) -> str | None:
    """``train.resume`` -> checkpoint directory to resume from, or None to start fresh.

    ``auto``: the newest ``checkpoint-<step>`` in ``output_dir`` if there is one; ``never``: None;
    anything else: that directory, which must exist.
    """
    if resume == "never":
        return None
    if resume == "auto":
        newest = newest_checkpoint(output_dir)
        return str(newest) if newest else None
    path = Path(resume)
    if not path.is_dir():
        raise DeepcriticError(f"train.resume = {resume!r}: no such checkpoint directory (use auto, never or a path)")
    return str(path)


def newest_checkpoint(output_dir: str | Path) -> Path | None:
    """The complete ``checkpoint-<step>`` directory with the highest step in ``output_dir``, or None.

    A checkpoint is complete once its ``trainer_state.json`` (which the trainer writes last) parses; one
    without it was cut off by a crash while being saved and is skipped with a warning.
    """
    root = Path(output_dir)
    if not root.is_dir():
        return None
    steps = [(int(p.name.split("-", 1)[1]), p) for p in root.glob("checkpoint-*")
             if p.is_dir() and p.name.split("-", 1)[1].isdigit()]
    for _, path in sorted(steps, reverse=True):
        if checkpoint_complete(path):
            return path
        log.warning("skipping %s: incomplete (no readable trainer_state.json; the run stopped while saving it)", path)
    return None


def checkpoint_complete(path: Path) -> bool:
    """Whether ``path`` holds a finished trainer checkpoint (its trainer_state.json, written last, parses)."""
    try:
        json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def ensure_process_group_env() -> None:
    """Let DeepSpeed run in a single process started without a launcher (``deepcritic sft deepspeed=zero3``).

    DeepSpeed always initialises torch.distributed; launchers export RANK / WORLD_SIZE / MASTER_ADDR,
    and without them it would look for MPI. Here they are set for a world of one on a free local port.
    """
    if "RANK" in os.environ or "OMPI_COMM_WORLD_RANK" in os.environ:
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    os.environ.update({"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})


def same_dir_on_all_ranks(path: Path) -> Path:
    """Rank 0's output directory, on every process.

    Under a launcher each process composes its own Hydra run directory from the clock, and two ranks
    may land on different seconds; checkpoints (ZeRO shards included) must all go to rank 0's.
    Call after the trainer arguments are built (they start the process group).
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        shared = [str(path)]
        dist.broadcast_object_list(shared, src=0)
        return Path(shared[0])
    return path
