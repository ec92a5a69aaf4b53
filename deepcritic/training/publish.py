"""What a training run pushes to the Hub (``hub``): ``final/`` and ``best/`` after the local save, and with
``hub.strategy`` other than ``end`` its checkpoints while it trains, as transformers' ``hub_strategy`` does. The
commits and their failures are :mod:`deepcritic.hub`'s.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from deepcritic.config import HubModelConfig
from deepcritic.hub import CHECKPOINT_STATE, HubError, Target, commit, files_of, model_target

log = logging.getLogger(__name__)


class RunPush:
    """What a training run pushes (``hub``): made before training, so that a run that could not push (no token)
    fails before it trains; :attr:`callbacks` push checkpoints while it trains (``hub.strategy``); :meth:`finish`
    pushes ``final/`` and ``best/`` after the local save."""

    def __init__(self, hub: HubModelConfig, out: Path):
        self.hub, self.out = hub, Path(out)
        self.target = model_target(hub) if hub.push else None
        self.checkpoints = CheckpointPush(self.target, hub.strategy) if self.target and hub.strategy != "end" else None

    @property
    def callbacks(self) -> list[Any]:
        return [self.checkpoints] if self.checkpoints else []

    def finish(self, recipe: str, step: int) -> str | None:
        """Wait for checkpoint pushes, then push final/ (the root) and best/ (``best/``) in one commit; returns its
        URL (None when hub.push is off). Raises HubError saying how to push the saved run later."""
        if self.target is None:
            return None
        if self.checkpoints:
            self.checkpoints.wait()
        files = files_of(self.out / "final")
        if (self.out / "best").is_dir():
            files += files_of(self.out / "best", "best")
        message = f"deepcritic {recipe}: the final model at step {step}" + (
            " and best/" if (self.out / "best").is_dir() else ""
        )
        try:
            url = commit(self.target, files, message)
        except HubError as exc:
            raise HubError(f"{exc}; the run is kept in {self.out}: then push it with {self.push_command()}") from None
        log.info("pushed %s to the Hub: %s", self.out / "final", url)
        return url

    def push_command(self) -> str:
        """The ``deepcritic push`` command that pushes this run later, with the hub settings given."""
        h = self.hub
        extra = [f"hub.{k}={v}" for k in ("private", "revision") if (v := getattr(h, k)) is not None]
        extra += [f"hub.token_env={h.token_env}"] if h.token_env != "HF_TOKEN" else []
        return " ".join(["deepcritic push", f"run={self.out}", f"hub.model_id={h.model_id}", *extra])


class CheckpointPush(TrainerCallback):
    """``hub.strategy`` other than ``end``, as transformers does it: at each checkpoint save the main process
    pushes the checkpoint's model (weights, config, tokenizer) to the repo's root, and with ``checkpoint`` the
    whole checkpoint under ``last-checkpoint/`` (replacing the last one), with ``all_checkpoints`` under
    ``checkpoint-N/``. Pushes run in the background, one at a time (a save while one runs is not pushed); one that
    fails is a warning: it never stops training, and the final push follows."""

    def __init__(self, target: Target, strategy: str):
        self.target, self.strategy = target, strategy
        self.future: Future | None = None
        self.step = 0

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        if self.future is not None and not self.future.done():
            log.info("hub: an earlier checkpoint is still being pushed; checkpoint-%d is not", state.global_step)
            return
        self.wait()
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        files, delete = files_of(folder, skip=CHECKPOINT_STATE), []
        if self.strategy == "checkpoint":
            files, delete = files + files_of(folder, "last-checkpoint"), ["last-checkpoint"]
        elif self.strategy == "all_checkpoints":
            files += files_of(folder, folder.name)
        from huggingface_hub import HfApi

        self.step = state.global_step
        message = f"Training in progress, step {state.global_step}"
        self.future = HfApi().run_as_future(commit, self.target, files, message, delete)

    def wait(self) -> None:
        """Wait for the push in flight; a failure is logged as a warning."""
        future, self.future = self.future, None
        if future is None:
            return
        try:
            future.result()
        except HubError as exc:
            log.warning("hub: pushing checkpoint-%d failed, training goes on: %s", self.step, exc)
