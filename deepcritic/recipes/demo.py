"""``deepcritic demo``: the whole pipeline learns on a CPU, end to end (the README's first command).

Reads top to bottom, one banner per stage (with the time since the start):

1. **task**: four disjoint splits of the synthetic arithmetic-critique task (``task``), written as
   data-contract JSONL under ``splits/``: ``sft`` (gold terse critiques), ``grpo`` (labels only), ``dev``
   (every choice and the curve during GRPO) and ``held_out`` (only evaluated);
2. **model**: a tiny Qwen2 and a digit-level tokenizer built from ``model.tiny`` and saved (no download);
3. **SFT**: ``deepcritic sft`` (its ``main``) on the sft split with the ``sft`` training section;
4. **eval before**: greedy critiques of the held-out split with vLLM; F1, accuracies, parse rate; the
   trivial critics (always "no wrong step", a random step) on the same records;
5. **GRPO**: ``deepcritic grpo`` (its ``main``, colocated vLLM) on the grpo split, from the SFT model,
   with the dev F1 every ``eval.dev_every`` steps (its evaluation during training, ``grpo.eval_during_training``);
6. **eval after**: the same held-out records, the same way;
7. **report**: the before/after table, ``metrics.json`` (with the paired bootstrap CI of the F1
   difference), ``plot.png`` and an offline wandb run (the SFT and GRPO stages log their own runs in
   the same wandb group).

A rerun in the same run directory continues: a finished stage's result is read back (``stages/<stage>.json``),
SFT and GRPO resume from their newest checkpoint, and a run directory made with another config is refused.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import random
from pathlib import Path
from typing import Any

from deepcritic import tracking
from deepcritic.config import (
    ChatDataConfig,
    DataConfig,
    DemoConfig,
    LoggerConfig,
    ModelConfig,
    SamplingConfig,
    ensure_valid,
)
from deepcritic.critique import build_critic_messages, load_template, packaged_path
from deepcritic.data import generate_synthetic, write_jsonl
from deepcritic.data.records import StepRecord
from deepcritic.datagen.stages import guard_resume
from deepcritic.eval import progress, report
from deepcritic.eval.bootstrap import paired_bootstrap_f1
from deepcritic.eval.critic import critique_records
from deepcritic.eval.metrics import benchmark_metrics, critic_f1
from deepcritic.eval.protocols import get_protocol
from deepcritic.generation import build_generator
from deepcritic.modeling import save_tiny_model
from deepcritic.runtime import run_dir
from deepcritic.store import ResultStore, write_json
from deepcritic.timing import StageClock

log = logging.getLogger(__name__)

SPLITS = ("sft", "grpo", "dev", "held_out")  # a record in a later split is removed from the earlier ones
REPORTED = ("f1", "acc_error", "acc_correct", "parse_rate")


def main(cfg: DemoConfig) -> dict:
    out = run_dir()
    clock = StageClock()
    template_path = cfg.model.template or packaged_path("demo_critic")
    template = load_template("demo_critic", template_path)
    guard_resume(out, {k: v for k, v in dataclasses.asdict(cfg).items() if k != "logger"})

    clock.stage("task", "1/7 task: synthetic arithmetic critiques, four disjoint splits")
    splits, dropped, paths = task_splits(cfg, template, out / "splits")

    clock.stage("model", "2/7 model: tiny Qwen2 + digit-level tokenizer, from config")
    model_cfg = build_model(cfg.model, splits, template, out / "model-init")

    clock.stage("sft", "3/7 SFT on gold critiques (deepcritic sft)")
    sft_result = once(out, "sft", lambda: _run_sft(cfg, model_cfg, template_path, paths["sft"], out))

    clock.stage("eval_before", "4/7 evaluate the SFT critic on the held-out split (vLLM, greedy)")
    held_out = splits["held_out"]
    before = _held_out(out, "before", sft_result, held_out, cfg, template)
    baselines = _baselines(held_out, before, cfg)

    clock.stage("grpo", "5/7 GRPO on labels only (deepcritic grpo, colocated vLLM)")
    grpo_result = once(out, "grpo", lambda: _run_grpo(cfg, Path(sft_result["final_model"]), template_path, paths, out))

    clock.stage("eval_after", "6/7 evaluate the GRPO critic on the same held-out split")
    after = _held_out(out, "after", grpo_result, held_out, cfg, template)

    clock.stage("report", "7/7 report")
    boot = paired_bootstrap_f1(
        [r.label for r in held_out],
        before["verdicts"],
        after["verdicts"],
        cfg.eval.bootstrap_resamples,
        cfg.eval.bootstrap_seed,
    )
    metrics = {
        "before": _pick(before["metrics"]),
        "after": _pick(after["metrics"]),
        "baselines": {k: _pick(v) for k, v in baselines.items()},
        "f1_delta": boot.delta,
        "f1_delta_ci95": [boot.low, boot.high],
        "bootstrap": boot.as_dict(),
        "held_out_records": len(held_out),
        "split_records": {k: len(v) for k, v in splits.items()},
        "dropped_duplicates": dropped,
        "dev_curve": dev_curve(out / "grpo"),
        "sft": _stage_summary(sft_result),
        "grpo": _stage_summary(grpo_result),
        "timings": clock.finish(),
        "config": dataclasses.asdict(cfg),
    }
    report_demo(cfg, out, metrics)
    return metrics


def once(out: Path, stage: str, run: Any) -> dict:
    """``run()``'s result, or the one stored when an earlier run in this directory finished the stage: a rerun after
    a crash or a preemption continues from the last finished stage (and SFT / GRPO from their newest checkpoint)."""
    marker = out / "stages" / f"{stage}.json"
    if marker.is_file():
        print(f"{stage}: finished by an earlier run in {out}; using its result ({marker})")
        return json.loads(marker.read_text(encoding="utf-8"))
    result = run()
    write_json(marker, result)
    return result


def _held_out(out: Path, when: str, trained: dict, held_out: list[StepRecord], cfg: DemoConfig, template: str) -> dict:
    """The held-out evaluation of a stage's final model (once: see :func:`once`)."""
    path = out / "predictions" / f"held_out_{when}.jsonl"
    return once(out, f"eval_{when}", lambda: evaluate(Path(trained["final_model"]), held_out, cfg, template, path))


