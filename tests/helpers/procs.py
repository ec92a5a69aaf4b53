"""Long-running CLI processes for the reliability tests: start one in its own session, wait for a condition,
kill it (SIGKILL, as a crash or the OOM killer does) or preempt it (SIGTERM, as SLURM does)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers.env import clean_env
from tests.helpers.paths import DEEPCRITIC


class CliProcess:
    """``deepcritic <args>`` in the background; stdout and stderr go to ``log``."""

    def __init__(self, *args: str, log: Path, env: dict | None = None):
        self.log = log
        full_env = {
            **clean_env(),
            "WANDB_MODE": "offline",
            "HYDRA_FULL_ERROR": "0",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self._fh = log.open("w")
        self.proc = subprocess.Popen(
            [str(DEEPCRITIC), *args], env=full_env, stdout=self._fh, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``condition`` every 50 ms; fail if the process ends first or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"process ended (rc {self.proc.returncode}) before {what}:\n{self.output()[-4000:]}"
                )
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"timed out after {timeout}s waiting for {what}:\n{self.output()[-4000:]}")

    def kill(self) -> int:
        """SIGKILL to the whole process group (the trainer and anything it started); returns the exit status."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        return self.finish(60)

    def terminate(self, timeout: float) -> int:
        """SIGTERM to the main process only (what SLURM sends to a job step); waits for it to exit."""
        self.proc.send_signal(signal.SIGTERM)
        return self.finish(timeout)

    def finish(self, timeout: float) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait(30)
        self._fh.close()
        return rc


def complete_checkpoint(path: Path) -> bool:
    """A checkpoint whose trainer_state.json (written last) is there and parses."""
    try:
        json.loads((path / "trainer_state.json").read_text())
    except (OSError, ValueError):
        return False
    return True


def file_lines(path: Path) -> int:
    """Complete lines in ``path`` (0 if it does not exist)."""
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def worker_pid(launcher_pid: int, rank: int, timeout: float = 120) -> int:
    """The pid of the training process of ``rank`` under a launcher (accelerate / torchrun): the descendant whose
    environment says ``RANK=<rank>`` and that runs deepcritic."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in psutil.Process(launcher_pid).children(recursive=True):
            try:
                if child.environ().get("RANK") == str(rank) and "deepcritic" in " ".join(child.cmdline()):
                    return child.pid
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        time.sleep(0.2)
    raise AssertionError(f"no rank-{rank} process under {launcher_pid} after {timeout}s")


def preempt_one_rank(cmd: list[str], log: Path, env: dict, cwd: Path, rank: int = 1, after: str = "'loss'") -> str:
    """Run a multi-process launch ``cmd``, send SIGTERM to the training process of ``rank`` alone once ``after``
    appears in the output (the first logged step), wait for the launch to end; returns its output."""
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        pid = worker_pid(proc.pid, rank)
        deadline = time.monotonic() + 400
        while after not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {after!r} before the run ended or timed out:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        os.kill(pid, signal.SIGTERM)
        proc.wait(300)
    return log.read_text(errors="replace")
