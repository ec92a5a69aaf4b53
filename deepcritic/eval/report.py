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
    """The eval run's table: one row per benchmark and an average row (see :func:`metrics_table_rows`)."""
    header, rows = metrics_table_rows(metrics)
    title = f"# Critic evaluation: {metrics.get('model')}\n\n"
    note = (
        "\nacc_error / acc_correct: accuracy (%) on records with / without a wrong step; F1: their harmonic "
        "mean (ProcessBench); parse: samples with a final verdict (%); tokens / chars: mean critique "
        f"length in generated tokens / characters; Maj@k: F1 of the majority verdict over k samples. "
        f"Samples per record: {metrics.get('sampling', {}).get('n')}.\n"
    )
    return title + markdown_table(header, rows) + note


def metrics_table_rows(metrics: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the eval table, shared by Markdown and wandb."""
    ks = [str(k) for k in metrics.get("maj_k", [])]
    header = [
        "benchmark",
        "records",
        "acc_error",
        "acc_correct",
        "F1",
        "parse",
        "tokens",
        "chars",
        *[f"Maj@{k} F1" for k in ks],
    ]
    rows = []
    for name, m in metrics["benchmarks"].items():
        rows.append(
            [
                name,
                str(m["records"]),
                pct(m["acc_error"]),
                pct(m["acc_correct"]),
                pct(m["f1"]),
                pct(m["parse_rate"]),
                num(m["mean_tokens"]),
                num(m["mean_chars"]),
                *[pct(m["maj"].get(k, {}).get("f1")) for k in ks],
            ]
        )
    avg = metrics["average"]
    rows.append(
        [
            "**average**",
            "",
            pct(avg["acc_error"]),
            pct(avg["acc_correct"]),
            pct(avg["f1"]),
            pct(avg["parse_rate"]),
            num(avg["mean_tokens"]),
            num(avg["mean_chars"]),
            *[pct(avg["maj"].get(k, {}).get("f1")) for k in ks],
        ]
    )
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
