"""``deepcritic plan``: what a run of another recipe would hold per device, and whether it fits.

Reads top to bottom: compose the planned recipe's config from its own YAML and the given overrides (as its
command line would, and checked the same way: a bad override fails here), turn it into the workload the memory
arithmetic counts (deepcritic/planning/workload.py: the model's shape without loading it, lengths, micro batch,
ZeRO, the rollout engine), estimate each item per device and the changes that would make it fit
(deepcritic/planning/plan.py), print the table and write ``plan.json``.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from deepcritic.config import PlanConfig, ensure_valid
from deepcritic.planning.engine import GIB
from deepcritic.planning.plan import describe, plan, tokens_per_step
from deepcritic.planning.workload import workload
from deepcritic.runtime import run_dir
from deepcritic.store import write_json


def main(cfg: PlanConfig) -> dict:
    target = compose_recipe(cfg.recipe, list(cfg.overrides))
    result = plan(workload(cfg.recipe, target, cfg.cluster))
    print("\n".join(describe(result)))
    summary = {
        "recipe": cfg.recipe,
        "overrides": list(cfg.overrides),
        "cluster": asdict(cfg.cluster),
        "parameters": result.workload.shape.parameters(),
        "per_device_gib": {k: round(v / GIB, 3) for k, v in result.items.items()},
        "total_gib": round(result.total / GIB, 3),
        "capacity_gib": round(result.capacity / GIB, 3),
        "fits": result.fits,
        "tokens_per_step": tokens_per_step(result.workload),
        "kv_cache_tokens": result.engine.kv_tokens if result.engine else None,
        "notes": result.notes,
        "advice": result.advice,
    }
    write_json(Path(cfg.output) if cfg.output else run_dir() / "plan.json", summary)
    return summary


def compose_recipe(recipe: str, overrides: list[str]) -> Any:
    """``conf/<recipe>.yaml`` with ``overrides``, as the validated dataclass (inside ``deepcritic plan``'s own
    Hydra run, or on its own when called from Python)."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from deepcritic.config import register_configs

    register_configs()
    if GlobalHydra.instance().is_initialized():
        composed = compose(config_name=recipe, overrides=overrides)
    else:
        with initialize_config_module("deepcritic.conf", version_base="1.3"):
            composed = compose(config_name=recipe, overrides=overrides)
    target = OmegaConf.to_object(composed)
    ensure_valid(target)
    return target