def _baselines(held_out: list[StepRecord], before: dict, cfg: DemoConfig) -> dict[str, dict]:
    """The trivial critics on the held-out records, printed beside the SFT critic."""
    baselines = trivial_critics(held_out, cfg.eval.baseline_seed)
    _print_table(
        {
            "always no wrong step": baselines["always_no_error"],
            "random step": baselines["random_step"],
            "SFT": before["metrics"],
        },
        "held-out split, before GRPO",
    )
    return baselines


# ---------------------------------------------------------------------------------------------------
# 1. Task and 2. model


def task_splits(cfg: DemoConfig, template: str, folder: Path) -> tuple[dict, dict[str, int], dict[str, Path]]:
    """The splits, how many records each lost as a duplicate of a later one, and their files (printed)."""
    splits, dropped = make_splits(cfg)
    paths = write_splits(splits, folder)
    print(
        f"records: {', '.join(f'{k} {len(v)}' for k, v in splits.items())}; dropped as duplicates of a later "
        f"split: {dropped}. Example:\n{_example(splits['sft'][0], template)}"
    )
    return splits, dropped, paths


def make_splits(cfg: DemoConfig) -> tuple[dict[str, list[StepRecord]], dict[str, int]]:
    """The four splits (seeded, each its own seed); an earlier split loses records that a later one holds."""
    t = cfg.task
    base = t.synthetic
    sft_base = base if t.sft_error_rate is None else dataclasses.replace(base, error_rate=t.sft_error_rate)
    spec = {
        "sft": (sft_base, t.sft_records, t.sft_seed),
        "grpo": (base, t.grpo_records, t.grpo_seed),
        "dev": (base, t.dev_records, t.dev_seed),
        "held_out": (base, t.held_out_records, t.held_out_seed),
    }
    splits = {
        name: generate_synthetic(dataclasses.replace(c, num_records=n, seed=seed))
        for name, (c, n, seed) in spec.items()
    }
    later: set[tuple] = set()
    dropped = {}
    for name in reversed(SPLITS):
        kept = [r for r in splits[name] if _key(r) not in later]
        dropped[name] = len(splits[name]) - len(kept)
        later |= {_key(r) for r in kept}
        splits[name] = kept
    return splits, dropped


