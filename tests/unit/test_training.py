"""Config -> TRL conversions: gradient accumulation, DeepSpeed JSON, precision, trainer kwargs, resume."""

from __future__ import annotations

import dataclasses

import pytest

from deepcritic.config import DeepSpeedConfig, ModelConfig, SFTRecipeConfig, SFTTrainConfig, TrainConfig
from deepcritic.errors import DeepcriticError
from deepcritic.modeling import resolve_precision
from deepcritic.training.args import (
    accumulation_steps,
    deepspeed_config,
    gradient_accumulation,
    sft_kwargs,
    trainer_kwargs,
)
from deepcritic.training.checkpoints import newest_checkpoint, resolve_resume
from deepcritic.training.sft import SFTStage

ACCUM = [
    # DeepCritic SFT: global 64, 1 per GPU, 8 GPUs
    (64, 1, 8, 8),
    # same experiment on 4 GPUs: twice the accumulation
    (64, 1, 4, 16),
    # CFT: global 512, 4 per GPU, 8 GPUs
    (512, 4, 8, 16),
    # CFT on 4 GPUs
    (512, 4, 4, 32),
    # one process holds the whole batch
    (8, 8, 1, 1),
    # two CPU processes
    (8, 2, 2, 2),
]


@pytest.mark.parametrize("global_batch, per_device, world, expected", ACCUM)
def test_gradient_accumulation_keeps_global_batch(global_batch, per_device, world, expected):
    steps = gradient_accumulation(global_batch, per_device, world)
    assert steps == expected and per_device * steps * world == global_batch


NOT_DIVISIBLE = [
    # 64 is not a multiple of 3 GPUs
    (64, 1, 3),
    # 64 is not a multiple of 6 x 4
    (64, 6, 4),
    # per-device batch larger than the global batch
    (4, 8, 1),
]


@pytest.mark.parametrize("global_batch, per_device, world", NOT_DIVISIBLE)
def test_gradient_accumulation_rejects_what_cannot_be_kept(global_batch, per_device, world):
    with pytest.raises(DeepcriticError, match=f"global_batch_size={global_batch} is not divisible"):
        gradient_accumulation(global_batch, per_device, world)


def test_accumulation_steps_explicit_when_global_batch_is_null():
    train = TrainConfig(global_batch_size=None, gradient_accumulation_steps=5)
    assert accumulation_steps(train, 8) == 5


DS = [
    # off
    (DeepSpeedConfig(stage=0), None),
    # a user JSON wins over the fields
    (DeepSpeedConfig(stage=3, config_file="my_ds.json"), "my_ds.json"),
]


@pytest.mark.parametrize("ds, expected", DS)
def test_deepspeed_config_off_or_file(ds, expected):
    assert deepspeed_config(ds) == expected


STAGES = [
    # ZeRO-2: no optimizer block, no offload, no stage-3 keys
    (DeepSpeedConfig(stage=2), 2, False, False),
    # ZeRO-3: gathers 16-bit weights on save
    (DeepSpeedConfig(stage=3), 3, False, False),
    # ZeRO-3 with both offloads: DeepSpeed's own (CPU) AdamW
    (DeepSpeedConfig(stage=3, offload_optimizer=True, offload_params=True), 3, True, True),
    # ZeRO-2 with optimizer offload only
    (DeepSpeedConfig(stage=2, offload_optimizer=True), 2, True, False),
]


@pytest.mark.parametrize("ds, stage, offload_opt, offload_param", STAGES)
def test_deepspeed_config_dict(ds, stage, offload_opt, offload_param):
    cfg = deepspeed_config(ds)
    zero = cfg["zero_optimization"]
    assert zero["stage"] == stage
    assert ("offload_optimizer" in zero) == offload_opt and ("optimizer" in cfg) == offload_opt
    assert ("offload_param" in zero) == offload_param
    assert zero.get("stage3_gather_16bit_weights_on_model_save", False) == (stage == 3)
    # batch sizes, precision and clipping are the trainer's ("auto"); train_batch_size is derived by DeepSpeed
    assert cfg["train_micro_batch_size_per_gpu"] == cfg["gradient_accumulation_steps"] == "auto"
    assert cfg["bf16"] == {"enabled": "auto"} and "train_batch_size" not in cfg


PRECISION = [
    # auto on a bf16 GPU
    ("auto", True, True, "bf16"),
    # auto on an old GPU without bf16
    ("auto", True, False, "fp32"),
    # auto on CPU
    ("auto", False, False, "fp32"),
    # explicit choices are kept
    ("fp16", True, True, "fp16"),
    ("bf16", False, False, "bf16"),
]


@pytest.mark.parametrize("dtype, cuda, bf16_ok, expected", PRECISION)
def test_resolve_precision(dtype, cuda, bf16_ok, expected):
    assert resolve_precision(dtype, cuda, bf16_ok) == expected


def _cfg(**train) -> SFTRecipeConfig:
    return SFTRecipeConfig(train=dataclasses.replace(SFTTrainConfig(), **train))


def trl_kwargs(cfg: SFTRecipeConfig, world: int, output_dir: str, cuda: bool, **kwargs) -> dict:
    """What the SFT stage hands to ``trl.SFTConfig``: the shared trainer arguments plus SFT's own."""
    precision = resolve_precision(cfg.model.dtype, cuda)
    return {
        **trainer_kwargs(cfg, world, output_dir=output_dir, precision=precision, cuda=cuda, **kwargs),
        **sft_kwargs(cfg.train),
    }


