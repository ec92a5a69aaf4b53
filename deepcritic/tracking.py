"""Experiment tracking from the ``logger`` config section: wandb for every recipe, and for training runs the other
trackers transformers' Trainer integrates (TensorBoard, MLflow, Trackio), beside wandb or instead of it.

:func:`start_run` opens the wandb run on the main process (project, name, group, tags from the config;
the composed config logged; files under ``<run dir>/wandb``), so that the trainer's wandb callback
logs into it. A run never fails because of wandb: when ``mode=online`` cannot reach the server or
has no credentials, it warns and goes on offline (sync later with ``wandb sync``); when even that
fails, it warns and goes on without tracking. A rerun in the same run directory continues the same wandb run
(:func:`resume_settings`).

The other trackers are the trainer's own callbacks (:func:`report_to`, :func:`callbacks`), configured through
their environment variables when the user has not set them: TensorBoard writes ``<run dir>/tensorboard/``
(``TENSORBOARD_LOGGING_DIR``), MLflow logs to ``MLFLOW_TRACKING_URI`` (default ``<run dir>/mlruns``) under the
experiment ``logger.project``, Trackio to its local store under the project ``logger.project``. Every tracker
logs the same names: transformers' ``rewrite_logs`` (``eval_<x>`` -> ``eval/<x>``, anything else -> ``train/<x>``),
which wandb's, TensorBoard's and Trackio's callbacks apply and MLflow's does not, so MLflow gets it here
(:func:`mlflow_callback_class`). A tracker whose package is missing is a clear error before training starts.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from deepcritic.config import LoggerConfig
from deepcritic.errors import DeepcriticError
from deepcritic.training.distributed import is_main_process

log = logging.getLogger(__name__)

ONLINE_INIT_TIMEOUT_S = 30.0


# the trackers besides wandb, each with the package it needs (and the logger option that turns it on: the same name)
PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow", "trackio": "trackio"}
_exported: dict[str, str] = {}  # the tracker variables this process set (a value the user set is kept)


def enabled(cfg: LoggerConfig) -> bool:
    """Whether wandb is on."""
    return cfg.backend == "wandb" and cfg.mode != "disabled"


def trackers(cfg: LoggerConfig) -> list[str]:
    """The trackers a training run logs to, in order: wandb, tensorboard, mlflow, trackio (those turned on)."""
    return (["wandb"] if enabled(cfg) else []) + [name for name in PACKAGES if getattr(cfg, name)]


def report_to(cfg: LoggerConfig) -> list[str]:
    """The trainer's ``report_to``: every tracker on but MLflow (whose callback :func:`callbacks` gives).

    Raises DeepcriticError naming the package when a tracker's package is not installed."""
    names = trackers(cfg)
    missing = [
        PACKAGES[name] for name in names if name in PACKAGES and importlib.util.find_spec(PACKAGES[name]) is None
    ]
    if missing:
        raise DeepcriticError(
            f"logger: {', '.join(missing)} needs its package, which is not installed: pip install {' '.join(missing)} "
            f"(or leave {', '.join(f'logger={m}' for m in missing)} out)"
        )
    return [name for name in names if name != "mlflow"]


def trainer_settings(cfg: LoggerConfig) -> dict[str, Any]:
    """What the trainer's arguments say about tracking: ``report_to``, the run name and, for Trackio, the project
    (transformers' ``project`` argument, which only its Trackio callback reads)."""
    return {"report_to": report_to(cfg), "run_name": cfg.name, "project": cfg.project if cfg.trackio else None}


def callbacks(cfg: LoggerConfig) -> list[Any]:
    """Tracker callbacks the trainer gets as objects: MLflow's, logging deepcritic's metric names."""
    return [mlflow_callback()] if cfg.mlflow else []


def mlflow_callback() -> Any:
    """transformers' MLflow callback with the names every other tracker logs (:func:`mlflow_callback_class`)."""
    return mlflow_callback_class()()


def mlflow_callback_class() -> type:
    """transformers' ``MLflowCallback`` overriding ``on_log`` only: it logs the trainer's raw keys (``loss``,
    ``eval_x/f1``) where wandb's, TensorBoard's and Trackio's callbacks log ``train/loss`` and ``eval/x/f1``
    (``rewrite_logs``), so the same rewrite is applied first."""
    from transformers.integrations import MLflowCallback
    from transformers.integrations.integration_utils import rewrite_logs

    class MLflowSameNames(MLflowCallback):
        def on_log(self, args, state, control, logs, model=None, **kwargs):
            super().on_log(args, state, control, rewrite_logs(logs), model=model, **kwargs)

    return MLflowSameNames


