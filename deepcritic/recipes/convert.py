"""``deepcritic convert``: load any supported source, validate every record, write data-contract JSONL.

Reads top to bottom: load (bad records raise, or are skipped and written to a rejects file), write,
summarize (records, with an error, without, skipped by reason) to the console and summary.json.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from deepcritic.config import ConvertConfig
from deepcritic.data import load_records, write_jsonl
from deepcritic.data.summary import summarize
from deepcritic.runtime import run_dir
from deepcritic.store import write_json


def main(cfg: ConvertConfig) -> dict:
    out_dir = run_dir()
    output = Path(cfg.output) if cfg.output else out_dir / "records.jsonl"

    result = load_records(cfg.data, rejects_default=out_dir / "rejects.jsonl")
    write_jsonl(result.records, output)

    summary = {**summarize(result), "output": str(output), "source": cfg.data.source, "input": cfg.data.path}
    write_json(out_dir / "summary.json", summary)
    _print_summary(summary)
    return summary


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
