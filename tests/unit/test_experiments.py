"""Every conf/experiment/*.yaml composes with its recipe, validates, and keeps its global batch on 8 and 4 GPUs."""

from __future__ import annotations

import re

import pytest

from deepcritic.config import CFTRecipeConfig, SFTRecipeConfig, validate
from deepcritic.training.args import accumulation_steps, deepspeed_config
from tests.helpers.configs import compose, conf_dir

EXPERIMENTS = sorted(p.stem for p in (conf_dir() / "experiment").glob("*.yaml"))


def _recipe_of(experiment: str) -> str:
    """The recipe an experiment belongs to, read from its usage comment (``deepcritic <recipe> experiment=<name>``
    or ``launch/<script>.sh <recipe> experiment=<name>``): every experiment file documents how to run it."""
    text = (conf_dir() / "experiment" / f"{experiment}.yaml").read_text()
    match = re.search(
        r"(?:deepcritic|launch/\S+\.sh)\s+([a-z][\w-]*)\s+experiment=" + re.escape(experiment) + r"\b", text
    )
    assert match, (
        f"conf/experiment/{experiment}.yaml: add a usage comment '# deepcritic <recipe> experiment={experiment}'"
    )
    return match.group(1)


TRAINING = [e for e in EXPERIMENTS if _recipe_of(e) in ("sft", "cft")]

# every experiment file and the recipe its (first) usage comment names
RECIPE_OF = {
    "cft_qwen2.5_math_7b": "cft",
    "deepcritic_grpo_qwen2.5_7b": "grpo",
    "deepcritic_sft_qwen2.5_7b": "sft",
    "eval_api_baseline": "eval",
    "eval_deepcritic_7b_rl": "eval",
    "eval_processbench_official": "eval",
    "label_mc_deepcritic": "label",
    "label_mc_qwen2.5_7b": "label",
    "refine_weak_to_strong": "verify-vote",  # for refine and verify-vote; composed with both in test_eval_config.py
    "solve_cft_paper": "solve",
    "synthesize_qwen2.5_72b": "synthesize",
}


def test_there_are_experiments():
    assert sorted(RECIPE_OF) == EXPERIMENTS
    assert {e: _recipe_of(e) for e in EXPERIMENTS} == RECIPE_OF


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_and_validates(experiment):
    cfg = compose(_recipe_of(experiment), [f"experiment={experiment}"])
    assert validate(cfg) == []


# (experiment, GPUs, per-device batch, gradient accumulation, global batch), worked out by hand:
# accumulation = global / (per-device x GPUs)
ACCUMULATION = [
    # DeepCritic SFT: global 64, 1 per device -> 64 / 8 = 8 on 8 GPUs, 64 / 4 = 16 on 4 GPUs
    ("deepcritic_sft_qwen2.5_7b", 8, 1, 8, 64),
    ("deepcritic_sft_qwen2.5_7b", 4, 1, 16, 64),
    # CFT: global 512, 4 per device -> 512 / 32 = 16 on 8 GPUs, 512 / 16 = 32 on 4 GPUs
    ("cft_qwen2.5_math_7b", 8, 4, 16, 512),
    ("cft_qwen2.5_math_7b", 4, 4, 32, 512),
]


def test_every_training_experiment_has_its_accumulation_worked_out():
    assert sorted({e for e, *_ in ACCUMULATION}) == TRAINING


@pytest.mark.parametrize("experiment, gpus, per_device, accumulation, global_batch", ACCUMULATION)
def test_training_experiment_keeps_global_batch_on_8_and_4_gpus(
    experiment, gpus, per_device, accumulation, global_batch
):
    cfg = compose(_recipe_of(experiment), [f"experiment={experiment}"])
    t = cfg.train
    assert (t.per_device_batch_size, accumulation_steps(t, gpus), t.global_batch_size) == (
        per_device,
        accumulation,
        global_batch,
    )
    assert per_device * accumulation * gpus == global_batch  # the global batch is kept
    assert deepspeed_config(cfg.deepspeed)["zero_optimization"]["stage"] == 3
    assert cfg.model.dtype == "bf16" and not cfg.model.from_scratch


