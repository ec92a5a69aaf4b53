"""Writing results: metrics JSON, Markdown tables, PNG plots, wandb tables.

Tables show fractions as percentages with one decimal; a metric that is not defined (e.g. F1 of a
benchmark with only one class) shows as "—".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deepcritic.store import write_json

DASH = "—"


def pct(value: float | None) -> str:
    """``0.4567`` -> ``"45.7"``; None / NaN -> ``"—"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    return f"{100 * value:.1f}"


def num(value: float | None, digits: int = 1) -> str:
    """A plain number with ``digits`` decimals; None -> ``"—"``."""
    return DASH if value is None else f"{value:.{digits}f}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table; ``|`` in cells is escaped."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(r) for r in rows)]) + "\n"


def eval_markdown(metrics: Mapping[str, Any]) -> str:
    """The eval run's report: how the numbers were made (protocol, decoding, samples), then one row per benchmark
    and an average row (see :func:`metrics_table_rows`)."""
    header, rows = metrics_table_rows(metrics)
    title = f"# Critic evaluation: {metrics.get('model')}\n\n"
    note = (
        "\nacc_error / acc_correct: accuracy (%) on records with / without a wrong step; F1: their harmonic "
        "mean (ProcessBench), with the protocol's reader; strict F1: the same with the strict reader (a well-formed "
        "final answer only), so the gap is what lenient reading adds; parse / strict parse: samples with a verdict "
        "(%); trunc: samples cut at the token limit (%); tokens / chars: mean critique length; Maj@k: F1 of the "
        "protocol's vote over the first k samples; vote F1: over all of each record's samples.\n"
    )
    return title + how_made(metrics) + markdown_table(header, rows) + note + mr_gsm8k_markdown(metrics)


def how_made(metrics: Mapping[str, Any]) -> str:
    """The lines that say how the numbers were made: protocol, prompt, decoding, samples per benchmark."""
    protocol = metrics.get("protocol") or {"name": "deepcritic"}
    decoding = metrics.get("decoding") or {}
    used = decoding.get("used") or metrics.get("sampling") or {}
    if decoding.get("matches"):
        verdict = f"the protocol's official {decoding['matches']} decoding"
    elif decoding.get("differs"):
        verdict = "differs from the official decoding: " + ", ".join(
            f"{k} {v['used']} (official {v['official']})" for k, v in decoding["differs"].items()
        )
    else:
        verdict = "as configured"
    if decoding.get("stated_only"):
        verdict += "; as stated for the saved outputs, not verified"
    lines = [
        f"- protocol: **{protocol['name']}**"
        + (f" (prompt: {protocol['template']})" if protocol.get("template") else ""),
        "- decoding: " + ", ".join(f"{k}={v}" for k, v in used.items()) + f" ({verdict})",
    ]
    lines += [f"- quirk reproduced: {q}" for q in protocol.get("quirks", [])]
    for name, sample in (metrics.get("samples") or {}).items():
        lines.append(f"- {name}: {sample['records']} of {sample['of']} records, {sample['how']}")
    return "\n".join(lines) + "\n\n"


def mr_gsm8k_markdown(metrics: Mapping[str, Any]) -> str:
    """MR-GSM8K's task table, for benchmarks scored under the mr_gsm8k protocol (empty otherwise)."""
    keys = ["t1_tpr", "t1_tnr", "t1_mcc", "t2_accuracy", "t3_accuracy", "t3_accuracy_strict", "mr_score"]
    rows = [
        [name, *(pct(t.get(k)) for k in keys)] for name, m in metrics["benchmarks"].items() if (t := m.get("mr_gsm8k"))
    ]
    if not rows:
        return ""
    header = ["benchmark", "task 1 TPR", "task 1 TNR", "task 1 MCC", "task 2 acc", "task 3 acc", "task 3 strict"]
    note = (
        "\nTask 3 and MR-Score need a grader (grader.enabled=true): — without one. Task 3 strict counts a plain "
        '"Correct" decision only; the official count takes any decision containing "correct".\n'
    )
    return "\n## MR-GSM8K tasks\n\n" + markdown_table([*header, "MR-Score"], rows) + note


