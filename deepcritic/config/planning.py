"""``deepcritic plan``: which recipe to plan, with which overrides, on which cluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from deepcritic.config.base import option

DEVICES = ("gpu", "cpu")
# what plan can count: the trainers, and the recipes that generate with a local model
PLANNABLE = ("sft", "cft", "grpo", "eval", "filter", "solve", "label", "synthesize", "cft-data")
# keys of plan's own config; every other argument after `deepcritic plan <recipe>` is the recipe's override
PLAN_KEYS = ("recipe", "overrides", "cluster", "output", "hydra")


@dataclass
class ClusterConfig:
    """Where the run would go: ``nodes`` x ``gpus_per_node`` devices of ``gpu_memory_gib`` each.

    ``device=cpu`` plans processes on a CPU machine instead (the ladder's validation runs): ``gpus_per_node`` is
    then the training processes, ``gpu_memory_gib`` the machine's memory, precision ``auto`` resolves to fp32 and
    vLLM's KV cache is ``rollout.vllm.kv_cache_memory_gib``.
    """

    device: str = option("gpu", "gpu | cpu (processes on a CPU machine)", choices=DEVICES)
    gpus_per_node: int = option(8, "GPUs per node (device=cpu: training processes)", ge=1)
    nodes: int = option(1, "nodes", ge=1)
    gpu_memory_gib: float = option(80.0, "memory of one GPU in GiB (device=cpu: the machine's)", gt=0)


@dataclass
class PlanConfig:
    """``deepcritic plan <recipe> [its overrides] [cluster.*]``: per-device memory of a run, whether it fits,
    what to change if not, and tokens per step; nothing is loaded or started."""

    recipe: str = option("sft", "the recipe to plan", choices=PLANNABLE)
    overrides: list[str] = option([], "the recipe's overrides, as on its own command line")
    cluster: ClusterConfig = option(ClusterConfig, "the devices")
    output: Optional[str] = option(None, "where to write plan.json; default: <run dir>/plan.json")


def plan_arguments(argv: list[str], recipes: tuple[str, ...] = PLANNABLE) -> list[str]:
    """``deepcritic plan grpo experiment=x cluster.nodes=2`` -> Hydra arguments of plan's own config:
    ``recipe=grpo``, ``cluster.nodes=2`` and ``overrides=['experiment=x']`` (each override quoted for Hydra).

    A first argument that names a recipe selects it; arguments starting with ``-`` (``--cfg job``) and plan's own
    keys (``recipe=``, ``cluster.*``, ``output=``, ``hydra.*``) stay plan's; everything else is the recipe's.
    """
    flags: list[str] = []  # Hydra's own flags and their values go first (argparse takes its positionals after them)
    out, recipe_args, rest = [], [], list(argv)
    if rest and rest[0] in recipes:
        out.append(f"recipe={rest.pop(0)}")
    for arg in rest:
        key = arg.lstrip("+~").split("=", 1)[0].split(".", 1)[0]
        if arg.startswith("-") or ("=" not in arg and flags and flags[-1].startswith("-")):
            flags.append(arg)
        elif key in PLAN_KEYS:
            out.append(arg)
        else:
            recipe_args.append(arg)
    if recipe_args:
        quoted = ",".join("'" + a.replace("\\", "\\\\").replace("'", "\\'") + "'" for a in recipe_args)
        out.append(f"overrides=[{quoted}]")
    return flags + out
