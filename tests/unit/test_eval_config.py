"""Config of the evaluation recipes: validation problems by key, and every conf file composing and validating."""

from __future__ import annotations

import dataclasses

import pytest

from deepcritic.config import (
    EvalConfig,
    HFGenerateConfig,
    ModelConfig,
    OpenAIServerConfig,
    ProtocolConfig,
    RefineConfig,
    ReportConfig,
    RoleConfig,
    RolloutConfig,
    SamplingConfig,
    SolveConfig,
    VLLMEngineConfig,
    validate,
)
from tests.helpers.configs import compose

BENCH = {"b": {"source": "contract", "path": "x.jsonl"}}


def _eval(**changes) -> EvalConfig:
    return dataclasses.replace(EvalConfig(benchmarks=dict(BENCH)), **changes)


CASES = [
    # a valid config
    (_eval(), []),
    # no benchmark
    (EvalConfig(), ["benchmarks"]),
    # a benchmark entry with an unknown key, and one that fails the data checks
    (
        _eval(benchmarks={"a": {"source": "contract", "pth": "x"}, "c": {"source": "contract"}}),
        ["benchmarks.a", "benchmarks.c.path"],
    ),
    # sampling: n, temperature, top_p, max_new_tokens
    (
        _eval(sampling=SamplingConfig(n=0, temperature=-1, top_p=0, max_new_tokens=0)),
        ["sampling.n", "sampling.temperature", "sampling.top_p", "sampling.max_new_tokens"],
    ),
    # several greedy samples would be identical
    (_eval(sampling=SamplingConfig(n=2, temperature=0.0)), ["sampling.temperature"]),
    # Maj@k beyond n, and an empty list
    (_eval(maj_k=[1, 4]), ["maj_k"]),
    (_eval(maj_k=[]), ["maj_k"]),
    (_eval(sampling=SamplingConfig(n=4, temperature=0.7), maj_k=[1, 4]), []),
    # limit and batch size
    (_eval(limit=0, batch_size=0), ["limit", "batch_size"]),
    # unknown backend
    (_eval(rollout=RolloutConfig(backend="tgi")), ["rollout.backend"]),
    # vLLM knobs are checked when vLLM is the backend
    (
        _eval(
            rollout=RolloutConfig(
                vllm=VLLMEngineConfig(tensor_parallel_size=0, gpu_memory_utilization=1.5, kv_cache_memory_gib=0)
            )
        ),
        [
            "rollout.vllm.tensor_parallel_size",
            "rollout.vllm.gpu_memory_utilization",
            "rollout.vllm.kv_cache_memory_gib",
        ],
    ),
    # ... and not when another backend is chosen
    (_eval(rollout=RolloutConfig(backend="hf", vllm=VLLMEngineConfig(tensor_parallel_size=0))), []),
    # openai: concurrency and rate (declared bounds, in field order), then the URL (a cross-field rule)
    (
        _eval(
            rollout=RolloutConfig(
                backend="openai",
                openai=OpenAIServerConfig(base_url="localhost:8000", concurrency=0, requests_per_second=0),
            )
        ),
        ["rollout.openai.concurrency", "rollout.openai.requests_per_second", "rollout.openai.base_url"],
    ),
    # a key pasted where the variable NAME belongs; the value is not echoed
    (
        _eval(rollout=RolloutConfig(backend="openai", openai=OpenAIServerConfig(api_key_env="sk-abc.def/ghi"))),
        ["rollout.openai.api_key_env"],
    ),
    # hf batch size
    (_eval(rollout=RolloutConfig(backend="hf", hf=HFGenerateConfig(batch_size=0))), ["rollout.hf.batch_size"]),
    # a tiny model built on the spot cannot be served
    (_eval(model=ModelConfig(from_scratch=True)), ["model.from_scratch"]),
    # an official protocol prompts with its official template: a critic template beside it would go unused ...
    (_eval(protocol=ProtocolConfig(name="processbench"), model=ModelConfig(template="t.txt")), ["model.template"]),
    # ... and deepcritic's protocol reads model.template, not protocol.template; an unknown protocol is refused
    (_eval(protocol=ProtocolConfig(template="t.txt")), ["protocol.template"]),
    (_eval(protocol=ProtocolConfig(name="prm800k")), ["protocol.name"]),
    (_eval(sampling=SamplingConfig(top_k=-1)), ["sampling.top_k"]),
]


