"""``deepcritic convert``: load any supported source, validate every record, write data-contract JSONL.

Reads top to bottom: the Hub push's token (``hub.push``), load (bad records raise, or are skipped and written to
a rejects file), write (``output``: JSON Lines, or parquet for a ``.parquet`` name), summarize (records, with an
error, without, skipped by reason) to the console and summary.json; push the records as a Hub data set with a
dataset card (source, counts, label balance, the converter's settings) when ``hub.push`` is on.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from deepcritic import hub
from deepcritic.cards import DatasetInfo, used_settings
from deepcritic.config import ConvertConfig
from deepcritic.data import load_records
from deepcritic.data.summary import summarize
from deepcritic.runtime import run_dir
from deepcritic.store import write_json, write_rows


def main(cfg: ConvertConfig) -> dict:
    out_dir = run_dir()
    output = Path(cfg.output) if cfg.output else out_dir / "records.jsonl"
    hub.check_dataset_push(cfg.hub)  # no token: fail before reading anything

    result = load_records(cfg.data, rejects_default=out_dir / "rejects.jsonl")
    rows = [r.to_dict() for r in result.records]
    write_rows(rows, output)

    summary = {**summarize(result), "output": str(output), "source": cfg.data.source, "input": cfg.data.path}
    write_json(out_dir / "summary.json", summary)
    _print_summary(summary)
    hub.publish_rows(cfg.hub, rows, _dataset_info(cfg, summary), out_dir, summary)
    return summary


def _dataset_info(cfg: ConvertConfig, summary: dict) -> DatasetInfo:
    """What the dataset card says: the source, counts and the converter's settings."""
    d = cfg.data
    where = d.path or (f"hf://{d.hub_name}" if d.hub_name else "the built-in task" if d.source == "synthetic" else "")
    return DatasetInfo(
        recipe="convert",
        title=f"{d.name or d.source} records (deepcritic data contract)",
        source=f"source `{d.source}` ({where})" if where else f"source `{d.source}`",
        rows=summary["records"],
        balance={"with a wrong step": summary["with_error"], "without": summary["without_error"]},
        settings={"data": used_settings(d), "skipped": summary["skipped"]},
    )


def _print_summary(summary: dict) -> None:
    table = Table(title=f"deepcritic convert → {summary['output']}", show_header=False)
    table.add_row("records", str(summary["records"]))
    table.add_row("with a wrong step", str(summary["with_error"]))
    table.add_row("without", str(summary["without_error"]))
    skipped = summary.get("skipped") or {}
    table.add_row("skipped", str(sum(skipped.values())))
    for reason, count in sorted(skipped.items()):
        table.add_row(f"  {reason}", str(count))
    table.add_row("duplicates dropped", str(summary["duplicates_dropped"]))
    for phase, counts in (summary.get("prm800k") or {}).items():
        kinds = ", ".join(f"{kind} {n}" for kind, n in counts["kinds"].items())
        table.add_row(
            f"PRM800K {phase}",
            f"{counts['records']} ({counts['with_error']} with a wrong step; {kinds}; "
            f"{counts['human_step_share']:.1%} hold a human-written step)",
        )
    if summary.get("rejects"):
        table.add_row("rejects file", summary["rejects"])
    Console().print(table)
