"""grpo / filter configs: composition, validation, and the mapping onto trl.GRPOConfig."""

from __future__ import annotations

import pytest

from deepcritic.config import FilterConfig, GRPORecipeConfig, validate
from deepcritic.errors import DeepcriticError
from deepcritic.grpo.args import check_groups_per_process, grpo_kwargs, to_grpo_config
from deepcritic.training.args import trainer_kwargs
from tests.helpers.configs import compose


def _kwargs(overrides: list[str], world: int = 1) -> dict:
    """What GRPOConfig gets on a CPU: the shared trainer arguments plus GRPO's own."""
    cfg = compose("grpo", overrides)
    return {**trainer_kwargs(cfg, world, output_dir="/tmp/x", precision="fp32", cuda=False), **grpo_kwargs(cfg)}


def test_defaults_compose_and_validate():
    cfg = compose("grpo", [])
    assert isinstance(cfg, GRPORecipeConfig) and validate(cfg) == []
    assert cfg.rollout.backend == "vllm" and cfg.rollout.vllm_mode == "colocate"
    assert (cfg.reward.strict_format, cfg.reward.require_step_consistency, cfg.reward.length_penalty) == (
        True,
        False,
        0.0,
    )
    assert isinstance(compose("filter", []), FilterConfig)


# Every key GRPOConfig gets: the training half (training.args.trainer_kwargs), the GRPO half, and per rollout backend
# the vLLM keys; SFT-only keys (max_length, packing, completion_only_loss, dataset_num_proc) are never there.
TRAINER_KEYS = [
    "bf16",
    "data_seed",
    "deepspeed",
    "fp16",
    "gradient_accumulation_steps",
    "gradient_checkpointing",
    "gradient_checkpointing_kwargs",
    "learning_rate",
    "logging_first_step",
    "logging_steps",
    "lr_scheduler_type",
    "max_grad_norm",
    "max_steps",
    "num_train_epochs",
    "output_dir",
    "per_device_train_batch_size",
    "remove_unused_columns",
    "report_to",
    "run_name",
    "save_steps",
    "save_strategy",
    "save_total_limit",
    "seed",
    "use_cpu",
    "warmup_steps",
    "weight_decay",
]
GRPO_KEYS = [
    "beta",
    "epsilon",
    "epsilon_high",
    "log_completions",
    "loss_type",
    "mask_truncated_completions",
    "max_completion_length",
    "num_completions_to_print",
    "num_generations",
    "num_iterations",
    "scale_rewards",
    "temperature",
    "top_k",
    "top_p",
    "use_vllm",
]
VLLM_KEYS = {
    "colocate": [
        "vllm_enable_sleep_mode",
        "vllm_gpu_memory_utilization",
        "vllm_importance_sampling_correction",
        "vllm_max_model_length",
        "vllm_mode",
        "vllm_tensor_parallel_size",
    ],
    "server": [
        "vllm_group_port",
        "vllm_importance_sampling_correction",
        "vllm_mode",
        "vllm_server_base_url",
        "vllm_server_host",
        "vllm_server_port",
        "vllm_server_timeout",
    ],
    "hf": [],
}


def _backend(overrides: list[str]) -> str:
    return "server" if "rollout=server" in overrides else "hf" if "rollout=hf" in overrides else "colocate"


def test_default_kwargs_exactly():
    # conf/grpo.yaml on one CPU process: colocated vLLM, groups of 4, 8 completions per step
    assert _kwargs([]) == {
        "beta": 0.0,
        "bf16": False,
        "data_seed": 42,
        "deepspeed": None,
        "epsilon": 0.2,
        "epsilon_high": None,
        "fp16": False,
        "gradient_accumulation_steps": 1,
        "gradient_checkpointing": False,
        "gradient_checkpointing_kwargs": None,
        "learning_rate": 1e-05,
        "log_completions": True,
        "logging_first_step": True,
        "logging_steps": 1,
        "loss_type": "dapo",
        "lr_scheduler_type": "constant",
        "mask_truncated_completions": False,
        "max_completion_length": 128,
        "max_grad_norm": 1.0,
        "max_steps": 5,
        "num_completions_to_print": 1,
        "num_generations": 4,
        "num_iterations": 1,
        "num_train_epochs": 1.0,
        "output_dir": "/tmp/x",
        "per_device_train_batch_size": 8,
        "remove_unused_columns": False,
        "report_to": "none",
        "run_name": None,
        "save_steps": 50,
        "save_strategy": "steps",
        "save_total_limit": 2,
        "scale_rewards": "group",
        "seed": 42,
        "temperature": 1.0,
        "top_k": 0,
        "top_p": 1.0,
        "use_cpu": False,
        "use_vllm": True,
        "vllm_enable_sleep_mode": False,
        "vllm_gpu_memory_utilization": 0.3,
        "vllm_importance_sampling_correction": True,
        "vllm_max_model_length": 2048,
        "vllm_mode": "colocate",
        "vllm_tensor_parallel_size": 1,
        "warmup_steps": 0.0,
        "weight_decay": 0.0,
    }