@pytest.mark.parametrize("cfg, keys", CASES)
def test_eval_validation(cfg, keys):
    assert [p.key for p in validate(cfg)] == keys


@pytest.mark.parametrize("value", ["sk-abc.def", "sk_live_abcdef", "x" * 80, "1ABC"])
def test_pasted_api_key_is_rejected_and_not_echoed(value):
    cfg = _eval(rollout=RolloutConfig(backend="openai", openai=OpenAIServerConfig(api_key_env=value)))
    problems = validate(cfg)
    assert [p.key for p in problems] == ["rollout.openai.api_key_env"] and value not in str(problems)


@pytest.mark.parametrize("value", ["OPENAI_API_KEY", "my_key2", None])
def test_env_var_names_are_accepted(value):
    cfg = _eval(rollout=RolloutConfig(backend="openai", openai=OpenAIServerConfig(api_key_env=value)))
    assert validate(cfg) == []


PROBLEMS = {"m": {"source": "math500"}}

OTHER = [
    # solve: a valid default plus problems
    (SolveConfig(benchmarks=PROBLEMS), []),
    # problem sets: unknown source, file without path and fields, bad limit
    (
        SolveConfig(benchmarks={"a": {"source": "csv"}, "b": {"source": "file"}, "c": {"source": "gsm8k", "limit": 0}}),
        ["benchmarks.a.source", "benchmarks.b.path", "benchmarks.b.fields", "benchmarks.c.limit"],
    ),
    # solve: Maj@k beyond generator.sampling.n; sampling checked inside the role
    (
        SolveConfig(benchmarks=PROBLEMS, maj_k=[2], generator=RoleConfig(sampling=SamplingConfig(top_p=2))),
        ["generator.sampling.top_p", "maj_k"],
    ),
    # refine: both roles' sections are checked
    (
        RefineConfig(
            benchmarks=PROBLEMS, critic=RoleConfig(model=ModelConfig(dtype="fp8"), rollout=RolloutConfig(backend="x"))
        ),
        ["critic.model.dtype", "critic.rollout.backend"],
    ),
    # report: runs needed; names must match runs
    (ReportConfig(), ["runs"]),
    (ReportConfig(runs=["a", "b"], names=["x"]), ["names"]),
    (ReportConfig(runs=["a"], names=["x"]), []),
]


@pytest.mark.parametrize("cfg, keys", OTHER)
def test_other_recipe_validation(cfg, keys):
    assert [p.key for p in validate(cfg)] == keys


COMPOSE = [
    # the defaults: ProcessBench from the Hub on vLLM
    ("eval", [], ["processbench_gsm8k", "processbench_math", "processbench_olympiadbench", "processbench_omnimath"]),
    # local files, MR-GSM8K, PRM800K, and a file added on the command line
    (
        "eval",
        [
            "benchmarks=[processbench_files,mr_gsm8k,prm800k_phase2]",
            "+benchmarks.mine={source: contract, path: m.jsonl}",
        ],
        [
            "processbench_gsm8k",
            "processbench_math",
            "processbench_olympiadbench",
            "processbench_omnimath",
            "mr_gsm8k",
            "prm800k_phase2",
            "mine",
        ],
    ),
    # every rollout group
    ("eval", ["rollout=openai"], None),
    ("eval", ["rollout=hf"], None),
    # the experiments
    ("eval", ["experiment=eval_deepcritic_7b_rl"], None),
    ("eval", ["experiment=eval_api_baseline"], None),
    ("refine", ["experiment=refine_weak_to_strong"], ["math500", "gsm8k"]),
    ("verify-vote", ["experiment=refine_weak_to_strong"], None),
    ("solve", ["problems@benchmarks=[math500_file,gsm8k_file]"], ["math500", "gsm8k"]),
    ("refine", [], None),
    ("verify-vote", [], None),
    ("solve", [], None),
    ("report", ["runs=[runs/eval/a,runs/eval/b]"], None),
]