def _key(record: StepRecord) -> tuple:
    return record.problem, tuple(record.steps)


def write_splits(splits: dict[str, list[StepRecord]], folder: Path) -> dict[str, Path]:
    """Data-contract JSONL per split; only the SFT split keeps its gold critiques (the others: labels only)."""
    paths = {}
    for name, records in splits.items():
        rows = records if name == "sft" else [dataclasses.replace(r, meta={}) for r in records]
        paths[name] = folder / f"{name}.jsonl"
        write_jsonl(rows, paths[name])
    return paths


def build_model(model: ModelConfig, splits: dict[str, list[StepRecord]], template: str, path: Path) -> ModelConfig:
    """Build (from_scratch) and save the tiny model and its tokenizer; the model config that loads them."""
    if not model.from_scratch:
        return model
    texts = [build_critic_messages(r.problem, r.steps, template)[0]["content"] for r in splits["sft"]]
    texts += [r.meta["critique"] for r in splits["sft"]]
    network, tokenizer = save_tiny_model(model.tiny, texts, path, reuse=True)
    t = model.tiny
    if network is None:
        print(f"Qwen2: the model an earlier run in this directory built ({path})")
        return dataclasses.replace(model, name_or_path=str(path), tokenizer=None, from_scratch=False)
    print(
        f"Qwen2: hidden {t.hidden_size}, {t.num_layers} layers, {t.num_heads} heads of "
        f"{t.hidden_size // t.num_heads}, {sum(p.numel() for p in network.parameters()) / 1e6:.2f}M parameters; "
        f"tokenizer: {len(tokenizer)} tokens (digits split: {t.split_digits}); saved to {path}"
    )
    return dataclasses.replace(model, name_or_path=str(path), tokenizer=None, from_scratch=False)


def _example(record: StepRecord, template: str) -> str:
    prompt = build_critic_messages(record.problem, record.steps, template)[0]["content"]
    return f"--- prompt ---\n{prompt}\n--- gold critique ---\n{record.meta['critique']}\n---"


# ---------------------------------------------------------------------------------------------------
# 3. SFT and 5. GRPO: the recipes' own main(), with configs derived from the demo's


def _stage_logger(cfg: DemoConfig, stage: str, out: Path) -> LoggerConfig:
    return dataclasses.replace(
        cfg.logger, name=f"demo-{stage}-{out.name}", group=cfg.logger.group or f"demo-{out.name}"
    )


def _run_sft(cfg: DemoConfig, model: ModelConfig, template: str, data: Path, out: Path) -> dict:
    """``deepcritic sft`` with the demo's ``sft`` section, on the tiny model and the SFT split's gold critiques."""
    from deepcritic.recipes import sft

    stage = dataclasses.replace(
        cfg.sft,
        model=dataclasses.replace(model, template=template),
        data=DataConfig(source="contract", path=str(data)),
        chat=ChatDataConfig(source="records"),
        train=dataclasses.replace(cfg.sft.train, output_dir=str(out / "sft")),
        logger=_stage_logger(cfg, "sft", out),
        seed=cfg.seed,
    )
    ensure_valid(stage)
    return sft.main(stage)


def _run_grpo(cfg: DemoConfig, start: Path, template: str, paths: dict[str, Path], out: Path) -> dict:
    """``deepcritic grpo`` with the demo's ``grpo`` section, from the SFT model, on the GRPO split's labels; the dev
    curve is its evaluation during training, on the dev split every ``eval.dev_every`` steps."""
    from deepcritic.recipes import grpo

    every = cfg.eval.dev_every
    dev = {"dev": {"source": "contract", "path": str(paths["dev"])}} if every else {}
    stage = dataclasses.replace(
        cfg.grpo,
        model=ModelConfig(name_or_path=str(start), dtype=cfg.model.dtype, template=template),
        data=DataConfig(source="contract", path=str(paths["grpo"])),
        train=dataclasses.replace(cfg.grpo.train, output_dir=str(out / "grpo")),
        eval_during_training=dataclasses.replace(cfg.grpo.eval_during_training, benchmarks=dev, every_steps=every),
        logger=_stage_logger(cfg, "grpo", out),
        seed=cfg.seed,
    )
    ensure_valid(stage)
    return grpo.main(stage)


