"""Training sections shared by ``sft``, ``cft`` and ``grpo``: schedule and batch, LoRA, DeepSpeed, tracking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from deepcritic.config.base import cross_check, key_of, option
from deepcritic.errors import Problem

ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class LoraConfig:
    """Optional LoRA adapters (peft). Off by default: full fine-tuning."""

    enabled: bool = option(False, "train LoRA adapters instead of every weight")
    r: int = option(16, "adapter rank", ge=1, fix="use a positive rank, e.g. 16")
    alpha: int = option(32, "adapter scaling")
    dropout: float = option(0.05, "adapter dropout")
    target_modules: list[str] = option(ALL_LINEAR, "modules to adapt, or [all-linear]")


@cross_check(LoraConfig)
def _lora_targets(lora: LoraConfig, key: str) -> list[Problem]:
    if not lora.target_modules:
        return [
            Problem(
                key_of(key, "target_modules"),
                list(lora.target_modules),
                "name the modules to adapt, e.g. [q_proj,v_proj] or [all-linear]",
            )
        ]
    return []


@dataclass
class TrainConfig:
    """The optimisation every trainer shares (TRL ``SFTTrainer`` for sft / cft, ``GRPOTrainer`` for grpo).

    The global batch is fixed by the experiment: gradient accumulation is derived as
    ``global_batch_size / (per_device_batch_size * world size)`` so that it holds on any GPU count (for
    grpo the batch counts completions: prompts x ``sampling.n``).
    """

    learning_rate: float = option(1e-5, "peak learning rate", gt=0, fix="use a positive learning rate, e.g. 1e-5")
    epochs: float = option(3.0, "passes over the data (unless max_steps > 0)")
    max_steps: int = option(-1, "> 0: stop after this many optimizer steps (overrides epochs)")
    scheduler: str = option("cosine", "any transformers SchedulerType: cosine, linear, constant_with_warmup, ...")
    warmup_ratio: float = option(0.1, "share of the steps spent warming up", ge=0, lt=1)
    weight_decay: float = option(0.0, "AdamW weight decay")
    max_grad_norm: float = option(1.0, "gradient clipping")
    global_batch_size: Optional[int] = option(
        64, "sequences per optimizer step over all processes; null: use gradient_accumulation_steps as given"
    )
    per_device_batch_size: int = option(1, "sequences per process per forward pass", ge=1)
    gradient_accumulation_steps: int = option(1, "only used when global_batch_size is null")
    gradient_checkpointing: bool = option(True, "recompute activations in the backward pass (less memory)")
    logging_steps: int = option(10, "log every N optimizer steps", ge=1)
    save_steps: int = option(500, "checkpoint every N optimizer steps", ge=1)
    save_total_limit: Optional[int] = option(
        3, "keep the newest N checkpoints; null: all", ge=1, fix="use at least 1, or null to keep all"
    )
    resume: str = option("auto", "auto (newest checkpoint in output_dir, if any) | never | <checkpoint dir>")
    nonfinite: str = option(
        "stop",
        "a step whose gradients (or, under DeepSpeed, logged loss / grad norm) are not finite: stop (the update is "
        "not applied; the run ends with a message naming the last checkpoint) or skip (the update is not applied, "
        "training goes on; not under DeepSpeed)",
        choices=("stop", "skip"),
    )
    output_dir: Optional[str] = option(None, "default: the run directory")
    lora: LoraConfig = option(LoraConfig, "LoRA adapters", when=lambda t: t.lora.enabled)


@cross_check(TrainConfig)
def _train_schedule(t: TrainConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if t.max_steps <= 0 and t.epochs <= 0:
        out.append(Problem(key_of(key, "epochs"), t.epochs, "use a positive number of epochs, or set max_steps > 0"))
    if t.global_batch_size is not None and t.global_batch_size < max(t.per_device_batch_size, 1):
        out.append(
            Problem(
                key_of(key, "global_batch_size"),
                t.global_batch_size,
                f"must be at least per_device_batch_size ({t.per_device_batch_size}), or null",
            )
        )
    if t.global_batch_size is None and t.gradient_accumulation_steps < 1:
        out.append(Problem(key_of(key, "gradient_accumulation_steps"), t.gradient_accumulation_steps, "use at least 1"))
    if not t.resume:
        out.append(Problem(key_of(key, "resume"), t.resume, "use auto, never, or a checkpoint directory"))
    return out


@dataclass
class SFTTrainConfig(TrainConfig):
    """``train`` of ``sft`` and ``cft``: the shared optimisation plus what only supervised training has."""

    max_length: int = option(
        16384,
        "tokens per sequence (prompt + target); longer ones are counted and reported",
        ge=16,
        fix="use at least 16 tokens (the DeepCritic SFT uses 16384)",
    )
    drop_overlong: bool = option(False, "true: drop longer examples; false: keep them, truncated (with a warning)")
    packing: bool = option(False, "pack several examples into one max_length sequence (TRL best-fit decreasing)")
    group_by_length: bool = option(
        False,
        "batch examples of similar length together (transformers' LengthGroupedSampler): less padding, so fewer "
        "tokens per step, on any attention kernel; the batches are still drawn at random",
    )
    dataset_num_proc: Optional[int] = option(None, "processes for tokenization")


@dataclass
class DeepSpeedConfig:
    """DeepSpeed ZeRO through accelerate. ``stage`` 0 means plain DDP / single process."""

    stage: int = option(0, "0 | 2 | 3", choices=(0, 2, 3), fix="use 0 (off), 2 or 3")
    offload_optimizer: bool = option(False, "optimizer states in CPU memory (ZeRO-Offload)")
    offload_params: bool = option(False, "parameters in CPU memory (ZeRO-3 only)")
    config_file: Optional[str] = option(None, "a full DeepSpeed JSON; overrides the fields above")


@cross_check(DeepSpeedConfig)
def _offload_needs_zero(ds: DeepSpeedConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if ds.offload_params and ds.stage != 3:
        out.append(Problem(key_of(key, "offload_params"), True, "parameter offload needs stage=3"))
    if (ds.offload_optimizer or ds.offload_params) and ds.stage == 0:
        out.append(Problem(key_of(key, "offload_optimizer"), ds.offload_optimizer, "offload needs stage=2 or 3"))
    return out


@dataclass
class LoggerConfig:
    """Experiment tracking: wandb (``backend``, ``mode``: online | offline | disabled; an unreachable server never
    fails a run) and, for training runs, TensorBoard, MLflow and Trackio beside it (``logger=[wandb_offline,
    tensorboard]``: each option file turns on its own tracker), all logging the same metric names."""

    backend: str = option("none", "wandb | none", choices=("wandb", "none"), fix="use wandb or none")
    mode: str = option(
        "offline",
        "online | offline | disabled",
        choices=("online", "offline", "disabled"),
        fix="use online, offline or disabled",
    )
    project: str = option("deepcritic", "wandb project (also the MLflow experiment and the Trackio project)")
    entity: Optional[str] = option(None, "wandb entity")
    name: Optional[str] = option(None, "run name (every tracker); default: <recipe>-<run dir name>")
    group: Optional[str] = option(None, "wandb group")
    tags: list[str] = option([], "wandb tags")
    resume: str = option(
        "allow",
        "allow: a rerun in the same run dir continues the wandb run whose id <run dir>/wandb/run-id holds (one "
        "dashboard across preemptions); never: every run starts a new wandb run",
        choices=("allow", "never"),
        fix="use allow or never",
    )
    tensorboard: bool = option(False, "training runs: TensorBoard event files under <run dir>/tensorboard/")
    mlflow: bool = option(
        False, "training runs: MLflow (needs mlflow; MLFLOW_TRACKING_URI, else <run dir>/mlruns; experiment: project)"
    )
    trackio: bool = option(False, "training runs: Trackio (needs trackio; local unless TRACKIO_SPACE_ID; project)")
