"""The demo's pure parts: its config (composed from conf/demo.yaml, validated), splits, trivial critics."""

from __future__ import annotations

import dataclasses

import pytest

from deepcritic.config import DemoConfig, validate
from deepcritic.data.records import StepRecord
from tests.helpers.configs import compose


def test_demo_yaml_composes_to_the_demo_as_documented_and_is_valid():
    cfg = compose("demo")
    assert isinstance(cfg, DemoConfig) and validate(cfg) == []
    t = cfg.model.tiny  # a tiny Qwen2 with a digit-level tokenizer (README, "The demo")
    assert (cfg.model.from_scratch, cfg.model.dtype) == (True, "fp32")
    assert (
        t.hidden_size,
        t.num_layers,
        t.num_heads,
        t.num_kv_heads,
        t.intermediate_size,
        t.vocab_size,
        t.split_digits,
        t.max_position_embeddings,
    ) == (128, 2, 2, 2, 512, 384, True, 1024)
    s = cfg.task.synthetic  # counted critiques, operands up to 4
    assert (s.min_steps, s.max_steps, s.max_operand, s.max_value, s.ops, s.critique) == (
        2,
        4,
        4,
        9,
        ["+", "-"],
        "count_compare",
    )
    assert (cfg.task.held_out_records, cfg.task.sft_records, cfg.task.grpo_records) == (400, 8000, 4000)
    sft = cfg.sft.train  # 1400 SFT steps at 3e-3, batch 32
    assert (sft.learning_rate, sft.max_steps, sft.global_batch_size, sft.warmup_ratio, sft.max_length, sft.resume) == (
        3e-3,
        1400,
        32,
        0.05,
        512,
        "auto",  # a rerun of a killed demo resumes, from checkpoints every 200 SFT / 10 GRPO steps
    )
    assert (sft.save_steps, cfg.grpo.train.save_steps, cfg.grpo.train.resume) == (200, 10, "auto")
    g = cfg.grpo  # GRPO at 1e-4 for 100 steps, 8 samples at temperature 1, dynamic sampling, colocated vLLM
    assert (g.train.learning_rate, g.train.max_steps, g.train.global_batch_size, g.train.scheduler) == (
        1e-4,
        100,
        128,
        "constant",
    )
    assert (g.sampling.n, g.sampling.temperature, g.sampling.max_new_tokens, g.sampling.seed) == (8, 1.0, 200, None)
    assert (g.grpo.dynamic_sampling, g.grpo.dynamic_sampling_max_rounds, g.grpo.verify_engine_sync) == (True, 2, True)
    assert (
        g.rollout.backend,
        g.rollout.vllm_mode,
        g.rollout.vllm.max_model_len,
        g.rollout.vllm.kv_cache_memory_gib,
    ) == ("vllm", "colocate", 512, 1.0)


def _small(**task) -> DemoConfig:
    cfg = compose("demo")
    return dataclasses.replace(cfg, task=dataclasses.replace(cfg.task, **task))


BAD = [
    # an empty held-out split
    (["task.held_out_records=0"], {"task.held_out_records"}),
    # two splits sharing a seed would share records
    (["task.dev_seed=4"], {"task.held_out_seed"}),
    # an SFT error rate that is not a fraction
    (["task.sft_error_rate=1.5"], {"task.sft_error_rate"}),
    # a bootstrap too small to give percentiles
    (["eval.bootstrap_resamples=10"], {"eval.bootstrap_resamples"}),
    # a GRPO batch that does not hold whole groups: named by the demo's key (the grpo recipe's own check)
    (["grpo.train.global_batch_size=100", "grpo.train.per_device_batch_size=100"], {"grpo.train.global_batch_size"}),
    # GRPO needs sampling
    (["grpo.sampling.temperature=0.0"], {"grpo.sampling.temperature"}),
    # the demo samples with a vLLM engine (GRPO's, which also runs both evaluations)
    (["grpo.rollout.backend=hf"], {"grpo.rollout.backend"}),
    # what the demo sets in its stages itself is refused, not silently replaced
    (["grpo.model.name_or_path=elsewhere", "sft.seed=7"], {"grpo.model", "sft.seed"}),
    (["sft.train.output_dir=/tmp/x"], {"sft.train.output_dir"}),
    # the task's own knobs are checked too
    (["task.synthetic.max_value=1"], {"task.synthetic.max_value"}),
    # several problems at once, all reported
    (["task.sft_records=0", "eval.dev_every=-1"], {"task.sft_records", "eval.dev_every"}),
]