def dev_curve(grpo_dir: Path) -> list[dict[str, Any]]:
    """The dev F1 (and accuracies) of every evaluation during GRPO, from its trainer state."""
    path = grpo_dir / "trainer_state.json"
    history = json.loads(path.read_text())["log_history"] if path.is_file() else []
    return [
        {"step": h["step"], **{k: h.get(f"{progress.PREFIX}dev/{k}") for k in ("f1", "acc_error", "acc_correct")}}
        for h in history
        if progress.TIME_KEY in h
    ]


def _stage_summary(result: dict) -> dict:
    keep = (
        "global_step",
        "train_runtime",
        "first_logged_loss",
        "last_logged_loss",
        "last/reward",
        "engine_sync/max_rel_diff_before",
        "engine_sync/max_rel_diff_after",
        "final_model",
    )
    return {k: result[k] for k in keep if k in result}


# ---------------------------------------------------------------------------------------------------
# 4. and 6. Evaluation, baselines, the dev curve


def evaluate(model_dir: Path, records: list[StepRecord], cfg: DemoConfig, template: str, path: Path) -> dict:
    """Greedy critiques of ``records`` with a vLLM engine on ``model_dir`` (``deepcritic eval``'s own evaluation):
    metrics and verdicts in order."""
    sampling = SamplingConfig(n=1, temperature=0.0, max_new_tokens=cfg.eval.max_new_tokens, seed=None)
    path.unlink(missing_ok=True)  # a rerun in the same directory evaluates a new model: start fresh
    critic = build_generator(ModelConfig(name_or_path=str(model_dir), dtype=cfg.model.dtype), cfg.grpo.rollout)
    try:
        rows = critique_records(
            critic,
            records,
            sampling,
            get_protocol("deepcritic", template=template),
            ResultStore(path),
            cfg.eval.batch_size,
            desc=path.stem,
        )
    finally:
        critic.close()
        del critic
        gc.collect()
    return {"metrics": benchmark_metrics(rows, [1]), "verdicts": [row["samples"][0]["verdict"] for row in rows]}


def trivial_critics(records: list[StepRecord], seed: int) -> dict[str, dict]:
    """Critics that do not read the steps: always "no wrong step", and a uniformly random verdict
    (-1 or any step) per record."""
    labels = [r.label for r in records]
    rng = random.Random(seed)
    guesses = {
        "always_no_error": [-1] * len(records),
        "random_step": [rng.randrange(-1, len(r.steps)) for r in records],
    }
    return {name: {**critic_f1(verdicts, labels), "parse_rate": 1.0} for name, verdicts in guesses.items()}


def _pick(metrics: dict) -> dict:
    return {k: metrics.get(k) for k in REPORTED}


# ---------------------------------------------------------------------------------------------------
# 7. Report


def report_demo(cfg: DemoConfig, out: Path, metrics: dict) -> None:
    """metrics.json, plot.png, the final table and the wandb run."""
    write_json(out / "metrics.json", metrics)
    curves = training_curves(out)
    plot = plot_demo(metrics, curves, out / "plot.png")
    _print_table(
        {
            "always no wrong step": metrics["baselines"]["always_no_error"],
            "random step": metrics["baselines"]["random_step"],
            "SFT (before GRPO)": metrics["before"],
            "SFT + GRPO (after)": metrics["after"],
        },
        f"held-out split ({metrics['held_out_records']} records)",
    )
    lo, hi = metrics["f1_delta_ci95"]
    timings = metrics["timings"]
    print(
        f"F1 after - before: {100 * metrics['f1_delta']:+.1f} points, paired bootstrap 95% CI "
        f"[{100 * lo:+.1f}, {100 * hi:+.1f}] ({metrics['bootstrap']['resamples']} resamples); "
        f"total {timings['total_s'] / 60:.1f} min, mean load average {timings['load_avg_mean']:.2f}"
    )
    _log_wandb(cfg, out, metrics, curves, plot)
    print(f"demo outputs in {out}: metrics.json, plot.png, predictions/, splits/, sft/final, grpo/final, wandb/")


