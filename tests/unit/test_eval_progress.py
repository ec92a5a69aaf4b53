"""The rules of evaluation during training: schedule, sharding, logged names, best and patience, resume."""

from __future__ import annotations

import pytest

from deepcritic.config import EvalDuringTrainingConfig, SFTRecipeConfig, validate
from deepcritic.eval import progress

SCHEDULE = [
    # (step, max_steps, every, at_start, at_end) -> evaluated?
    # step 0 only with at_start
    ((0, 10, 4, True, True), True),
    ((0, 10, 4, False, True), False),
    # multiples of every
    ((4, 10, 4, True, True), True),
    ((8, 10, 4, True, False), True),
    ((5, 10, 4, True, True), False),
    # the last step with at_end, even off the grid
    ((10, 10, 4, True, True), True),
    ((10, 10, 4, True, False), False),
    # every = 0: only the ends
    ((4, 10, 0, True, True), False),
    ((10, 10, 0, True, True), True),
]


@pytest.mark.parametrize("args, expected", SCHEDULE)
def test_is_eval_step(args, expected):
    assert progress.is_eval_step(*args) is expected


SHARDS = [
    # 7 items in batches of 2: batches [0,1] [2,3] [4,5] [6]; batch b to shard b mod count
    (7, 2, 0, 2, [[0, 1], [4, 5]]),
    (7, 2, 1, 2, [[2, 3], [6]]),
    # one shard: every batch
    (7, 2, 0, 1, [[0, 1], [2, 3], [4, 5], [6]]),
    # more shards than batches: the last ones get nothing
    (3, 4, 1, 2, []),
    # nothing to do
    (0, 4, 0, 2, []),
]


@pytest.mark.parametrize("n, batch, index, count, expected", SHARDS)
def test_shard(n, batch, index, count, expected):
    assert progress.shard(list(range(n)), batch, index, count) == expected


def test_shards_cover_every_item_once_in_the_batches_one_process_would_make():
    items = list(range(23))
    single = progress.shard(items, 5, 0, 1)
    for count in (2, 3, 4):
        parts = [progress.shard(items, 5, i, count) for i in range(count)]
        assert sorted(b[0] for p in parts for b in p) == [b[0] for b in single]
        assert sorted(x for p in parts for b in p for x in b) == items


def test_log_entries_names_and_skips():
    per = {"gsm8k": {"f1": 0.5, "acc_error": 0.4, "acc_correct": None, "parse_rate": 1.0, "records": 10}}
    average = {"f1": 0.5, "maj": {}}
    assert progress.log_entries(per, average) == {
        "eval_gsm8k/f1": 0.5,
        "eval_gsm8k/acc_error": 0.4,
        "eval_gsm8k/parse_rate": 1.0,
        "eval_average/f1": 0.5,
    }
    assert progress.metric_key("average/f1") == "eval_average/f1"


IMPROVED = [
    (0.5, None, True),  # anything beats no best
    (0.6, 0.5, True),
    (0.5, 0.5, False),  # a tie is no improvement: the earlier step stays best
    (0.4, 0.5, False),
    (None, 0.5, False),  # an undefined metric never wins
    (None, None, False),
]


@pytest.mark.parametrize("value, best, expected", IMPROVED)
def test_improved(value, best, expected):
    assert progress.improved(value, best) is expected


def _entry(step, value, **extra):
    return {"step": step, "time/eval": 1.0, "eval_average/f1": value, **extra}


LOG = [
    {"step": 1, "loss": 2.0},  # a training log line: not an evaluation
    _entry(0, 0.30),
    _entry(4, 0.50),
    {"step": 4, "reward": 0.2},
    _entry(8, 0.45),
    _entry(12, 0.50),  # ties the best: the earlier one stays
]


def test_history_best_and_patience():
    points = progress.history(LOG, "average/f1")
    assert points == [(0, 0.30), (4, 0.50), (8, 0.45), (12, 0.50)]
    assert progress.best_of(points) == (4, 0.50)
    assert progress.evaluations_since_best(points) == 2
    assert progress.evaluations_since_best([(0, None), (2, None)]) == 2  # nothing measured: all count
    # a step evaluated again (after a resume) is one evaluation, the last one
    assert progress.history([*LOG, _entry(8, 0.7)], "average/f1")[2] == (8, 0.7)


def test_stale_steps_and_curves():
    assert progress.stale_steps([0, 4, 8, 12], 8) == [12]
    assert progress.stale_steps([0, 4], 8) == []
    log = [_entry(0, 0.3, **{"eval_dev/f1": 0.2}), _entry(4, 0.5, **{"eval_dev/f1": 0.4}), {"step": 4, "loss": 1.0}]
    assert progress.curves(log, ["dev", "other"]) == {"dev": {0: 0.2, 4: 0.4}, "other": {}}


CONFIG = [
    # off (no benchmarks): valid, and best/patience need benchmarks
    ({}, []),
    ({"keep_best": True}, ["eval_during_training.keep_best"]),
    # a metric must name a benchmark (or average) and a known metric
    ({"benchmarks": {"b": {"source": "synthetic"}}}, []),
    ({"benchmarks": {"b": {"source": "synthetic"}}, "metric": "b/f1"}, []),
    ({"benchmarks": {"b": {"source": "synthetic"}}, "metric": "c/f1"}, ["eval_during_training.metric"]),
    ({"benchmarks": {"b": {"source": "synthetic"}}, "metric": "average/loss"}, ["eval_during_training.metric"]),
    # a per-benchmark limit names a benchmark
    ({"benchmarks": {"b": {"source": "synthetic"}}, "limits": {"x": 3}}, ["eval_during_training.limits"]),
    # nothing scheduled
    (
        {"benchmarks": {"b": {"source": "synthetic"}}, "at_start": False, "at_end": False},
        ["eval_during_training.every_steps"],
    ),
    # a bad benchmark entry is reported under its name
    ({"benchmarks": {"b": {"source": "csv"}}}, ["eval_during_training.benchmarks.b.source"]),
]


@pytest.mark.parametrize("fields, keys", CONFIG)
def test_config_checks(fields, keys):
    cfg = SFTRecipeConfig(eval_during_training=EvalDuringTrainingConfig(**fields))
    assert [p.key for p in validate(cfg)] == keys


@pytest.mark.parametrize("recipe", ["sft", "cft", "grpo"])
def test_eval_s_benchmarks_group_composes_into_every_training_recipe(recipe):
    from tests.helpers.configs import compose

    cfg = compose(recipe, ["+benchmarks@eval_during_training.benchmarks=processbench_files"])
    names = sorted(cfg.eval_during_training.benchmarks)
    assert names == [f"processbench_{s}" for s in ("gsm8k", "math", "olympiadbench", "omnimath")]
    assert validate(cfg) == []
