"""Wall time per stage of a multi-stage recipe, and the machine's load while it ran.

Figures taken on a shared machine mean little without the load next to them, so the clock samples the
1-minute load average every few seconds and reports its mean and maximum with the stage times.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any


class StageClock:
    """Stage banners with the elapsed time; wall time per stage and the load average sampled every 5 s."""

    def __init__(self, every_s: float = 5.0):
        self.start = time.perf_counter()
        self.stages: dict[str, float] = {}
        self.current: tuple[str, float] | None = None
        self.loads: list[float] = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(every_s,), daemon=True)
        self._thread.start()

    def _sample(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.loads.append(os.getloadavg()[0])

    def _close_stage(self) -> None:
        if self.current:
            name, began = self.current
            self.stages[name] = time.perf_counter() - began

    def stage(self, name: str, title: str) -> None:
        self._close_stage()
        self.current = (name, time.perf_counter())
        elapsed = time.perf_counter() - self.start
        from rich.console import Console

        Console(highlight=False).rule(
            f"[bold]{title}[/]  [dim]{elapsed // 60:.0f}:{elapsed % 60:02.0f} elapsed, "
            f"load average {os.getloadavg()[0]:.1f}[/]"
        )

    def finish(self) -> dict[str, Any]:
        self._close_stage()
        self._stop.set()
        return {
            **{f"{k}_s": round(v, 1) for k, v in self.stages.items()},
            "total_s": round(time.perf_counter() - self.start, 1),
            "load_avg_mean": round(sum(self.loads) / len(self.loads), 2),
            "load_avg_max": round(max(self.loads), 2),
            "cpu_count": os.cpu_count(),
        }