def tracker_environment(cfg: LoggerConfig, run_dir: Path) -> dict[str, str]:
    """The variables the trainer's TensorBoard and MLflow callbacks read, for the trackers that are on, unless the
    user set them: TensorBoard under the run directory, MLflow's store there and its experiment."""
    wanted: dict[str, str] = {}
    if cfg.tensorboard:
        wanted["TENSORBOARD_LOGGING_DIR"] = str(Path(run_dir) / "tensorboard")
    if cfg.mlflow:
        wanted["MLFLOW_TRACKING_URI"] = (Path(run_dir) / "mlruns").resolve().as_uri()
        wanted["MLFLOW_EXPERIMENT_NAME"] = cfg.project
    return {k: v for k, v in wanted.items() if not os.environ.get(k) or os.environ[k] == _exported.get(k)}


def start_run(
    cfg: LoggerConfig,
    config: dict[str, Any],
    run_dir: Path,
    default_name: str,
    training: bool = False,
    continuing: bool = True,
) -> Any | None:
    """Open the wandb run (main process only); returns it, or None when wandb is off or unavailable.

    Every process exports WANDB_PROJECT / WANDB_MODE / WANDB_DIR so that the trainer's callback agrees, and for a
    training run the other trackers' variables (:func:`tracker_environment`). The other trackers log training
    runs only: another recipe warns that it logs to wandb alone. ``continuing=False`` (a training run starting
    without a checkpoint) starts a new wandb run even where the run directory names one.
    """
    others = [name for name in trackers(cfg) if name != "wandb"]
    if training:
        exports = tracker_environment(cfg, run_dir)
        os.environ.update(exports)
        _exported.update(exports)  # ours, not the user's: a later run in this process (the demo) sets its own
    elif others and is_main_process():
        _warn(f"logger: {', '.join(others)} log training runs (sft, cft, grpo) only; this recipe logs to wandb alone")
    if not enabled(cfg):
        os.environ["WANDB_MODE"] = "disabled"
        return None
    wandb_dir = Path(run_dir)
    wandb_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update({"WANDB_PROJECT": cfg.project, "WANDB_DIR": str(wandb_dir), "WANDB_MODE": cfg.mode})
    if not is_main_process():
        return None
    import wandb

    kwargs = {
        "project": cfg.project,
        "entity": cfg.entity,
        "name": cfg.name or default_name,
        "group": cfg.group,
        "tags": list(cfg.tags) or None,
        "config": config,
        "dir": str(wandb_dir),
        "reinit": "finish_previous",
        **resume_settings(cfg, wandb_dir, continuing),
    }
    try:
        return wandb.init(mode=cfg.mode, settings=wandb.Settings(init_timeout=ONLINE_INIT_TIMEOUT_S), **kwargs)
    except Exception as exc:  # unreachable server, no API key, bad entity: never fail the run for it
        if cfg.mode != "online":
            return _give_up(exc)
        _warn(
            f"wandb online init failed ({_first_line(exc)}); logging offline instead, "
            f"upload later with: wandb sync {wandb_dir}/wandb/offline-run-*"
        )
    os.environ["WANDB_MODE"] = "offline"
    try:
        return wandb.init(mode="offline", **kwargs)
    except Exception as exc:
        return _give_up(exc)


def resume_settings(cfg: LoggerConfig, run_dir: Path, continuing: bool = True) -> dict[str, Any]:
    """``wandb.init``'s ``id`` and ``resume`` for this run directory.

    With ``resume=allow`` the id is kept in ``<run dir>/wandb/run-id`` (``$WANDB_RUN_ID`` first, else the stored
    one, else a new one, written before the run starts): a rerun after a preemption continues the same wandb run
    (online: the server appends to it; offline: every ``offline-run-*`` directory carries the id and
    ``wandb sync`` uploads them in order into one run), and the trainer's ``train/global_step`` axis goes on from
    the checkpoint. A run that starts over (``continuing=False``: training with no checkpoint to resume) gets a new
    id, so that its steps do not run back over the old run's. wandb's own ``resume="auto"`` is not used: it
    forgets the id when a preempted run exits cleanly. With ``resume=never`` wandb picks a new id each time.
    """
    if cfg.resume == "never":
        return {}
    stored = Path(run_dir) / "wandb" / "run-id"
    kept = stored.read_text().strip() if continuing and stored.is_file() else ""
    run_id = os.environ.get("WANDB_RUN_ID") or kept or secrets.token_hex(4)  # 8 characters, as wandb's own ids
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_text(run_id + "\n")
    return {"id": run_id, "resume": "allow"}


def log_summary(run: Any | None, values: dict[str, Any]) -> None:
    """Put ``values`` into the run's summary (final metrics, data counts)."""
    if run is not None:
        for key, value in values.items():
            run.summary[key] = value


def finish(run: Any | None) -> None:
    if run is not None:
        try:
            run.finish()
        except Exception as exc:  # a failing upload must not fail a finished training run
            _warn(f"wandb finish failed: {_first_line(exc)}")


def _give_up(exc: Exception) -> None:
    _warn(f"wandb init failed ({_first_line(exc)}); going on without experiment tracking")
    os.environ["WANDB_MODE"] = "disabled"
    return None


def _warn(message: str) -> None:
    log.warning(message)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
