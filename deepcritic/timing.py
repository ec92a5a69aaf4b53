"""Wall time per stage of a multi-stage recipe, and the machine's load while it ran.

Figures taken on a shared machine mean little without the load next to them, so the clock samples the
1-minute load average every few seconds and reports its mean and maximum with the stage times.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

#: Seconds of the phases before a run starts that the CLI times itself (validation, the recipe's imports).
EARLY: dict[str, float] = {}
_process_claimed = False  # the first clock of a process reports the time before it; later runs (the demo's) do not


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


@contextlib.contextmanager
def early_phase(name: str) -> Iterator[None]:
    """Time a phase before the run starts (into :data:`EARLY`, which the run's :class:`StartupClock` reports)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        EARLY[name] = EARLY.get(name, 0.0) + time.perf_counter() - start


def seconds_since_process_start() -> float | None:
    """Wall seconds since this process started (interpreter, imports, Hydra, config checks), or None when the
    start time cannot be read."""
    try:
        import psutil

        return max(0.0, time.time() - psutil.Process().create_time())
    except Exception:  # no psutil, or a platform without process start times: the figure is left out
        return None


class StartupClock:
    """Wall seconds of a training run's fixed phases before (and after) training, for its start-up cost.

    Before the run: ``startup/config_s`` and ``startup/imports_s`` (validation and the recipe's imports, timed by
    the CLI: :func:`early_phase`) and ``startup/process_s``, the rest since the process started (interpreter,
    the CLI, Hydra's composition), for the first run of a process only (the demo runs two); then each
    :meth:`mark` closes the phase named since the last mark. A GPU user's run pays the same phases at a larger
    scale (a 7B model's load, a vLLM engine's start), so they are logged, not guessed.
    """

    def __init__(self) -> None:
        global _process_claimed
        self.phases: dict[str, float] = {}
        before = None if _process_claimed else seconds_since_process_start()
        if before is not None:
            self.phases["process"] = max(0.0, before - sum(EARLY.values()))
            self.phases.update(EARLY)
        _process_claimed = True
        self._last = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - self._last
        self._last = now

    def skip(self) -> None:
        """Start the next phase now, leaving the time since the last mark out (training itself)."""
        self._last = time.perf_counter()

    def metrics(self) -> dict[str, float]:
        return {f"startup/{k}_s": round(v, 2) for k, v in self.phases.items()}

    def line(self) -> str:
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in self.phases.items())
        return f"start-up {sum(self.phases.values()):.1f} s: {parts}"
