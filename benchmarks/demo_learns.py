"""Does the built-in demo learn? Run the full `deepcritic demo` and check its claims; exit 1 if one fails.

Claims, all on the held-out split (never used for a choice):
  1. GRPO raises F1 over the SFT checkpoint: the paired bootstrap 95% CI of F1(after) - F1(before) lies
     above zero, on at least 400 held-out records;
  2. SFT clearly beats the trivial critics (always "no wrong step", a random step): F1 at least
     ``--sft-margin`` points above the better of them;
  3. optionally (``--max-minutes``), the whole demo fits in that many minutes.

    python benchmarks/demo_learns.py                        # full demo in runs/demo/learns-<time>
    python benchmarks/demo_learns.py --run-dir runs/demo/x  # or check a finished run: --check-only
    python benchmarks/demo_learns.py --max-minutes 20 -- eval.bootstrap_seed=1   # extra overrides after --

Prints the before/after figures, the CI, the wall time and the load average during the run (the machine is
often shared: note it next to any time you report).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIN_HELD_OUT = 400


def run_demo(run_dir: Path, overrides: list[str]) -> float:
    exe = shutil.which("deepcritic", path=str(Path(sys.executable).parent)) or "deepcritic"
    cmd = [exe, "demo", f"hydra.run.dir={run_dir}", *overrides]
    print("running:", " ".join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True, env={**os.environ, "WANDB_MODE": os.environ.get("WANDB_MODE", "offline")})
    return time.perf_counter() - start


def check(metrics: dict, sft_margin: float, max_minutes: float | None, wall_s: float | None) -> list[str]:
    """The failed claims (empty when every claim holds)."""
    failures = []
    lo, hi = metrics["f1_delta_ci95"]
    n = metrics["held_out_records"]
    if n < MIN_HELD_OUT:
        failures.append(f"only {n} held-out records; the claim needs at least {MIN_HELD_OUT}")
    if not lo > 0:
        failures.append(
            f"GRPO gain not significant: F1 delta {metrics['f1_delta']:+.4f}, 95% CI [{lo:+.4f}, {hi:+.4f}]"
        )
    best_trivial = max(b["f1"] or 0.0 for b in metrics["baselines"].values())
    if not (metrics["before"]["f1"] or 0.0) >= best_trivial + sft_margin / 100:
        failures.append(
            f"SFT F1 {metrics['before']['f1']:.4f} is not {sft_margin} points above the best trivial "
            f"critic ({best_trivial:.4f})"
        )
    minutes = (wall_s if wall_s is not None else metrics["timings"]["total_s"]) / 60
    if max_minutes is not None and minutes > max_minutes:
        failures.append(f"the demo took {minutes:.1f} min, over {max_minutes}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, default=None, help="default: runs/demo/learns-<time>")
    parser.add_argument("--check-only", action="store_true", help="read the metrics.json of a finished run")
    parser.add_argument("--sft-margin", type=float, default=30.0, help="F1 points SFT must beat trivial critics by")
    parser.add_argument("--max-minutes", type=float, default=None, help="fail when the demo takes longer")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for the demo (after --)")
    args = parser.parse_args()
    run_dir = args.run_dir or REPO / "runs" / "demo" / time.strftime("learns-%Y-%m-%d_%H-%M-%S")
    wall_s = None
    if not args.check_only:
        load_before = os.getloadavg()[0]
        wall_s = run_demo(run_dir, args.overrides)
        print(f"wall time {wall_s / 60:.1f} min (load average at start {load_before:.2f})")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    b, a, t = metrics["before"], metrics["after"], metrics["timings"]
    print(
        json.dumps(
            {
                "held_out_records": metrics["held_out_records"],
                "before": b,
                "after": a,
                "baselines": metrics["baselines"],
                "f1_delta": metrics["f1_delta"],
                "f1_delta_ci95": metrics["f1_delta_ci95"],
                "timings": t,
            },
            indent=2,
        )
    )
    failures = check(metrics, args.sft_margin, args.max_minutes, wall_s)
    for failure in failures:
        print("FAIL:", failure)
    if not failures:
        lo, hi = metrics["f1_delta_ci95"]
        print(
            f"PASS: F1 {100 * b['f1']:.1f} -> {100 * a['f1']:.1f} ({100 * metrics['f1_delta']:+.1f} points, 95% CI "
            f"[{100 * lo:+.1f}, {100 * hi:+.1f}]) on {metrics['held_out_records']} held-out records"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
