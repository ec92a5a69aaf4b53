"""`deepcritic demo` end to end on tiny sizes through the real CLI: every stage runs and writes its outputs.

The sizes are cut to a couple of minutes (a few SFT and GRPO steps, a few dozen records), so nothing is
learnt here: the test checks the pipeline's wiring and outputs (files, the metrics.json schema, finite
metrics, the GRPO stage's rewards and engine sync, the dev curve). The learning claim of the full demo is
checked by ``benchmarks/demo_learns.py``.
"""

from __future__ import annotations

import json
import math

import pytest

from tests.helpers.cli import run_cli
from tests.helpers.procs import CliProcess, complete_checkpoint

HELD_OUT = 24
TINY = [
    "task.sft_records=48",
    "task.grpo_records=16",
    "task.dev_records=8",
    f"task.held_out_records={HELD_OUT}",
    "sft.train.max_steps=4",
    "sft.train.global_batch_size=8",
    "sft.train.per_device_batch_size=8",
    "sft.train.logging_steps=1",
    "grpo.train.max_steps=3",
    "sft.train.save_steps=2",
    "grpo.train.save_steps=1",
    "grpo.train.global_batch_size=16",
    "grpo.train.per_device_batch_size=16",
    "grpo.sampling.max_new_tokens=32",
    "eval.max_new_tokens=32",
    "eval.dev_every=2",
    "eval.bootstrap_resamples=200",
    "grpo.rollout.vllm.enforce_eager=true",  # the evaluations' engines start sooner (no graph compilation)
]
ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "OMP_NUM_THREADS": "2"}
CRITICS = ("f1", "acc_error", "acc_correct", "parse_rate")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("demo") / "run"
    proc = run_cli("demo", f"hydra.run.dir={run_dir}", *TINY, env=ENV, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return run_dir, proc


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def test_metrics_schema_and_finite_values(demo):
    run_dir, _ = demo
    m = json.loads((run_dir / "metrics.json").read_text())
    for name in ("before", "after", "baselines", "f1_delta", "f1_delta_ci95", "held_out_records", "timings", "config"):
        assert name in m, name
    critics = {"before": m["before"], "after": m["after"], **m["baselines"]}
    assert set(m["baselines"]) == {"always_no_error", "random_step"}
    for name, critic in critics.items():
        assert set(critic) == set(CRITICS), name
        assert all(_finite(critic[k]) and 0.0 <= critic[k] <= 1.0 for k in CRITICS), (name, critic)
    assert m["baselines"]["always_no_error"]["acc_correct"] == 1.0 and m["baselines"]["always_no_error"]["f1"] == 0.0
    lo, hi = m["f1_delta_ci95"]
    assert _finite(m["f1_delta"]) and _finite(lo) and _finite(hi) and lo <= hi
    assert m["f1_delta"] == pytest.approx(m["after"]["f1"] - m["before"]["f1"])
    assert m["held_out_records"] == HELD_OUT
    assert all(_finite(v) for v in m["timings"].values())
    assert {"sft_s", "eval_before_s", "grpo_s", "eval_after_s", "total_s", "load_avg_mean"} <= set(m["timings"])
    assert m["config"]["task"]["held_out_records"] == HELD_OUT  # the composed config, as run


def test_splits_are_disjoint_and_grpo_sees_labels_only(demo):
    run_dir, _ = demo
    splits = {
        name: [json.loads(line) for line in (run_dir / "splits" / f"{name}.jsonl").read_text().splitlines()]
        for name in ("sft", "grpo", "dev", "held_out")
    }
    keys = {name: {(r["problem"], tuple(r["steps"])) for r in rows} for name, rows in splits.items()}
    assert not keys["held_out"] & (keys["sft"] | keys["grpo"] | keys["dev"])
    assert not keys["dev"] & (keys["sft"] | keys["grpo"])
    assert all("critique" in r["meta"] for r in splits["sft"])
    assert all(r["meta"] == {} for name in ("grpo", "dev", "held_out") for r in splits[name])
    assert len(splits["held_out"]) == HELD_OUT


def test_both_evaluations_cover_the_same_held_out_records(demo):
    run_dir, _ = demo
    held_out = [json.loads(line)["id"] for line in (run_dir / "splits" / "held_out.jsonl").read_text().splitlines()]
    for stage in ("before", "after"):
        rows = [
            json.loads(line) for line in (run_dir / "predictions" / f"held_out_{stage}.jsonl").read_text().splitlines()
        ]
        assert sorted(r["id"] for r in rows) == sorted(held_out)
        assert all(len(r["samples"]) == 1 and "text" in r["samples"][0] for r in rows)


def test_stages_trained_and_saved(demo):
    run_dir, _ = demo
    for stage, steps in (("sft", 4), ("grpo", 3)):
        assert (run_dir / stage / "final" / "model.safetensors").is_file()
        state = json.loads((run_dir / stage / "trainer_state.json").read_text())
        assert state["global_step"] == steps
    history = json.loads((run_dir / "grpo" / "trainer_state.json").read_text())["log_history"]
    rewards = [h["reward"] for h in history if "reward" in h]
    assert len(rewards) == 3 and all(0.0 <= r <= 1.0 for r in rewards)
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["grpo"]["engine_sync/max_rel_diff_after"] < 1e-2  # the colocated engine holds the trained weights
    assert [p["step"] for p in m["dev_curve"]] == [0, 2, 3]  # dev F1 at the start, every eval.dev_every steps, the end


def test_plot_wandb_and_console(demo):
    run_dir, proc = demo
    assert (run_dir / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((run_dir / "wandb").glob("offline-run-*")), "the demo's offline wandb run"
    for banner in ("1/7 task", "3/7 SFT", "5/7 GRPO", "7/7 report"):
        assert banner in proc.stdout
    assert "paired bootstrap 95% CI" in proc.stdout and "always no wrong step" in proc.stdout


def test_a_killed_demo_resumes_to_the_same_figures(demo, tmp_path):
    """Killed during GRPO (after its first checkpoint), the demo's rerun in the same directory reads back the
    finished stages (splits, model, SFT, the first evaluation), resumes GRPO from its checkpoint, and ends with the
    uninterrupted run's figures."""
    reference, _ = demo
    run_dir = tmp_path / "run"
    args = ["demo", f"hydra.run.dir={run_dir}", *TINY]
    first = CliProcess(*args, log=tmp_path / "first.log", env=ENV)
    first.wait_for(
        lambda: complete_checkpoint(run_dir / "grpo" / "checkpoint-1"), timeout=600, what="a GRPO checkpoint"
    )
    assert first.kill() == -9 and not (run_dir / "metrics.json").exists()
    again = run_cli(*args, env=ENV, timeout=900)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-6000:]
    for stage in ("sft", "eval_before"):
        assert f"{stage}: finished by an earlier run in {run_dir}" in again.stdout
    assert f"resuming from {run_dir / 'grpo' / 'checkpoint-1'}" in again.stdout + again.stderr
    got, want = (json.loads((d / "metrics.json").read_text()) for d in (run_dir, reference))
    for key in ("before", "after", "baselines", "f1_delta", "f1_delta_ci95", "dev_curve", "split_records"):
        assert got[key] == want[key], key
    assert got["grpo"]["last/reward"] == want["grpo"]["last/reward"]
