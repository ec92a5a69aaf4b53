"""Registers the structured-config schemas with Hydra's ConfigStore.

Each primary config in conf/ starts its defaults list with ``schema_<recipe>``, so Hydra checks every
YAML value and override against the dataclass types (an unknown key or a mistyped value fails at
compose time, naming the key). Group schemas (``data/schema`` …) do the same for group files.
"""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from deepcritic import config as C

_RECIPE_SCHEMAS = {
    "convert": C.ConvertConfig,
    "sft": C.SFTRecipeConfig,
    "cft": C.CFTRecipeConfig,
    "grpo": C.GRPORecipeConfig,
    "filter": C.FilterConfig,
    "eval": C.EvalConfig,
    "report": C.ReportConfig,
    "solve": C.SolveConfig,
    "refine": C.RefineConfig,
    "verify-vote": C.RefineConfig,
    "synthesize": C.SynthesizeConfig,
    "label": C.LabelConfig,
    "cft-data": C.CFTDataConfig,
    "demo": C.DemoConfig,
}


def register_configs() -> None:
    """Idempotently store ``schema_<recipe>`` for every recipe."""
    cs = ConfigStore.instance()
    for recipe, node in _RECIPE_SCHEMAS.items():
        cs.store(name=f"schema_{recipe}", node=node)