MAPPING = [
    # colocated vLLM (default): memory share, tensor parallel, sleep mode, context length
    (
        ["rollout.vllm.gpu_memory_utilization=0.4", "rollout.vllm.tensor_parallel_size=2", "rollout.sleep_mode=true"],
        {
            "use_vllm": True,
            "vllm_mode": "colocate",
            "vllm_gpu_memory_utilization": 0.4,
            "vllm_tensor_parallel_size": 2,
            "vllm_enable_sleep_mode": True,
            "vllm_max_model_length": 2048,
        },
    ),
    # server mode: where the trl vllm-serve server is
    (
        ["rollout=server", "rollout.server.host=gpu7", "rollout.server.port=8001"],
        {
            "use_vllm": True,
            "vllm_mode": "server",
            "vllm_server_host": "gpu7",
            "vllm_server_port": 8001,
            "vllm_server_base_url": None,
            "vllm_group_port": 51216,
        },
    ),
    # plain generate fallback
    (["rollout=hf"], {"use_vllm": False}),
    # sampling section -> group size, temperature, completion limit
    (
        [
            "sampling.n=8",
            "sampling.temperature=0.9",
            "sampling.max_new_tokens=8192",
            "sampling.top_k=20",
            "train.global_batch_size=16",
            "train.per_device_batch_size=16",
        ],
        {"num_generations": 8, "temperature": 0.9, "max_completion_length": 8192, "top_k": 20},
    ),
    # algorithm knobs, truncated completions masked from the loss
    (
        [
            "grpo.beta=0.001",
            "grpo.epsilon=0.2",
            "grpo.epsilon_high=0.28",
            "grpo.loss_type=grpo",
            "grpo.scale_rewards=none",
            "grpo.mask_truncated_completions=true",
        ],
        {
            "beta": 0.001,
            "epsilon": 0.2,
            "epsilon_high": 0.28,
            "loss_type": "grpo",
            "scale_rewards": "none",
            "mask_truncated_completions": True,
        },
    ),
    # training half comes from training.trl_kwargs: global batch kept on 2 processes, ZeRO-3 JSON
    (
        ["deepspeed=zero3", "train.global_batch_size=8", "train.per_device_batch_size=2"],
        {"per_device_train_batch_size": 2, "gradient_accumulation_steps": 2, "remove_unused_columns": False},
    ),
]


@pytest.mark.parametrize("overrides, expected", MAPPING)
def test_mapping_onto_trl(overrides, expected):
    world = 2 if "deepspeed=zero3" in overrides else 1
    kwargs = _kwargs(overrides, world)
    assert {k: kwargs.get(k) for k in expected} == expected
    # exactly the keys of this backend (SFT-only keys never reach GRPOConfig)
    assert sorted(kwargs) == sorted(TRAINER_KEYS + GRPO_KEYS + VLLM_KEYS[_backend(overrides)])


def test_zero3_deepspeed_config_is_passed():
    kwargs = _kwargs(["deepspeed=zero3"])
    assert kwargs["deepspeed"]["zero_optimization"]["stage"] == 3


def test_trl_accepts_the_arguments(tmp_path):
    cfg = compose("grpo", ["rollout=hf"])
    args = to_grpo_config(cfg, trainer_kwargs(cfg, 1, output_dir=str(tmp_path), precision="fp32", cuda=False))
    assert args.num_generations == 4 and args.per_device_train_batch_size == 8 and not args.use_vllm
    assert args.generation_batch_size == 8 and args.steps_per_generation == 1