EXPECTED = [
    # the DeepCritic SFT numbers of issue 3
    (
        "deepcritic_sft_qwen2.5_7b",
        SFTRecipeConfig,
        {"name_or_path": "Qwen/Qwen2.5-7B-Instruct"},
        {
            "learning_rate": 1e-5,
            "epochs": 3.0,
            "scheduler": "cosine",
            "warmup_ratio": 0.1,
            "global_batch_size": 64,
            "max_length": 16384,
        },
        42,
    ),
    # the CFT numbers
    (
        "cft_qwen2.5_math_7b",
        CFTRecipeConfig,
        {"name_or_path": "Qwen/Qwen2.5-Math-7B"},
        {
            "learning_rate": 5e-6,
            "epochs": 1.0,
            "scheduler": "cosine",
            "warmup_ratio": 0.1,
            "global_batch_size": 512,
            "max_length": 2048,
        },
        42,
    ),
]


@pytest.mark.parametrize("experiment, schema, model, train, seed", EXPECTED)
def test_experiment_values(experiment, schema, model, train, seed):
    cfg = compose(_recipe_of(experiment), [f"experiment={experiment}"])
    assert isinstance(cfg, schema) and cfg.seed == seed
    assert {k: getattr(cfg.model, k) for k in model} == model
    assert {k: getattr(cfg.train, k) for k in train} == train


def test_cft_experiment_reads_webinstruct_cft_50k():
    cfg = compose("cft", ["experiment=cft_qwen2.5_math_7b"])
    assert (cfg.chat.source, cfg.chat.hub_name, cfg.chat.subset) == (
        "cft",
        "TIGER-Lab/WebInstruct-CFT",
        "WebInstruct-CFT-50K",
    )
    # as the release trained (LLaMA-Factory, template qwen, cutoff_len 2048): its join, template and cutoff
    assert (cfg.chat.join, cfg.chat.format, cfg.train.max_length) == ("newline", "llamafactory_qwen", 2048)


@pytest.mark.parametrize("recipe", ["sft", "cft"])
def test_defaults_are_the_tiny_cpu_model(recipe):
    cfg = compose(recipe, [])
    assert validate(cfg) == []
    assert cfg.model.from_scratch and cfg.deepspeed.stage == 0 and cfg.logger.mode == "offline"


GROUPS = [
    # every deepspeed group file composes into the right stage / offload
    ("deepspeed=zero2", "deepspeed", {"stage": 2, "offload_optimizer": False}),
    ("deepspeed=zero3_offload", "deepspeed", {"stage": 3, "offload_optimizer": True, "offload_params": True}),
    ("deepspeed=none", "deepspeed", {"stage": 0}),
    # logger groups
    ("logger=wandb_online", "logger", {"backend": "wandb", "mode": "online"}),
    ("logger=disabled", "logger", {"mode": "disabled"}),
    # chat groups
    ("chat=messages", "chat", {"source": "messages", "messages_field": "messages"}),
    ("model=qwen2.5_math_7b", "model", {"name_or_path": "Qwen/Qwen2.5-Math-7B", "from_scratch": False}),
]


@pytest.mark.parametrize("override, section, values", GROUPS)
def test_group_files(override, section, values):
    cfg = compose("sft", [override])
    assert {k: getattr(getattr(cfg, section), k) for k in values} == values


def test_label_mc_deepcritic_is_the_release_s_sampling():
    """DeepCritic's scripts/run_rollout.sh: solutions n=8 at T=1.0, top-p 1.0, 2048 tokens (gen_step_solutions.py:
    seed 42); rollouts n=8 at T=0.7, top-p 0.9, 4096 tokens; the prompting and filtering of its scripts."""
    cfg = compose("label", ["experiment=label_mc_deepcritic"])
    s = cfg.generator.sampling
    assert (s.n, s.temperature, s.top_p, s.max_new_tokens, s.seed) == (8, 1.0, 1.0, 2048, 42)
    assert (cfg.rollouts_per_step, cfg.rollout_temperature, cfg.rollout_top_p, cfg.rollout_max_new_tokens) == (
        8,
        0.7,
        0.9,
        4096,
    )
    assert (cfg.continuation, cfg.step_tags, cfg.problem_only, cfg.official_system_prompt) == (
        "prefill",
        True,
        True,
        "deepcritic",
    )
    assert (cfg.boxed_only, cfg.drop_unanswered, cfg.num_correct, cfg.reference) == (True, True, 1, "boxed")
