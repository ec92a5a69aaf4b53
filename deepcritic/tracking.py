"""Experiment tracking with wandb, from the ``logger`` config section.

:func:`start_run` opens the wandb run on the main process (project, name, group, tags from the config;
the composed config logged; files under ``<run dir>/wandb``), so that the trainer's wandb callback
logs into it. A run never fails because of wandb: when ``mode=online`` cannot reach the server or
has no credentials, it warns and goes on offline (sync later with ``wandb sync``); when even that
fails, it warns and goes on without tracking.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from deepcritic.config import LoggerConfig
from deepcritic.training.distributed import is_main_process

log = logging.getLogger(__name__)

ONLINE_INIT_TIMEOUT_S = 30.0


def enabled(cfg: LoggerConfig) -> bool:
    return cfg.backend == "wandb" and cfg.mode != "disabled"


def report_to(cfg: LoggerConfig) -> list[str]:
    """The trainer's ``report_to``: ``["wandb"]`` when tracking is on, else nothing."""
    return ["wandb"] if enabled(cfg) else []


def start_run(cfg: LoggerConfig, config: dict[str, Any], run_dir: Path, default_name: str) -> Any | None:
    """Open the wandb run (main process only); returns it, or None when tracking is off or unavailable.

    Every process exports WANDB_PROJECT / WANDB_MODE / WANDB_DIR so that the trainer's callback agrees.
    """
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