def metrics_table_rows(metrics: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the eval table, shared by Markdown and wandb."""
    ks = [str(k) for k in metrics.get("maj_k", [])]
    header = ["benchmark", "records", "acc_error", "acc_correct", "F1", "strict F1", "parse", "strict parse"]
    header += ["trunc", "tokens", "chars", *[f"Maj@{k} F1" for k in ks], "vote F1"]

    def cells(name: str, records: str, m: Mapping[str, Any]) -> list[str]:
        return [
            name,
            records,
            *(pct(m.get(key)) for key in ("acc_error", "acc_correct", "f1", "strict_f1", "parse_rate")),
            pct(m.get("strict_parse_rate")),
            pct(m.get("truncation_rate")),
            num(m.get("mean_tokens")),
            num(m.get("mean_chars")),
            *[pct(m.get("maj", {}).get(k, {}).get("f1")) for k in ks],
            pct((m.get("vote") or {}).get("f1")),
        ]

    rows = [cells(name, str(m["records"]), m) for name, m in metrics["benchmarks"].items()]
    rows.append(cells("**average**", "", metrics["average"]))
    return header, rows


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a table on the console (rich), the first column never wrapped."""
    import sys

    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for i, name in enumerate(header):
        table.add_column(name, no_wrap=i == 0, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*[str(c).replace("**", "") for c in row])
    Console(width=None if sys.stdout.isatty() else 200).print(table)  # logs and pipes: no squeezed columns


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_bars(groups: Mapping[str, Mapping[str, float | None]], title: str, ylabel: str, path: Path) -> Path:
    """Grouped bars: one group per key of ``groups`` (e.g. a benchmark), one bar per series within it.

    Values are fractions, drawn as percentages; None draws no bar. Returns ``path``.
    """
    plt = pyplot()
    names = list(groups)
    series = list(dict.fromkeys(s for g in groups.values() for s in g))
    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.4 * len(names) * max(len(series), 1) / 2 + 2), 3.8))
    for j, s in enumerate(series):
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(names))]
        ys = [100 * v if (v := groups[n].get(s)) is not None else 0.0 for n in names]
        bars = ax.bar(xs, ys, width, label=s)
        for bar, n in zip(bars, names):
            if groups[n].get(s) is None:
                bar.set_visible(False)
    ax.set_xticks(
        range(len(names)), names, rotation=20 if len(names) > 4 else 0, ha="right" if len(names) > 4 else "center"
    )
    ax.set_ylim(0, 100)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(series) > 1:
        ax.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_curves(
    curves: Mapping[str, Mapping[int, float | None]], title: str, xlabel: str, ylabel: str, path: Path
) -> Path:
    """One line per key of ``curves`` over integer x (e.g. k of Maj@k); fractions drawn as percentages."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for name, points in curves.items():
        xs = sorted(k for k, v in points.items() if v is not None)
        ax.plot(xs, [100 * points[k] for k in xs], marker="o", label=name)
    all_x = sorted({k for p in curves.values() for k in p})
    if all_x:
        ax.set_xscale("log", base=2)
        ax.set_xticks(all_x, [str(k) for k in all_x])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_training_eval(
    curves: Mapping[str, Mapping[int, float]], reward: Mapping[int, float], path: Path, metric: str = "F1"
) -> Path:
    """In-training evaluation: ``metric`` per benchmark against the optimizer step; beside it, when the run logged
    one, the GRPO reward per logged step (the training signal the evaluations are meant to track)."""
    plt = pyplot()
    panels = 2 if reward else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.8), squeeze=False)
    ax = axes[0][0]
    for name, points in curves.items():
        xs = sorted(points)
        ax.plot(xs, [100 * points[x] for x in xs], marker="o", label=name)
    ax.set(title=f"held-out {metric} during training", xlabel="optimizer step", ylabel=f"{metric} (%)")
    ax.legend(fontsize="small")
    if reward:
        xs = sorted(reward)
        axes[0][1].plot(xs, [reward[x] for x in xs], color="tab:orange")
        axes[0][1].set(title="GRPO reward", xlabel="optimizer step", ylabel="mean reward", ylim=(0, 1))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def log_wandb(
    run: Any | None,
    tables: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]],
    images: Mapping[str, Path],
    summary: Mapping[str, Any],
) -> None:
    """Log tables (name -> (columns, rows)), PNG images and summary values to a wandb run (None: no-op)."""
    if run is None:
        return
    import wandb

    payload: dict[str, Any] = {
        name: wandb.Table(columns=list(cols), data=[list(r) for r in rows]) for name, (cols, rows) in tables.items()
    }
    payload.update({name: wandb.Image(str(p)) for name, p in images.items()})
    run.log(payload)
    for key, value in summary.items():
        run.summary[key] = value


def flatten(prefix: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"prefix/a/b": 1}``; None values are dropped (wandb summaries)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flatten(name, value))
        elif value is not None and not isinstance(value, (list, tuple)):
            out[name] = value
    return out


def column_table(
    per_benchmark: Mapping[str, Mapping[str, Any]], average: Mapping[str, Any], columns: Sequence[tuple[str, str, str]]
) -> tuple[list[str], list[list[str]]]:
    """(header, rows) with one row per benchmark and an average row; ``columns`` are (title, key, kind),
    kind ``pct`` (fraction shown as %), ``num`` (one decimal) or ``int``. ``maj@k`` keys read
    ``maj[k].accuracy``."""

    def cell(m: Mapping[str, Any], key: str, kind: str) -> str:
        value = m.get("maj", {}).get(key[4:], {}).get("accuracy") if key.startswith("maj@") else m.get(key)
        if kind == "int":
            return DASH if value is None else str(value)
        return pct(value) if kind == "pct" else num(value)

    header = ["benchmark", *[c[0] for c in columns]]
    rows = [[name, *[cell(m, key, kind) for _, key, kind in columns]] for name, m in per_benchmark.items()]
    rows.append(["**average**", *[cell(average, key, kind) for _, key, kind in columns]])
    return header, rows


def mean_over(per_benchmark: Mapping[str, Mapping[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    """Unweighted mean over benchmarks of each key (None values left out) and of each ``maj[k]`` entry."""

    def mean(values: list[Any]) -> float | None:
        kept = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return sum(kept) / len(kept) if kept else None

    out: dict[str, Any] = {key: mean([m.get(key) for m in per_benchmark.values()]) for key in keys}
    ks = list(dict.fromkeys(k for m in per_benchmark.values() for k in m.get("maj", {})))
    out["maj"] = {
        k: {
            field: mean([m.get("maj", {}).get(k, {}).get(field) for m in per_benchmark.values()])
            for field in dict.fromkeys(f for m in per_benchmark.values() for f in m.get("maj", {}).get(k, {}))
        }
        for k in ks
    }
    return out


def write_run_outputs(
    out_dir: Path,
    metrics: Mapping[str, Any],
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    note: str,
    plots: Mapping[str, Path],
    wandb_run: Any | None,
    prefix: str,
) -> None:
    """metrics.json, metrics.md (title, table, note), wandb (table, plots, flattened summary), console table."""
    write_json(out_dir / "metrics.json", metrics)
    (out_dir / "metrics.md").write_text(
        f"# {title}\n\n" + markdown_table(header, rows) + f"\n{note}\n", encoding="utf-8"
    )
    log_wandb(
        wandb_run,
        {f"{prefix}/metrics": (header, rows)},
        {f"{prefix}/{name}": p for name, p in plots.items()},
        flatten(prefix, {"average": metrics["average"], **metrics["benchmarks"]}),
    )
    print_table(title, header, rows)
    print(
        f"{prefix} outputs in {out_dir}: metrics.json, metrics.md, "
        + ", ".join(str(p.relative_to(out_dir)) for p in plots.values())
    )


def prediction_table(rows: list[dict], limit: int = 200) -> tuple[list[str], list[list]]:
    """A wandb table of the first ``limit`` records: label, vote, first sample's verdict (cut to 2000 chars)."""
    columns = ["id", "label", "majority", "verdict_0", "critique_0"]
    return columns, [
        [r["id"], r["label"], r["majority"], r["samples"][0]["verdict"], r["samples"][0]["text"][:2000]]
        for r in rows[:limit]
        if r["samples"]
    ]


