"""Preemption: on SIGTERM, save a checkpoint at the end of the current optimizer step, then stop.

SLURM sends SIGTERM to a job it preempts or whose time is up, and SIGKILL some time later (``KillWait``;
ask for more warning with ``#SBATCH --signal=TERM@<seconds>``). Without a handler SIGTERM kills the
trainer at once and everything since the last ``save_steps`` checkpoint is lost. With
:class:`PreemptionCallback` in the trainer:

1. the signal only sets a flag (a signal handler must not do work);
2. at the end of the optimizer step in progress every process learns whether any process got the signal
   (one all-reduce per step, so that all ranks stop at the same step and save together);
3. the trainer logs that step, writes ``checkpoint-<step>`` (weights, optimizer, scheduler, RNG, data
   position, trainer state) and leaves its loop;
4. the recipe calls :func:`raise_if_preempted`, which shuts down any vLLM engine (:func:`release_engines`) and
   stops the run with a clear message and exit status 143 (128 + SIGTERM) instead of writing the final model. A
   rerun of the same command in the same run directory (``train.resume=auto``) continues from that checkpoint.

The handler is installed when training begins (after model, data and any vLLM engine are set up) and
the previous one is restored when training ends. A second SIGTERM while the checkpoint is being written
is only logged: the checkpoint must finish (SLURM's SIGKILL still ends everything).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from deepcritic.errors import DeepcriticError

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM,)


class Preempted(DeepcriticError):
    """Training stopped on SIGTERM after saving a checkpoint; rerun the same command to continue."""

    exit_code = 128 + signal.SIGTERM  # 143, what a process killed by SIGTERM reports


class PreemptionCallback(TrainerCallback):
    """Turns SIGTERM into "save a checkpoint at the end of this step, then stop" (see the module docstring)."""

    def __init__(self, signals: tuple[int, ...] = SIGNALS):
        self.signals = signals
        self.received: int | None = None  # the signal this process got
        self.stopped_at: int | None = None  # the step at which training stopped for it
        self._previous: dict[int, Any] = {}

    # the handler: only remember the signal
    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is None:
            self.received = signum
            log.warning(
                "%s received: saving a checkpoint at the end of this step, then stopping", signal.Signals(signum).name
            )
        else:
            log.warning("%s received again: still writing the checkpoint", signal.Signals(signum).name)

    def on_train_begin(self, args, state, control, **kwargs):
        if threading.current_thread() is not threading.main_thread():  # signal handlers live in the main thread
            log.warning("not in the main thread: SIGTERM will not save a checkpoint before exiting")
            return
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, self._handle)

    def on_step_end(self, args, state, control, **kwargs):
        if self.stopped_at is None and any_process(self.received is not None):
            self.stopped_at = state.global_step
            control.should_log = True  # the step's loss is in the history even if it is not a logging step
            control.should_save = True
            control.should_training_stop = True
            if state.is_world_process_zero:
                log.warning("preempted: writing checkpoint-%d in %s and stopping", state.global_step, args.output_dir)
        return control

    def on_train_end(self, args, state, control, **kwargs):
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()


def any_process(flag: bool) -> bool:
    """``flag`` OR-ed over every process of the default process group (``flag`` itself when there is none)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    import torch

    on_gpu = "nccl" in str(dist.get_backend()) and torch.cuda.is_available()
    device = torch.device("cuda", torch.cuda.current_device()) if on_gpu else torch.device("cpu")
    value = torch.tensor([1 if flag else 0], dtype=torch.int32, device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def raise_if_preempted(
    callback: PreemptionCallback, output_dir: str | Path, cleanup: Callable[[], None] | None = None
) -> None:
    """After ``trainer.train()``: when training stopped for a preemption signal, run ``cleanup`` (e.g. close
    the wandb run) and stop the run with :class:`Preempted` (exit status 143); otherwise do nothing."""
    if callback.stopped_at is None:
        return
    if cleanup is not None:
        cleanup()
    checkpoint = Path(output_dir) / f"checkpoint-{callback.stopped_at}"
    raise Preempted(
        f"preempted (SIGTERM) at step {callback.stopped_at}: saved {checkpoint}. Rerun the same "
        "command with the same hydra.run.dir (train.resume=auto) to continue from it"
    )


def release_engines(trainer: Any) -> None:
    """Shut down the vLLM engines a trainer holds (a GRPO run's colocated one, one an evaluation during training
    started), so that a run that stops early (preempted) leaves no engine process behind and exits at once."""
    for name in ("vllm_generation", "_eval_vllm_generation"):
        llm = getattr(getattr(trainer, name, None), "llm", None)
        core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            try:
                core.shutdown()
            except Exception as exc:  # best effort: the checkpoint is written, the exit must not fail on this
                log.warning("shutting the vLLM engine down failed: %s", exc)
