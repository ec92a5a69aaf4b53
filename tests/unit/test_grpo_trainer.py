"""The reward function handed to GRPOTrainer (rewards + metrics + table columns) and the log callback."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from deepcritic.config import RewardConfig
from deepcritic.grpo.trainer import CriticLogCallback, StepTimer, make_critic_reward, reward_rules
from deepcritic.rewards import RewardRules

EOS = 9
RIGHT = "Step 1 \\boxed{1}\nStep 2 \\boxed{-1}\n**Answer**: \\boxed{2}"


def _call(completions, labels, ids, rules=None):
    rules = rules or RewardRules()
    metrics, extra, timer = {}, {}, StepTimer()
    fn = make_critic_reward(rules, [EOS], timer)
    rewards = fn(
        prompts=[[{"role": "user", "content": "p"}]] * len(completions),
        completions=[[{"role": "assistant", "content": c}] for c in completions],
        label=labels,
        num_steps=[3] * len(completions),
        completion_ids=ids,
        has_error=[y != -1 for y in labels],
        id=["a"] * len(completions),
        trainer_state=None,
        log_metric=lambda k, v: metrics.setdefault(k, v),
        log_extra=lambda k, v: extra.setdefault(k, v),
    )
    return rewards, metrics, extra, timer


def test_rewards_metrics_and_columns():
    rewards, metrics, extra, timer = _call(
        [RIGHT, RIGHT, "garbage \\boxed{", RIGHT], [1, 0, -1, 1], [[1, EOS], [1, EOS], [1, EOS], [1, 1]]
    )  # the last one hit the length limit
    assert rewards == [1.0, 0.0, 0.0, 0.0]
    assert metrics == pytest.approx(
        {
            "critic/parse_rate": 0.75,
            "critic/truncation_rate": 0.25,
            "critic/acc_error": 1 / 3,
            "critic/acc_correct": 0.0,
        }
    )
    assert extra == {"verdict": [1, 1, None, None], "label": [1, 0, -1, 1], "truncated": [False, False, False, True]}
    assert timer.seconds("reward") > 0


MALFORMED = [
    # empty text
    "",
    # unbalanced braces and a box with no number
    "**Answer**: \\boxed{",
    # a huge repetitive output
    "\\boxed{1}" * 5000,
    # control characters and a wrong-type box
    "\x00\x01 **Answer**: \\boxed{two}",
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_outputs_score_zero_and_never_raise(text):
    rewards, metrics, _, _ = _call([text], [0], [[EOS]])
    assert rewards == [0.0] and metrics["critic/parse_rate"] == 0.0


def test_reward_rules_mirror_the_config():
    cfg = RewardConfig(strict_format=False, require_step_consistency=True, length_penalty=0.5, length_penalty_start=10)
    assert reward_rules(cfg) == RewardRules(False, True, 0.5, 10)


def test_log_callback_adds_f1_and_time_split():
    timer = StepTimer()
    callback = CriticLogCallback(timer, is_main=False)
    for _ in range(2):  # two optimizer steps in the logging window
        callback.on_step_begin(None, None, None)
        timer.add("rollout", 0.01)
        callback.on_step_end(None, None, None)
    logs = {"reward": 0.5, "critic/acc_error": 0.5, "critic/acc_correct": 1.0}
    state = SimpleNamespace(global_step=2, log_history=[{**logs, "step": 2}])
    callback.on_log(None, state, None, logs=logs)
    assert logs["critic/f1"] == pytest.approx(2 / 3)
    assert {"time/generation", "time/reward", "time/weight_sync", "time/training", "time/step"} <= set(logs)
    assert state.log_history[-1]["critic/f1"] == logs["critic/f1"]  # trainer_state.json gets them too
    assert timer.window == []  # the window starts again


def test_log_callback_ignores_non_training_logs():
    callback = CriticLogCallback(StepTimer(), is_main=False)
    logs = {"train_runtime": 3.0}
    callback.on_log(None, SimpleNamespace(global_step=1, log_history=[]), None, logs=logs)
    assert logs == {"train_runtime": 3.0}


def test_reward_config_mirrors_reward_rules():
    from dataclasses import fields

    assert [(f.name, f.default) for f in fields(RewardConfig)] == [(f.name, f.default) for f in fields(RewardRules)]


@pytest.mark.parametrize(
    "eager, precision, vllm_dtype", [(True, "fp32", "float32"), (False, "fp16", "float16"), (True, "bf16", "bfloat16")]
)
def test_trl_s_colocated_engine_gets_enforce_eager_and_dtype(eager, precision, vllm_dtype, monkeypatch):
    """TRL builds the colocated vllm.LLM without enforce_eager or a dtype (vLLM would run a float32 checkpoint in
    bfloat16); while the trainer is built it gets the config's and the trainer's precision."""
    from trl.generation import vllm_generation

    from deepcritic.config import VLLMEngineConfig
    from deepcritic.grpo.engine import engine_arguments

    calls = []

    def fake_llm(**kwargs):
        calls.append(kwargs)

    monkeypatch.setattr(vllm_generation, "LLM", fake_llm)
    with engine_arguments(VLLMEngineConfig(enforce_eager=eager), precision):
        vllm_generation.LLM(model="m", max_model_len=64)  # as TRL's _init_vllm calls it
    assert calls == [{"model": "m", "max_model_len": 64, "enforce_eager": eager, "dtype": vllm_dtype}]
    assert vllm_generation.LLM is fake_llm  # TRL's name is back afterwards