def write_eval_outputs(out_dir: Path, metrics: dict, predictions: Mapping[str, list[dict]], wandb_run: Any) -> None:
    """What ``eval`` and ``score`` write: metrics.json, metrics.md, the F1 and Maj@k plots, wandb tables and
    summary, and the console table."""
    write_json(out_dir / "metrics.json", metrics)
    (out_dir / "metrics.md").write_text(eval_markdown(metrics), encoding="utf-8")
    groups = {
        name: {
            "acc_error": m["acc_error"],
            "acc_correct": m["acc_correct"],
            "F1": m["f1"],
            "strict F1": m.get("strict_f1"),
        }
        for name, m in metrics["benchmarks"].items()
    }
    title = f"{Path(str(metrics['model'])).name}: {(metrics.get('protocol') or {}).get('name', 'deepcritic')} protocol"
    f1_png = plot_bars(groups, title, "%", out_dir / "plots" / "f1_per_benchmark.png")
    curves = {name: {int(k): v["f1"] for k, v in m["maj"].items()} for name, m in metrics["benchmarks"].items()}
    curves["average"] = {int(k): v["f1"] for k, v in metrics["average"]["maj"].items()}
    maj_png = plot_curves(curves, "Maj@k", "k (samples voted)", "F1 (%)", out_dir / "plots" / "maj_at_k.png")
    header, rows = metrics_table_rows(metrics)
    maj_rows = [[name, k, f1] for name, curve in curves.items() for k, f1 in curve.items()]
    log_wandb(
        wandb_run,
        {
            "eval/metrics": (header, rows),
            "eval/maj_at_k": (["benchmark", "k", "f1"], maj_rows),
            **{f"eval/predictions/{name}": prediction_table(rs) for name, rs in predictions.items()},
        },
        {"eval/f1_per_benchmark": f1_png, "eval/maj_at_k_plot": maj_png},
        flatten("eval", {"average": metrics["average"], **metrics["benchmarks"]}),
    )
    print_table(f"deepcritic {metrics['recipe']}: {metrics['model']} (%)", header, rows)
    written = "metrics.json, metrics.md, " + ("predictions/, " if metrics["recipe"] == "eval" else "") + "plots/"
    print(f"{metrics['recipe']} outputs in {out_dir}: {written}")