@pytest.mark.parametrize("recipe, overrides, benchmarks", COMPOSE)
def test_conf_composes_and_validates(recipe, overrides, benchmarks):
    cfg = compose(recipe, overrides)
    assert validate(cfg) == []
    if benchmarks is not None:
        assert list(cfg.benchmarks) == benchmarks


def test_deepcritic_release_experiment_values():
    cfg = compose("eval", ["experiment=eval_deepcritic_7b_rl"])
    assert cfg.model.name_or_path == "Keven16/DeepCritic-7B-RL-PRM800K"
    assert cfg.model.template is None and cfg.protocol.name == "deepcritic_paper"  # the official prompt
    # RUCBM/DeepCritic eval.py: SamplingParams(temperature=0.6, top_p=0.9, max_tokens=32768, seed=42)
    s = cfg.sampling
    assert (s.n, s.temperature, s.top_p, s.top_k, s.max_new_tokens, s.seed) == (1, 0.6, 0.9, 0, 32768, 42)
    assert list(cfg.benchmarks)[-2:] == ["mr_gsm8k", "prm800k_phase2"] and len(cfg.benchmarks) == 6
    voting = compose("eval", ["experiment=eval_deepcritic_7b_rl", "protocol=deepcritic_paper_voting"]).sampling
    # --use_voting: SamplingParams(temperature=1, top_p=0.9, n=8, max_tokens=32768, seed=42)
    assert (voting.n, voting.temperature, voting.top_p, voting.max_new_tokens, voting.seed) == (8, 1.0, 0.9, 32768, 42)


def test_processbench_official_experiment_values():
    cfg = compose("eval", ["experiment=eval_processbench_official"])
    assert cfg.protocol.name == "processbench" and cfg.model.template is None
    # QwenLM/ProcessBench run_eval.py: SamplingParams(temperature=0., max_tokens=8192, seed=42)
    s = cfg.sampling
    assert (s.n, s.temperature, s.top_p, s.max_new_tokens, s.seed) == (1, 0.0, 1.0, 8192, 42)
    assert sorted(cfg.benchmarks) == [f"processbench_{n}" for n in ("gsm8k", "math", "olympiadbench", "omnimath")]


def test_weak_to_strong_experiment_values(monkeypatch):
    monkeypatch.setenv("GEN_URL", "http://gen:8000/v1")
    cfg = compose("refine", ["experiment=refine_weak_to_strong"])
    assert cfg.critic.model.name_or_path == "Keven16/DeepCritic-7B-RL-PRM800K" and cfg.critic.rollout.backend == "vllm"
    assert cfg.generator.model.name_or_path == "Qwen/Qwen2.5-72B-Instruct"
    assert (cfg.generator.rollout.backend, cfg.generator.rollout.openai.base_url) == ("openai", "http://gen:8000/v1")


def test_api_baseline_keeps_only_the_key_name():
    cfg = compose("eval", ["experiment=eval_api_baseline"])
    assert cfg.rollout.openai.api_key_env == "OPENAI_API_KEY" and cfg.rollout.backend == "openai"
    # a fair baseline: read the way its published ProcessBench numbers were (not by deepcritic's final line)
    assert cfg.protocol.name == "processbench" and (cfg.sampling.temperature, cfg.sampling.max_new_tokens) == (0, 8192)
