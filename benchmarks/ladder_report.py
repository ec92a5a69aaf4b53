"""The scale ladder's table, fitted exponents and plot, from ``<out>/results.jsonl`` (benchmarks/scale_ladder.py).

    python benchmarks/scale_ladder.py --out runs/ladder --report

Per rung: the reported step (the last of the rung's optimizer steps; for eval and label the one generate call of
the batch), tokens per second, the peak resident memory of the largest process, the time split, the load average
while it ran, and ``deepcritic plan``'s prediction for the same config (``cluster.device=cpu``, one process, two
for ZeRO-3) beside the measured peak. Exponents are least-squares slopes in log-log space: time or memory ~ size^k.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

PARAMS = {"tiny": None, "mid": None, "0.5b": None}  # filled from the saved models' shapes


def rungs(out: Path) -> list[dict]:
    """The last result of every rung that finished."""
    last: dict[str, dict] = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            last[r["rung"]] = r
    return [r for r in last.values() if r["rc"] == 0]


def step_figures(r: dict) -> dict:
    """Step seconds, tokens/s and the time split of one rung."""
    t, history = r.get("timing", {}), r.get("log_history", [])
    if r["stage"].startswith(("sft", "grpo")) and t.get("steps"):
        step = t["steps"][-1]
        counts = [h["num_tokens"] for h in history if "num_tokens" in h]
        tokens = counts[-1] - (counts[-2] if len(counts) > 1 else 0) if counts else r["length"]
        if "zero3" in r["stage"]:
            tokens *= 2  # num_tokens is one process's; both processes train as many
        last = next((h for h in reversed(history) if "step_time" in h), {})
        split = {k: last.get(f"time/{k}", 0.0) / step for k in ("generation", "training", "weight_sync", "reward")}
        if r["stage"].startswith("sft"):
            split = {"training": 1.0}
        return {"step_s": step, "tokens_per_s": tokens / step, "split": split}
    gen = t.get("generate_s", 0.0) or float("nan")
    return {
        "step_s": gen,
        "tokens_per_s": t.get("generated_tokens", 0) / gen,
        "split": {"generation": gen / t["wall_s"], "start-up and scoring": 1 - gen / t["wall_s"]},
    }


def predicted_gib(r: dict) -> float | None:
    """``deepcritic plan``'s per-process total for the rung's own config, on this CPU machine."""
    from deepcritic.config import ClusterConfig
    from deepcritic.planning.engine import GIB
    from deepcritic.planning.plan import estimate
    from deepcritic.planning.workload import workload
    from deepcritic.recipes.plan import compose_recipe

    recipe = r["stage"].split("-")[0]
    overrides = [o for o in r["overrides"] if not o.startswith("hydra.")]
    overrides += ["deepspeed=zero3"] if "zero3" in r["stage"] else []
    processes = 2 if "zero3" in r["stage"] else 1
    cluster = ClusterConfig(device="cpu", gpus_per_node=processes, gpu_memory_gib=24.0 * processes)
    try:
        plan = estimate(workload(recipe, compose_recipe(recipe, overrides), cluster))
    except Exception as exc:  # a rung the planner cannot read is reported, not fatal to the report
        print(f"[report] {r['rung']}: no prediction ({exc})")
        return None
    return plan.total / GIB


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares exponent k of y ~ x^k."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y > 0 and not math.isnan(y)]
    if len(pts) < 2:
        return None
    mx, my = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else None


def table(rows: list[dict]) -> list[str]:
    lines = [
        "| model | stage | length | step s | tokens/s | peak GiB | plan GiB | plan error | time split | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        f, pred = r["figures"], r["predicted_gib"]
        error = f"{(pred - r['peak_rss_gib']) / r['peak_rss_gib']:+.0%}" if pred else "—"
        split = ", ".join(f"{k} {v:.0%}" for k, v in f["split"].items() if v >= 0.005)
        lines.append(
            f"| {r['model']} | {r['stage']} | {r['length']} | {f['step_s']:.2f} | {f['tokens_per_s']:.0f} | "
            f"{r['peak_rss_gib']:.2f} | {pred:.2f} | {error} | {split} | {r['load'][0]:.1f}–{r['load'][1]:.1f} |"
            if pred
            else f"| {r['model']} | {r['stage']} | {r['length']} | {f['step_s']:.2f} | {f['tokens_per_s']:.0f} | "
            f"{r['peak_rss_gib']:.2f} | — | — | {split} | {r['load'][0]:.1f}–{r['load'][1]:.1f} |"
        )
    return lines


def exponents(rows: list[dict], params: dict[str, int]) -> dict[str, float | None]:
    """Fitted exponents: step time and peak memory against parameters (at 512 tokens) and against length (mid)."""
    out: dict[str, float | None] = {}
    for stage in ("sft", "grpo", "eval"):
        by_size = [r for r in rows if r["stage"] == stage and r["length"] == 512]
        by_len = [r for r in rows if r["stage"] == stage and r["model"] == "mid"]
        for name, subset, x in (("params", by_size, lambda r: params[r["model"]]), ("length", by_len, _tokens)):
            out[f"{stage} time ~ {name}^k"] = slope([x(r) for r in subset], [r["figures"]["step_s"] for r in subset])
            out[f"{stage} memory ~ {name}^k"] = slope([x(r) for r in subset], [r["peak_rss_gib"] for r in subset])
    return out


def _tokens(r: dict) -> float:
    """Tokens per sequence the rung actually ran (SFT: the rung's length; GRPO / eval: mean prompt + completion)."""
    if r["stage"].startswith("sft"):
        return r["length"]
    prompts = r.get("data", {}).get("prompt_tokens") or [0]
    from benchmarks.scale_ladder import COMPLETION

    return sum(prompts) / len(prompts) + COMPLETION[r["length"]]


def plot(rows: list[dict], params: dict[str, int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for col, (name, x, pick) in enumerate(
        (
            ("parameters (512 tokens)", lambda r: params[r["model"]], lambda r: r["length"] == 512),
            ("tokens per sequence (mid, 118M)", _tokens, lambda r: r["model"] == "mid"),
        )
    ):
        for row, (what, y) in enumerate(
            (("step time, s", lambda r: r["figures"]["step_s"]), ("peak memory, GiB", lambda r: r["peak_rss_gib"]))
        ):
            ax = axes[row][col]
            for stage in ("sft", "grpo", "eval"):
                pts = sorted((x(r), y(r)) for r in rows if r["stage"] == stage and pick(r))
                if len(pts) < 2:
                    continue
                k = slope([p[0] for p in pts], [p[1] for p in pts])
                line = ax.plot(*zip(*pts), marker="o", label=f"{stage} (k = {k:.2f})")[0]
                if row == 1:  # deepcritic plan's prediction beside the measured peak
                    mine = [r for r in rows if r["stage"] == stage and pick(r) and r["predicted_gib"]]
                    pred = sorted((x(r), r["predicted_gib"]) for r in mine)
                    if len(pred) > 1:
                        ax.plot(*zip(*pred), ls="--", marker="x", color=line.get_color(), alpha=0.7)
            ax.set(xscale="log", yscale="log", xlabel=name, ylabel=what)
            ax.legend(fontsize=8)
            ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(
        "Scale ladder on a 2-core CPU: random-weight Qwen2 shapes, real recipes (fitted exponent k; "
        "dashed: deepcritic plan)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(out: Path) -> None:
    """Print the table and the exponents, write ``<out>/ladder.md``, ``<out>/ladder.json`` and ``<out>/ladder.png``."""
    from transformers import AutoConfig

    from deepcritic.planning.workload import shape_from_config

    params = {
        m: shape_from_config(AutoConfig.from_pretrained(out / "models" / m).to_dict()).parameters() for m in PARAMS
    }
    rows = rungs(out)
    for r in rows:
        r["figures"], r["predicted_gib"] = step_figures(r), predicted_gib(r)
    lines = table(rows)
    fits = exponents(rows, params)
    lines += ["", "| fitted exponent | k |", "|---|---|"]
    lines += [f"| {name} | {k:.2f} |" for name, k in fits.items() if k is not None]
    lines += ["", "parameters: " + ", ".join(f"{m} {n:,}" for m, n in params.items())]
    print("\n".join(lines))
    (out / "ladder.md").write_text("\n".join(lines) + "\n")
    slim = [{k: v for k, v in r.items() if k not in ("log_history", "overrides")} for r in rows]
    (out / "ladder.json").write_text(json.dumps({"rows": slim, "exponents": fits, "params": params}, indent=1))
    plot(rows, params, out / "ladder.png")
    write_plan_check(out, rows)


def write_plan_check(out: Path, rows: list[dict]) -> None:
    """``<out>/plan_check.json``: each rung's config (model directory as ``{model}``) and measured peak, with the
    models' config.json, for tests/unit/test_planning.py's check of the plan against the measured ladder."""
    models = {m: json.loads((out / "models" / m / "config.json").read_text()) for m in PARAMS}
    keep = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads")
    keep += ("vocab_size", "max_position_embeddings", "tie_word_embeddings")
    check = {
        "models": {m: {k: c[k] for k in keep} for m, c in models.items()},
        "rungs": [
            {
                "rung": r["rung"],
                "recipe": r["stage"].split("-")[0],
                "processes": 2 if "zero3" in r["stage"] else 1,
                "model": r["model"],
                "overrides": [
                    o.replace(str(out / "models" / r["model"]), "{model}").replace(str(out / "data"), "{data}")
                    for o in r["overrides"] + (["deepspeed=zero3"] if "zero3" in r["stage"] else [])
                    if not o.startswith("hydra.")
                ],
                "peak_gib": round(r["peak_rss_gib"], 3),
                "load": r["load"],
            }
            for r in rows
        ],
    }
    (out / "plan_check.json").write_text(json.dumps(check, indent=1) + "\n")
