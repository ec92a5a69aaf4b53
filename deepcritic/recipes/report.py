"""``deepcritic report runs=[runs/eval/a,runs/eval/b]``: several runs side by side.

Reads each run's metrics.json (globs allowed: ``runs=[runs/eval/*]``), picks one metric (``metric=f1`` by
default for eval runs; ``acc_error``, ``parse_rate``, ``maj@8``, ... ; ``accuracy`` for solve runs) and
writes report.md (models as rows, benchmarks as columns, plus an average column), report.json and
report.png to the report's run directory (or ``output``).
"""

from __future__ import annotations

import glob
import json
from pathlib import Path

from deepcritic.config import ReportConfig
from deepcritic.errors import DeepcriticError
from deepcritic.eval import report
from deepcritic.eval.compare import comparison, has_metric, run_labels
from deepcritic.runtime import run_dir
from deepcritic.store import write_json


def main(cfg: ReportConfig) -> dict:
    out_dir = Path(cfg.output) if cfg.output else run_dir()
    runs = _expand(cfg.runs)
    metrics = [_read_metrics(run) for run in runs]
    labels = run_labels(metrics, [run.name for run in runs], cfg.names)
    if cfg.names and len(cfg.names) != len(runs):
        raise DeepcriticError(f"names: {len(cfg.names)} names for {len(runs)} runs (after expanding globs)")
    protocols = [protocol_of(m) for m in metrics]
    mixed = len(set(protocols)) > 1
    if mixed:  # never one column of numbers made under different protocols without saying so
        labels = [f"{label} [{p}]" for label, p in zip(labels, protocols)]

    columns, table, metric = comparison(metrics, labels, cfg.metric)
    if not any(has_metric(b, metric) for m in metrics for b in [*m["benchmarks"].values(), m.get("average", {})]):
        raise DeepcriticError(
            f"metric={metric!r} is in none of the runs' metrics.json; try f1, acc_error, "
            "acc_correct, parse_rate, mean_tokens, maj@<k> (eval) or accuracy (solve)"
        )
    header = ["model", *columns]
    rows = [[label, *(_cell(metric, row[c]) for c in columns)] for label, row in table.items()]
    warning = (
        "**These runs use different evaluation protocols** ("
        + ", ".join(sorted(set(protocols)))
        + "): each row names its protocol; numbers across protocols are not directly comparable. Re-score "
        "saved predictions under one protocol with `deepcritic score`.\n\n"
        if mixed
        else f"Protocol: {protocols[0]}.\n\n"
    )
    markdown = (
        f"# {metric}\n\n"
        + warning
        + report.markdown_table(header, rows)
        + "\nRuns:\n\n"
        + "".join(f"- {label}: `{run}`\n" for label, run in zip(labels, runs))
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.md").write_text(markdown, encoding="utf-8")
    result = {"metric": metric, "runs": [str(r) for r in runs], "protocols": protocols, "table": table}
    write_json(out_dir / "report.json", result)
    groups = {c: {label: table[label][c] for label in table} for c in columns}
    if not metric.startswith("mean_"):  # fractions only; lengths are not percentages
        report.plot_bars(groups, f"{metric} by benchmark", f"{metric} (%)", out_dir / "report.png")
    report.print_table(f"deepcritic report: {metric}", header, rows)
    if mixed:
        print("warning: " + warning.replace("**", "").strip())
    print(
        f"report written to {out_dir}: report.md, report.json" + ("" if metric.startswith("mean_") else ", report.png")
    )
    return result


def _expand(patterns: list[str]) -> list[Path]:
    runs: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        runs += [Path(m) for m in matches if Path(m, "metrics.json").is_file() or not glob.has_magic(pattern)]
    if not runs:
        raise DeepcriticError(f"runs={patterns}: no run directory with a metrics.json matches")
    return runs


def _read_metrics(run: Path) -> dict:
    path = run / "metrics.json"
    if not path.is_file():
        raise DeepcriticError(
            f"{path} not found: each entry of runs must be a finished run directory "
            "(deepcritic eval / solve / refine / verify-vote)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DeepcriticError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), dict):
        raise DeepcriticError(f"{path} has no 'benchmarks' section; is it a deepcritic metrics file?")
    return data


def protocol_of(metrics: dict) -> str:
    """The protocol a run's numbers were made under (runs from before protocols existed used deepcritic's)."""
    if metrics.get("recipe") not in (None, "eval", "score"):
        return "n/a"
    return (metrics.get("protocol") or {}).get("name", "deepcritic")


def _cell(metric: str, value: float | None) -> str:
    return report.num(value) if metric.startswith("mean_") else report.pct(value)