PROBLEMS = [
    # an OpenAI-compatible server cannot take trained weights
    (["rollout=openai"], ["rollout.backend"]),
    # one sample per prompt gives no advantage
    (["sampling.n=1", "train.global_batch_size=8"], ["sampling.n"]),
    # greedy sampling gives identical samples: named by the sampling check and by GRPO's own
    (["sampling.temperature=0"], ["sampling.temperature", "sampling.temperature"]),
    # the global batch must hold whole groups
    (["sampling.n=3"], ["train.global_batch_size"]),
    # sleep mode frees a colocated engine only
    (["rollout=server", "rollout.sleep_mode=true"], ["rollout.sleep_mode"]),
    # dynamic sampling moves groups between batches: batch-level scaling would change their advantages
    (["grpo.dynamic_sampling=true", "grpo.scale_rewards=batch"], ["grpo.scale_rewards"]),
    # an unknown TRL loss
    (["grpo.loss_type=ppo"], ["grpo.loss_type"]),
    # clip-higher below the lower clip
    (["grpo.epsilon=0.2", "grpo.epsilon_high=0.1"], ["grpo.epsilon_high"]),
    # a negative KL coefficient
    (["grpo.beta=-1"], ["grpo.beta"]),
    # a balance target outside (0, 1)
    (["grpo.balance_error_fraction=1.0"], ["grpo.balance_error_fraction"]),
    # a negative length penalty
    (["reward.length_penalty=-0.5"], ["reward.length_penalty"]),
    # an unknown vLLM mode
    (["rollout.vllm_mode=remote"], ["rollout.vllm_mode"]),
]


@pytest.mark.parametrize("overrides, keys", PROBLEMS)
def test_validation_names_the_key(overrides, keys):
    problems = validate(compose("grpo", overrides))
    assert [p.key for p in problems] == keys, problems


FILTER_PROBLEMS = [
    # bounds the wrong way round
    (["min_pass=0.8", "max_pass=0.2"], ["min_pass"]),
    # a from-scratch model cannot be sampled by vLLM
    (["model=tiny"], ["model.from_scratch"]),
]


@pytest.mark.parametrize("overrides, keys", FILTER_PROBLEMS)
def test_filter_validation(overrides, keys):
    assert [p.key for p in validate(compose("filter", overrides))] == keys


GROUPS = [
    # 8 completions per process, groups of 4: fine
    (8, 1, 4, None),
    # 2 per device x 4 accumulation = 8: fine
    (2, 4, 8, None),
    # 6 per process, groups of 4: a group would straddle processes
    (6, 1, 4, "not a multiple of sampling.n"),
]


@pytest.mark.parametrize("per_device, accum, n, error", GROUPS)
def test_dynamic_sampling_needs_whole_groups_per_process(per_device, accum, n, error):
    if error is None:
        check_groups_per_process(per_device, accum, n)
    else:
        with pytest.raises(DeepcriticError, match=error):
            check_groups_per_process(per_device, accum, n)


def test_experiment_values():
    cfg = compose("grpo", ["experiment=deepcritic_grpo_qwen2.5_7b"])
    assert validate(cfg) == []
    assert (cfg.sampling.n, cfg.sampling.temperature, cfg.sampling.max_new_tokens) == (8, 1.0, 8192)
    assert cfg.deepspeed.stage == 3 and cfg.rollout.vllm_mode == "colocate" and cfg.model.dtype == "bf16"
    assert cfg.data.source == "prm800k" and not cfg.model.from_scratch
    assert (cfg.train.learning_rate, cfg.grpo.beta, cfg.grpo.epsilon) == (1e-6, 0.001, 0.2)
    # the global batch of 512 completions (64 prompts x 8) holds whole groups on 8 and 4 GPUs:
    # 4 per device x accumulation 16 x 8 GPUs = 512; 4 x 32 x 4 = 512
    for gpus, accumulation in ((8, 16), (4, 32)):
        kwargs = trainer_kwargs(cfg, gpus, output_dir="/tmp/x", precision="bf16", cuda=True)
        assert (kwargs["per_device_train_batch_size"], kwargs["gradient_accumulation_steps"]) == (4, accumulation)
        assert 4 * accumulation * gpus == cfg.train.global_batch_size == 512 and 512 % cfg.sampling.n == 0
