"""Guards every training run has: a non-finite step never reaches the weights (``train.nonfinite``), and a write
that fails (a full disk, a quota, a read-only or unwritable directory) ends the run with one line that says what
is safe.

A NaN or infinite loss (an example whose every target token was cut off, a learning rate too high, a bad row)
gives non-finite gradients, and one optimizer step with them turns every weight into NaN: every later step,
checkpoint and the final model are garbage, silently, unless someone reads the loss curve.

:class:`NonFiniteGuard` looks at the gradients before each optimizer step (``on_pre_optimizer_step``, after
clipping), on every process (their verdicts are OR-ed, so all ranks act alike). When any is not finite it drops
them (``param.grad = None``: PyTorch's optimizers leave a parameter without a gradient untouched, moments
included), so the weights stay those of the last finite step, and then:

- ``stop``: asks the trainer to stop at the end of this step without saving; :func:`raise_if_nonfinite` ends the
  run with one line naming the step and the newest complete checkpoint (exit status 2, no ``final/``);
- ``skip``: training goes on; the skipped steps are counted (``train/nonfinite_skipped`` in metrics.json).

Under DeepSpeed the gradients live in DeepSpeed's own buffers, so the guard reads the logged ``loss`` and
``grad_norm`` instead (transformers' ``logging_nan_inf_filter`` hides a NaN loss from the mean but not from the
grad norm): it stops at the first logging step that shows one (``train.logging_steps=1`` to stop at once) and
does not save there; ``skip`` is refused by the config check.
"""

from __future__ import annotations

import errno
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from deepcritic.errors import DeepcriticError
from deepcritic.preemption import any_process
from deepcritic.training.checkpoints import newest_checkpoint

log = logging.getLogger(__name__)


class NonFinite(DeepcriticError):
    """Training stopped because a step's gradients were not finite."""


class NonFiniteGuard(TrainerCallback):
    """See the module docstring. ``mode``: ``stop`` or ``skip``."""

    def __init__(self, mode: str = "stop"):
        self.mode = mode
        self.stopped_at: int | None = None  # the step whose update was not applied, when training stopped there
        self.skipped: list[int] = []
        self.sees_gradients = False  # False under DeepSpeed (its buffers hold them): the logs decide

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        params = [p for p in model.parameters() if p.grad is not None] if model is not None else []
        self.sees_gradients = self.sees_gradients or bool(params)
        bad = bool(params) and not bool(torch.stack([torch.isfinite(p.grad).all() for p in params]).all())
        if not any_process(bad):
            return
        for p in model.parameters():
            p.grad = None  # the optimizer skips every parameter: the weights stay the last finite step's
        step = state.global_step + 1
        if self.mode == "skip":
            self.skipped.append(step)
            log.warning("step %d: the gradients are not finite; the update is skipped (train.nonfinite=skip)", step)
            return
        self._stop(step, control)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.sees_gradients or self.stopped_at is not None:
            return
        values = [logs.get(k) for k in ("loss", "grad_norm")] if logs else []
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            self._stop(state.global_step, control)  # DeepSpeed: seen in the logs (the update is applied)

    def _stop(self, step: int, control: Any) -> None:
        self.stopped_at = step
        control.should_training_stop = True
        control.should_save = False
        log.error("step %d: the gradients are not finite: stopping (train.nonfinite=stop)", step)

    def summary(self) -> dict[str, Any]:
        return {"train/nonfinite_skipped": len(self.skipped)} if self.skipped else {}


def raise_if_nonfinite(guard: NonFiniteGuard, output_dir: str | Path) -> None:
    """After ``trainer.train()``: when the guard stopped training, end the run with one line that says where."""
    if guard.stopped_at is None:
        return
    last = newest_checkpoint(output_dir)
    where = f"the newest complete checkpoint is {last}" if last else "no checkpoint was saved before it"
    raise NonFinite(
        f"the gradients at step {guard.stopped_at} were not finite (NaN or infinite loss): training stopped without "
        f"applying them and without a final model; {where}. Lower train.learning_rate, look for rows whose target "
        "is cut off by train.max_length (train.drop_overlong=true), or set train.nonfinite=skip to step over them"
    )


#: errors of a write the filesystem refused: full disk, quota, too large, read-only, no permission
WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM)


@contextmanager
def writes_reported(output_dir: str | Path) -> Iterator[None]:
    """A write the filesystem refuses (see :data:`WRITE_ERRORS`) becomes one line: the file, the reason, and the
    newest complete checkpoint, which the refused write cannot have touched (a checkpoint is complete only once its
    last file is written, and one cut short is skipped on resume)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in WRITE_ERRORS:
            raise
        last = newest_checkpoint(output_dir)
        safe = f"the newest complete checkpoint, {last}, is intact" if last else "no checkpoint was complete yet"
        raise DeepcriticError(
            f"cannot write {exc.filename or output_dir}: {exc.strerror}; {safe}. Free space (or fix the "
            "permissions) and rerun the same command to resume (train.resume=auto)"
        ) from None
