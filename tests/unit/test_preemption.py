"""The preemption callback in-process: a real SIGTERM to this process only sets a flag, the next step end
asks the trainer to log, save and stop, the previous handler comes back, and the recipe then stops with
exit status 143 and a message naming the checkpoint. Incomplete checkpoints are never resumed from.
(The end-to-end runs, with a real trainer in a subprocess, are in tests/integration/test_reliability_training.py.)"""

from __future__ import annotations

import os
import signal
from types import SimpleNamespace

import pytest
import torch
from transformers import TrainerControl

from deepcritic.preemption import Preempted, PreemptionCallback, any_process, raise_if_preempted
from deepcritic.training.checkpoints import checkpoint_complete, newest_checkpoint, resolve_resume


def _state(step: int):
    return SimpleNamespace(global_step=step, is_world_process_zero=True)


ARGS = SimpleNamespace(output_dir="/runs/x")


@pytest.fixture
def callback():
    cb = PreemptionCallback()
    previous = signal.getsignal(signal.SIGTERM)
    yield cb
    signal.signal(signal.SIGTERM, previous)


def test_sigterm_sets_save_and_stop_at_the_next_step_end(callback):
    previous = signal.getsignal(signal.SIGTERM)
    control = TrainerControl()
    callback.on_train_begin(ARGS, _state(0), control)
    callback.on_step_end(ARGS, _state(1), control)
    assert not (control.should_save or control.should_training_stop)  # no signal: nothing changes

    os.kill(os.getpid(), signal.SIGTERM)  # this process survives: the handler only records it
    assert callback.received == signal.SIGTERM
    callback.on_step_end(ARGS, _state(2), control)
    assert control.should_save and control.should_training_stop and control.should_log
    assert callback.stopped_at == 2

    callback.on_train_end(ARGS, _state(2), control)
    assert signal.getsignal(signal.SIGTERM) == previous  # the previous handler is back


def test_second_signal_does_not_move_the_stopping_step(callback):
    control = TrainerControl()
    callback.on_train_begin(ARGS, _state(0), control)
    os.kill(os.getpid(), signal.SIGTERM)
    callback.on_step_end(ARGS, _state(5), control)
    os.kill(os.getpid(), signal.SIGTERM)  # SLURM may signal again; still alive, still step 5
    callback.on_step_end(ARGS, _state(6), control)
    assert callback.stopped_at == 5
    callback.on_train_end(ARGS, _state(6), control)


def test_raise_if_preempted(callback, tmp_path):
    cleaned = []
    raise_if_preempted(callback, tmp_path, cleanup=lambda: cleaned.append(1))  # not preempted: nothing
    assert cleaned == []
    callback.stopped_at = 7
    with pytest.raises(Preempted) as info:
        raise_if_preempted(callback, tmp_path, cleanup=lambda: cleaned.append(1))
    assert info.value.exit_code == 143 and cleaned == [1]
    assert str(info.value).startswith(f"preempted (SIGTERM) at step 7: saved {tmp_path / 'checkpoint-7'}. Rerun")


def test_any_process_without_a_process_group_is_the_local_flag():
    assert any_process(True) is True and any_process(False) is False


def _checkpoint(root, step, state: str | None = "{}", cut: int = 0):
    """A checkpoint directory with a real safetensors file (``cut`` bytes removed from its end) and a state."""
    from safetensors.torch import save_file

    path = root / f"checkpoint-{step}"
    path.mkdir()
    save_file({"w": torch.arange(4, dtype=torch.float32), "b": torch.zeros(2)}, str(path / "model.safetensors"))
    if cut:
        data = (path / "model.safetensors").read_bytes()
        (path / "model.safetensors").write_bytes(data[:-cut])
    if state is not None:
        (path / "trainer_state.json").write_text(state)
    return path


INCOMPLETE = [
    # killed before trainer_state.json was written: the newest complete one is used
    ([(4, "{}", 0), (8, "{}", 0), (12, None, 0)], "checkpoint-8"),
    # killed while writing trainer_state.json (cut-off JSON)
    ([(4, "{}", 0), (8, '{"global_step": 8, "log_hist', 0)], "checkpoint-4"),
    # the filesystem cut the newest model.safetensors short (a full disk): the one before is used
    ([(4, "{}", 0), (8, "{}", 1)], "checkpoint-4"),
    ([(4, "{}", 0), (8, "{}", 20)], "checkpoint-4"),
    # nothing complete: start fresh
    ([(2, None, 0)], None),
]


@pytest.mark.parametrize("checkpoints, expected", INCOMPLETE)
def test_resume_skips_incomplete_checkpoints(tmp_path, checkpoints, expected):
    for step, state, cut in checkpoints:
        _checkpoint(tmp_path, step, state, cut)
    found = newest_checkpoint(tmp_path)
    assert (found.name if found else None) == expected
    assert resolve_resume("auto", tmp_path) == (str(tmp_path / expected) if expected else None)


def test_checkpoint_complete(tmp_path):
    assert checkpoint_complete(_checkpoint(tmp_path, 1))
    assert not checkpoint_complete(_checkpoint(tmp_path, 2, None))
    assert not checkpoint_complete(tmp_path / "checkpoint-3")  # missing directory


def test_safetensors_whole_reads_the_header_against_the_size(tmp_path):
    from deepcritic.training.checkpoints import safetensors_whole

    path = _checkpoint(tmp_path, 1) / "model.safetensors"
    data = path.read_bytes()
    header = int.from_bytes(data[:8], "little")
    assert len(data) == 8 + header + 4 * 4 + 2 * 4  # the 4 and 2 float32 tensors: 24 bytes after the header
    assert safetensors_whole(path)
    for broken in (data[:-1], data + b"\0", data[:8], b"", b"\xff" * 8 + data[8:]):
        path.write_bytes(broken)
        assert not safetensors_whole(path)