KWARGS = [
    # GPU, 8 processes: bf16, accumulation from the global batch, completion-only loss
    (
        _cfg(),
        8,
        True,
        {
            "bf16": True,
            "fp16": False,
            "gradient_accumulation_steps": 8,
            "use_cpu": False,
            "completion_only_loss": True,
            "assistant_only_loss": False,
        },
    ),
    # CPU, one process: fp32 and no use_cpu flag (it would disable DeepSpeed)
    (
        _cfg(global_batch_size=8, per_device_batch_size=8),
        1,
        False,
        {"bf16": False, "fp16": False, "gradient_accumulation_steps": 1, "use_cpu": False},
    ),
    # CPU, two processes (gloo)
    (_cfg(global_batch_size=8, per_device_batch_size=2), 2, False, {"use_cpu": True, "gradient_accumulation_steps": 2}),
    # schedule, warmup as a ratio, lengths, checkpointing
    (
        _cfg(scheduler="linear", warmup_ratio=0.05, max_length=2048, save_steps=7, save_total_limit=None),
        1,
        True,
        {
            "lr_scheduler_type": "linear",
            "warmup_steps": 0.05,
            "max_length": 2048,
            "save_steps": 7,
            "save_total_limit": None,
            "save_strategy": "steps",
            "logging_first_step": True,
        },
    ),
    # max_steps and epochs pass through; packing on
    (
        _cfg(max_steps=12, epochs=2.0, packing=True),
        4,
        True,
        {"max_steps": 12, "num_train_epochs": 2.0, "packing": True, "gradient_accumulation_steps": 16},
    ),
    # batches drawn at random by default; grouped by length on request (less padding)
    (_cfg(), 1, False, {"train_sampling_strategy": "random"}),
    (_cfg(group_by_length=True), 1, False, {"train_sampling_strategy": "group_by_length"}),
]


@pytest.mark.parametrize("cfg, world, cuda, expected", KWARGS)
def test_trl_kwargs(cfg, world, cuda, expected):
    kwargs = trl_kwargs(cfg, world, output_dir="out", cuda=cuda)
    assert {k: kwargs[k] for k in expected} == expected
    assert kwargs["seed"] == kwargs["data_seed"] == cfg.seed


def test_trl_kwargs_report_to_and_deepspeed():
    cfg = _cfg()
    cfg.deepspeed = DeepSpeedConfig(stage=3)
    kwargs = trl_kwargs(cfg, 8, output_dir="out", cuda=True, report_to=["wandb"], run_name="r1")
    assert kwargs["report_to"] == ["wandb"] and kwargs["run_name"] == "r1"
    assert kwargs["deepspeed"]["zero_optimization"]["stage"] == 3
    assert trl_kwargs(cfg, 8, output_dir="out", cuda=True)["report_to"] == "none"


def test_to_trl_args_builds_a_trl_config(tmp_path, monkeypatch):
    for var in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):  # a single process, whatever other tests left behind
        monkeypatch.delenv(var, raising=False)
    cfg = _cfg(global_batch_size=4, per_device_batch_size=2, max_length=256)
    cfg.model = ModelConfig(dtype="fp32")
    args = SFTStage("sft", cfg, lambda out: (None, "")).trainer_args(
        trainer_kwargs(cfg, 1, output_dir=str(tmp_path), precision="fp32", cuda=False)
    )
    assert type(args).__name__ == "SFTConfig" and args.bf16 is False
    assert args.gradient_accumulation_steps == 2 and args.max_length == 256 and args.completion_only_loss is True


def _checkpoints(root, *names):
    for name in names:
        (root / name).mkdir()
        (root / name / "trainer_state.json").write_text("{}")  # what makes a checkpoint complete
    return root


NEWEST = [
    # highest step wins, numerically (10 > 9)
    (["checkpoint-9", "checkpoint-10", "checkpoint-2"], "checkpoint-10"),
    # non-checkpoint dirs are ignored
    (["final", "checkpoint-3", "checkpoint-x"], "checkpoint-3"),
    # nothing to resume
    (["final"], None),
]


@pytest.mark.parametrize("names, expected", NEWEST)
def test_newest_checkpoint(tmp_path, names, expected):
    _checkpoints(tmp_path, *names)
    found = newest_checkpoint(tmp_path)
    assert (found.name if found else None) == expected


def test_resolve_resume(tmp_path):
    _checkpoints(tmp_path, "checkpoint-5", "checkpoint-20")
    # auto: newest in the output dir
    assert resolve_resume("auto", tmp_path) == str(tmp_path / "checkpoint-20")
    # never: fresh start
    assert resolve_resume("never", tmp_path) is None
    # a path: that checkpoint
    assert resolve_resume(str(tmp_path / "checkpoint-5"), tmp_path) == str(tmp_path / "checkpoint-5")
    # auto in an empty or missing dir: fresh start
    assert resolve_resume("auto", tmp_path / "nothing") is None
    # a missing path is a user error
    with pytest.raises(DeepcriticError, match="no such checkpoint directory"):
        resolve_resume(str(tmp_path / "checkpoint-99"), tmp_path)
