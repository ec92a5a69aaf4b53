"""``deepcritic push run=<run dir> hub.model_id=<id>``: push what a finished run made to the Hugging Face Hub.

Reads top to bottom: what the run is; a training run (``sft``, ``cft``, ``grpo``: it has ``final/``) is pushed as
``hub.push=true`` pushes it at the end of training, ``final/`` at the repo's root and ``best/`` under ``best/`` in
one commit, with the cards the run wrote (use it when that push failed, or was not asked for); an ``eval`` run's
figures (each benchmark's F1, accuracies and parse rate under its protocol; :mod:`deepcritic.cards`) are merged
into the ``model-index`` of the repo's model card, the rest of the card kept and a figure measured again replacing
the old one. Either way a rerun sends only what the Hub does not hold yet (:mod:`deepcritic.hub`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deepcritic import hub
from deepcritic.cards import EvalFigure, benchmark_figures
from deepcritic.config import DataConfig, HubModelConfig, PushConfig, as_section
from deepcritic.errors import DeepcriticError
from deepcritic.training.publish import RunPush


def main(cfg: PushConfig) -> dict[str, Any]:
    run = Path(str(cfg.run))
    if (run / "final").is_dir():
        return _push_training(cfg, run)
    metrics = _eval_metrics(run)
    if metrics is None:
        raise DeepcriticError(
            f"run={cfg.run}: not a finished run of sft, cft or grpo (no final/) nor of eval (no metrics.json of "
            "deepcritic eval): name such a run directory"
        )
    figures = eval_figures(metrics, _benchmark_sections(run))
    url = hub.push_eval_results(hub.model_target(cfg.hub), figures)
    print(f"pushed {len(figures)} figures of {run} into the card of {cfg.hub.model_id}: {url}")
    return {"run": str(run), "kind": "eval", "figures": len(figures), "commit": url}


def _push_training(cfg: PushConfig, run: Path) -> dict[str, Any]:
    h = cfg.hub
    push = RunPush(
        HubModelConfig(push=True, model_id=h.model_id, private=h.private, revision=h.revision, token_env=h.token_env),
        run,
    )
    state = run / "trainer_state.json"
    step = json.loads(state.read_text()).get("global_step", 0) if state.is_file() else 0
    url = push.finish(_recipe(run), step)
    print(f"pushed {run / 'final'}" + (f" and {run / 'best'}" if (run / "best").is_dir() else "") + f": {url}")
    return {"run": str(run), "kind": "training", "commit": url}


def _recipe(run: Path) -> str:
    """The recipe that made ``run`` (Hydra's job name), for the commit message."""
    from omegaconf import OmegaConf

    saved = run / ".hydra" / "hydra.yaml"
    return str(OmegaConf.load(saved).hydra.job.name) if saved.is_file() else "training"


def _eval_metrics(run: Path) -> dict[str, Any] | None:
    path = run / "metrics.json"
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text(encoding="utf-8"))
    return metrics if isinstance(metrics, dict) and metrics.get("recipe") == "eval" else None


def _benchmark_sections(run: Path) -> dict[str, DataConfig]:
    """The eval run's benchmarks as data sections (from its saved config), which name their Hub datasets."""
    from omegaconf import OmegaConf

    saved = run / ".hydra" / "config.yaml"
    if not saved.is_file():
        return {}
    entries = OmegaConf.to_container(OmegaConf.load(saved).get("benchmarks") or {}, resolve=False)
    sections = {name: as_section(entry, DataConfig, f"benchmarks.{name}")[0] for name, entry in entries.items()}
    return {name: s for name, s in sections.items() if s is not None}


def eval_figures(metrics: dict[str, Any], sections: dict[str, DataConfig]) -> list[EvalFigure]:
    """An eval run's figures: every benchmark's card metrics under the run's protocol."""
    protocol = (metrics.get("protocol") or {}).get("name", "deepcritic")
    return [
        figure
        for name, values in (metrics.get("benchmarks") or {}).items()
        for figure in benchmark_figures(name, sections.get(name), protocol, values)
    ]
