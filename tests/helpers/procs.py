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
