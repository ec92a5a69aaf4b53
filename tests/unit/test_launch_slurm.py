"""launch/slurm.sbatch under a preemption, with stand-ins for `srun` and `scontrol` on PATH: the SIGTERM that
SLURM sends the batch script (``--signal=B:TERM@300``) reaches the training step, and the job is requeued when
training stopped for it (and only then)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.env import minimal_env
from tests.helpers.paths import LAUNCH, REPO

SRUN = """#!/usr/bin/env bash
trap 'kill $child 2>/dev/null; echo TERM > "$STUBS/srun.signal"; exit 143' TERM
if [[ "$SRUN_EXIT" == "now" ]]; then echo "$@" > "$STUBS/srun.args"; exit 0; fi
sleep 60 >/dev/null 2>&1 & child=$!
echo "$@" > "$STUBS/srun.args"
wait $child
"""
SCONTROL = """#!/usr/bin/env bash
echo "$@" >> "$STUBS/scontrol.calls"
"""


@pytest.fixture
def stubs(tmp_path) -> Path:
    for name, body in (("srun", SRUN), ("scontrol", SCONTROL)):
        path = tmp_path / name
        path.write_text(body)
        path.chmod(0o755)
    return tmp_path


def _start(stubs: Path, **env: str) -> subprocess.Popen:
    full = minimal_env(
        PATH=f"{stubs}:{minimal_env()['PATH']}",
        STUBS=str(stubs),
        SLURM_JOB_ID="42",
        MASTER_ADDR="gpu01",
        DEEPCRITIC_ROOT=str(REPO),
        **env,
    )
    return subprocess.Popen(
        ["bash", str(LAUNCH / "slurm.sbatch"), "sft"],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_sigterm_reaches_the_training_step_and_the_job_is_requeued(stubs):
    proc = _start(stubs)
    _wait_for(stubs / "srun.args")
    proc.send_signal(signal.SIGTERM)  # what SLURM sends the batch script 300 s before the end, or on preemption
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert (stubs / "srun.signal").read_text().strip() == "TERM"  # passed on to srun (and so to torchrun)
    assert (stubs / "scontrol.calls").read_text().split() == ["requeue", "42"]
    assert "requeueing job 42; it resumes from runs/sft/slurm-42" in err
    assert "hydra.run.dir=runs/sft/slurm-42" in (stubs / "srun.args").read_text()


def test_no_requeue_when_asked_not_to(stubs):
    proc = _start(stubs, REQUEUE="0")
    _wait_for(stubs / "srun.args")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 143 and not (stubs / "scontrol.calls").exists()


def test_a_finished_run_is_not_requeued(stubs):
    proc = _start(stubs, SRUN_EXIT="now")
    proc.communicate(timeout=30)
    assert proc.returncode == 0 and not (stubs / "scontrol.calls").exists()