@pytest.mark.parametrize("overrides, keys", BAD)
def test_validation_names_the_demo_keys(overrides, keys):
    assert {p.key for p in validate(compose("demo", overrides))} == keys


def test_splits_are_disjoint_later_splits_win_and_sizes_hold():
    from deepcritic.recipes.demo import make_splits

    # a tiny chain space (2 steps, operands 1..3) makes duplicates across splits certain
    cfg = _small(sft_records=300, grpo_records=200, dev_records=50, held_out_records=80)
    cfg = dataclasses.replace(
        cfg,
        task=dataclasses.replace(
            cfg.task,
            synthetic=dataclasses.replace(cfg.task.synthetic, min_steps=2, max_steps=2, max_operand=3, max_value=6),
        ),
    )
    splits, dropped = make_splits(cfg)
    keys = {name: {(r.problem, tuple(r.steps)) for r in rows} for name, rows in splits.items()}
    assert not keys["held_out"] & (keys["sft"] | keys["grpo"] | keys["dev"])
    assert not keys["dev"] & (keys["sft"] | keys["grpo"])
    assert not keys["grpo"] & keys["sft"]
    assert dropped["held_out"] == 0 and len(splits["held_out"]) == 80  # the held-out split is never cut
    assert dropped["sft"] > 0 and len(splits["sft"]) == 300 - dropped["sft"]
    assert splits == make_splits(cfg)[0]  # seeded: the same config, the same splits


def test_sft_error_rate_changes_only_the_sft_split():
    from deepcritic.recipes.demo import make_splits

    base, _ = make_splits(_small(sft_records=400, grpo_records=50, dev_records=20, held_out_records=40))
    easy, _ = make_splits(
        _small(sft_records=400, grpo_records=50, dev_records=20, held_out_records=40, sft_error_rate=0.9)
    )
    share = sum(r.has_error for r in easy["sft"]) / len(easy["sft"])
    assert 0.8 < share < 0.97
    assert easy["held_out"] == base["held_out"] and easy["dev"] == base["dev"]


def test_written_splits_keep_gold_critiques_only_for_sft(tmp_path):
    from deepcritic.config import DataConfig
    from deepcritic.data import load_records
    from deepcritic.recipes.demo import make_splits, write_splits

    splits, _ = make_splits(_small(sft_records=20, grpo_records=10, dev_records=5, held_out_records=8))
    paths = write_splits(splits, tmp_path)
    loaded = {k: load_records(DataConfig(source="contract", path=str(p))).records for k, p in paths.items()}
    assert loaded["sft"] == splits["sft"] and all("critique" in r.meta for r in loaded["sft"])
    for name in ("grpo", "dev", "held_out"):
        assert [(r.id, r.steps, r.label) for r in loaded[name]] == [(r.id, r.steps, r.label) for r in splits[name]]
        assert all(r.meta == {} for r in loaded[name])


def _rec(i: int, steps: int, label: int) -> StepRecord:
    return StepRecord(id=str(i), source="t", problem="p", steps=["1 + 1 = 2"] * steps, label=label)


def test_trivial_critics():
    from deepcritic.recipes.demo import trivial_critics

    records = [_rec(i, 3, -1 if i % 2 else i % 3) for i in range(400)]
    out = trivial_critics(records, seed=0)
    assert out["always_no_error"] == {
        "acc_error": 0.0,
        "acc_correct": 1.0,
        "f1": 0.0,
        "n_error": 200,
        "n_correct": 200,
        "parse_rate": 1.0,
    }
    rnd = out["random_step"]
    # a uniform guess among -1 and 3 steps is right a quarter of the time in each class (400 draws)
    assert 0.15 < rnd["acc_error"] < 0.35 and 0.15 < rnd["acc_correct"] < 0.35
    assert trivial_critics(records, seed=0) == out and trivial_critics(records, seed=1) != out