def training_curves(out: Path) -> dict[str, list[tuple[int, float]]]:
    """SFT loss and GRPO reward per logged step, from the trainers' trainer_state.json."""

    def series(stage: str, key: str) -> list[tuple[int, float]]:
        path = out / stage / "trainer_state.json"
        history = json.loads(path.read_text())["log_history"] if path.is_file() else []
        return [(h["step"], h[key]) for h in history if key in h and "step" in h]

    return {"sft_loss": series("sft", "loss"), "grpo_reward": series("grpo", "reward")}


def plot_demo(metrics: dict, curves: dict, path: Path) -> Path:
    """Three panels: SFT loss; GRPO reward and dev F1 per step; held-out F1 of every critic with the CI."""
    plt = report.pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    if curves["sft_loss"]:
        axes[0].plot(*zip(*curves["sft_loss"]), color="tab:gray")
    axes[0].set(title="SFT: training loss", xlabel="optimizer step", ylabel="loss")
    if curves["grpo_reward"]:
        steps, rewards = zip(*curves["grpo_reward"])
        axes[1].plot(steps, rewards, color="tab:orange", alpha=0.5, label="reward (sampled critiques)")
        k = max(1, len(rewards) // 10)
        smooth = [
            sum(rewards[max(0, i - k + 1) : i + 1]) / len(rewards[max(0, i - k + 1) : i + 1])
            for i in range(len(rewards))
        ]
        axes[1].plot(steps, smooth, color="tab:orange", label=f"reward, mean of {k}")
    dev = [(p["step"], p["f1"]) for p in metrics["dev_curve"] if p["f1"] is not None]
    if dev:
        axes[1].plot(*zip(*dev), marker="o", color="tab:blue", label="dev F1 (greedy)")
    axes[1].set(title="GRPO: reward and dev F1", xlabel="optimizer step", ylim=(0, 1))
    axes[1].legend(fontsize="small", loc="lower right")
    names = ["always\nno wrong step", "random\nstep", "SFT", "SFT + GRPO"]
    values = [
        metrics["baselines"]["always_no_error"]["f1"],
        metrics["baselines"]["random_step"]["f1"],
        metrics["before"]["f1"],
        metrics["after"]["f1"],
    ]
    bars = axes[2].bar(names, [100 * (v or 0) for v in values], color=["#bbb", "#bbb", "tab:gray", "tab:blue"])
    for bar, v in zip(bars, values):
        axes[2].text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 1, _pct(v), ha="center", fontsize="small")
    lo, hi = metrics["f1_delta_ci95"]
    axes[2].set(
        title=f"held-out F1 ({metrics['held_out_records']} records); GRPO gain {100 * metrics['f1_delta']:+.1f}"
        f"\n(95% CI {100 * lo:+.1f} to {100 * hi:+.1f})",
        ylabel="F1 (%)",
        ylim=(0, 105),
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _print_table(critics: dict[str, dict], title: str) -> None:
    header = ["critic", "F1", "acc (wrong step)", "acc (no wrong step)", "parse rate"]
    rows = [
        [name, _pct(m["f1"]), _pct(m["acc_error"]), _pct(m["acc_correct"]), _pct(m["parse_rate"])]
        for name, m in critics.items()
    ]
    report.print_table(f"{title} (%)", header, rows)


def _pct(value: float | None) -> str:
    return report.pct(value)


def _log_wandb(cfg: DemoConfig, out: Path, metrics: dict, curves: dict, plot: Path) -> None:
    run = tracking.start_run(_stage_logger(cfg, "report", out), metrics["config"], out, f"demo-{out.name}")
    if run is None:
        return
    rows = [
        [name, m["f1"], m["acc_error"], m["acc_correct"], m["parse_rate"]]
        for name, m in [*metrics["baselines"].items(), ("sft", metrics["before"]), ("sft+grpo", metrics["after"])]
    ]
    for step, reward in curves["grpo_reward"]:
        run.log({"grpo/reward": reward, "grpo/step": step})
    report.log_wandb(
        run,
        {"demo/held_out": (["critic", "f1", "acc_error", "acc_correct", "parse_rate"], rows)},
        {"demo/plot": plot},
        report.flatten(
            "demo", {k: metrics[k] for k in ("before", "after", "baselines", "f1_delta", "held_out_records", "timings")}
        ),
    )
    run.summary["demo/f1_delta_ci95_low"], run.summary["demo/f1_delta_ci95_high"] = metrics["f1_delta_ci95"]
    tracking.finish(run)
