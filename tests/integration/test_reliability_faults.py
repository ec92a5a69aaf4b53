"""Faults of the machine and of the numbers, through the real CLI (`deepcritic sft` on the tiny Qwen2):

- the disk fills up while a checkpoint is written (injected: the write stops half way with ENOSPC): one line that
  names the file and the intact previous checkpoint, exit status 2; the rerun resumes from that checkpoint;
- a checkpoint whose safetensors file the filesystem cut short is skipped in favour of the one before;
- an unwritable run directory: one line before anything runs;
- a NaN loss (injected at one step): with ``train.nonfinite=stop`` the update is not applied, training stops with
  one line naming the last checkpoint and no final model; with ``skip`` that step leaves the weights as they were
  and training goes on.

The faults come from ``tests/helpers/faults/sitecustomize.py``, loaded into the subprocess through PYTHONPATH.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from tests.helpers.cli import run_cli
from tests.helpers.faults import fault_env

SFT = [
    "data.synthetic.num_records=24",
    "train.global_batch_size=2",
    "train.per_device_batch_size=2",
    "train.learning_rate=2e-3",
    "train.logging_steps=1",
    "train.save_steps=2",
    "train.max_length=560",
    "train.drop_overlong=true",
    "logger=disabled",
    "model.from_scratch=false",
]


def _sft(model: Path, run_dir: Path, steps: int, *extra: str) -> list[str]:
    return ["sft", f"hydra.run.dir={run_dir}", f"model.name_or_path={model}", f"train.max_steps={steps}", *SFT, *extra]


def _error_lines(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("error: ")]


def _weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(path / "model.safetensors")


def test_a_full_disk_while_checkpointing_is_one_line_and_the_run_resumes(tiny_qwen2, tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli(*_sft(tiny_qwen2, run_dir, 6), env=fault_env(no_space="checkpoint-4"))
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    (line,) = _error_lines(proc)
    assert line.startswith(f"error: cannot write {run_dir / 'checkpoint-4'}") and "No space left on device" in line
    assert f"the newest complete checkpoint, {run_dir / 'checkpoint-2'}, is intact" in line
    assert not (run_dir / "final").exists()
    # space freed: the same command resumes from checkpoint-2 (checkpoint-4 is a half-written directory) and ends
    again = run_cli(*_sft(tiny_qwen2, run_dir, 6))
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resuming from {run_dir / 'checkpoint-2'}" in again.stdout + again.stderr
    assert json.loads((run_dir / "trainer_state.json").read_text())["global_step"] == 6


def test_a_checkpoint_cut_short_is_skipped_for_the_one_before(tiny_qwen2, tmp_path):
    run_dir = tmp_path / "run"
    assert run_cli(*_sft(tiny_qwen2, run_dir, 4)).returncode == 0
    cut = run_dir / "checkpoint-4" / "model.safetensors"
    cut.write_bytes(cut.read_bytes()[:-100])  # its trainer_state.json is fine: only the size gives it away
    again = run_cli(*_sft(tiny_qwen2, run_dir, 6))
    assert again.returncode == 0, again.stderr[-3000:]
    output = again.stdout + again.stderr
    assert f"skipping {run_dir / 'checkpoint-4'}: incomplete" in output
    assert f"resuming from {run_dir / 'checkpoint-2'}" in output


def test_an_unwritable_run_directory_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = run_cli("sft", f"hydra.run.dir={blocker / 'run'}", "train.max_steps=1")
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    assert _error_lines(proc) == [
        f"error: cannot write the run directory {blocker / 'run'}: Not a directory; choose another with "
        "hydra.run.dir=<dir> (or fix its permissions, free space)"
    ]


def test_a_nan_loss_stops_without_applying_it(tiny_qwen2, tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli(*_sft(tiny_qwen2, run_dir, 6), env=fault_env(nan_at_step="3"))
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    (line,) = _error_lines(proc)
    assert line.startswith("error: the gradients at step 3 were not finite")
    assert f"the newest complete checkpoint is {run_dir / 'checkpoint-2'}" in line
    assert not (run_dir / "final").exists() and not (run_dir / "checkpoint-4").exists()
    assert all(torch.isfinite(t).all() for t in _weights(run_dir / "checkpoint-2").values())


def test_a_nan_loss_can_be_skipped(tiny_qwen2, tmp_path):
    run_dir = tmp_path / "run"
    args = _sft(tiny_qwen2, run_dir, 4, "train.save_steps=1", "train.save_total_limit=10", "train.nonfinite=skip")
    proc = run_cli(*args, env=fault_env(nan_at_step="3"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((run_dir / "metrics.json").read_text())["train/nonfinite_skipped"] == 1
    before, skipped, after = (_weights(run_dir / f"checkpoint-{s}") for s in (2, 3, 4))
    assert all(torch.equal(before[k], skipped[k]) for k in before)  # step 3 left the weights as they were
    assert not all(torch.equal(skipped[k], after[k]) for k in before)  # step 4 trained again
    assert all(torch.isfinite(t).all() for t in _weights(run_dir / "final").values())
