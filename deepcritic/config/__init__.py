"""The config schema: one dataclass per section (help, bounds and choices beside each field), one per recipe.

Modules by group: :mod:`.data` (data, chat, problems), :mod:`.model`, :mod:`.generation` (rollout, sampling),
:mod:`.training` (train, deepspeed, logger, LoRA), :mod:`.grpo` (reward, grpo, GRPO's rollout),
:mod:`.recipes` (one schema per recipe and their cross-section checks), :mod:`.labeling` (``label``'s),
:mod:`.publish` (``hub``: pushing models and data sets; ``push``'s), :mod:`.demo`, and :mod:`.registry`
(every recipe, registered with Hydra). :mod:`.base` declares fields (:func:`option`) and checks them.

Defaults: a field's default is written once, in its dataclass; a recipe's YAML (``conf/<recipe>.yaml``) and
the group files under ``conf/`` hold only what they change (tests/unit/test_config_defaults.py keeps it so).
:func:`validate` returns every problem at once; :func:`ensure_valid` raises them as one ConfigError.
"""

from __future__ import annotations

from typing import Any

from deepcritic.config.base import as_section, check, option
from deepcritic.config.data import (
    CandidatesConfig,
    ChatDataConfig,
    DataConfig,
    PRM800KConfig,
    ProblemsConfig,
    SyntheticConfig,
)
from deepcritic.config.demo import DemoConfig, DemoEvalConfig, DemoTaskConfig
from deepcritic.config.evaluation import (
    HARNESS_DATASETS,
    PROTOCOL_NAMES,
    SOLVE_PROTOCOL_NAMES,
    EvalDuringTrainingConfig,
    GraderConfig,
    ProtocolConfig,
    ScoreConfig,
    SolveProtocolConfig,
)
from deepcritic.config.generation import (
    HFGenerateConfig,
    OpenAIServerConfig,
    RoleConfig,
    RolloutConfig,
    SamplingConfig,
    VLLMEngineConfig,
    looks_like_env_name,
)
from deepcritic.config.grpo import GRPOOptions, GRPORolloutConfig, RewardConfig, VLLMServerConfig
from deepcritic.config.labeling import JudgeConfig, LabelConfig
from deepcritic.config.model import ModelConfig, TinyModelConfig
from deepcritic.config.planning import ClusterConfig, PlanConfig
from deepcritic.config.publish import HubDatasetConfig, HubModelConfig, HubPushConfig, HubTargetConfig, PushConfig
from deepcritic.config.recipes import (
    CFTDataConfig,
    CFTRecipeConfig,
    ConvertConfig,
    EvalConfig,
    FilterConfig,
    GRPORecipeConfig,
    RefineConfig,
    ReportConfig,
    SFTRecipeConfig,
    SolveConfig,
    SynthesizeConfig,
)
from deepcritic.config.registry import RECIPES, Recipe, register_configs
from deepcritic.config.training import DeepSpeedConfig, LoggerConfig, LoraConfig, SFTTrainConfig, TrainConfig
from deepcritic.errors import ConfigError, Problem


def validate(cfg: Any) -> list[Problem]:
    """Every problem in a config (a dataclass instance), section by section, then across sections, in one list.

    Sections are checked by their declared bounds and choices and by the cross-field checks of their type, so
    a new recipe config gets the checks of the sections it holds for free.
    """
    return check(cfg)


def ensure_valid(cfg: Any) -> None:
    """Raise one ConfigError listing every problem, or return quietly."""
    problems = validate(cfg)
    if problems:
        raise ConfigError(problems)


def sections(entries: dict[str, Any], cls: type, key: str) -> dict[str, Any]:
    """Every entry of a named-section dict (``benchmarks``) as ``cls``; raises ConfigError listing the bad ones."""
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, entry in entries.items():
        obj, bad = as_section(entry, cls, f"{key}.{name}")
        problems += bad
        if obj is not None:
            out[name] = obj
    if problems:
        raise ConfigError(problems)
    return out


__all__ = [
    "RECIPES",
    "CFTDataConfig",
    "CFTRecipeConfig",
    "ClusterConfig",
    "CandidatesConfig",
    "ChatDataConfig",
    "ConvertConfig",
    "DataConfig",
    "DeepSpeedConfig",
    "DemoConfig",
    "DemoEvalConfig",
    "DemoTaskConfig",
    "EvalConfig",
    "EvalDuringTrainingConfig",
    "FilterConfig",
    "GRPOOptions",
    "GRPORecipeConfig",
    "GRPORolloutConfig",
    "GraderConfig",
    "HFGenerateConfig",
    "HubDatasetConfig",
    "HubModelConfig",
    "HubPushConfig",
    "HubTargetConfig",
    "JudgeConfig",
    "LabelConfig",
    "LoggerConfig",
    "LoraConfig",
    "ModelConfig",
    "OpenAIServerConfig",
    "HARNESS_DATASETS",
    "PROTOCOL_NAMES",
    "PlanConfig",
    "ProtocolConfig",
    "PRM800KConfig",
    "ProblemsConfig",
    "PushConfig",
    "Recipe",
    "RefineConfig",
    "ReportConfig",
    "RewardConfig",
    "RoleConfig",
    "RolloutConfig",
    "SFTRecipeConfig",
    "SFTTrainConfig",
    "SOLVE_PROTOCOL_NAMES",
    "SamplingConfig",
    "ScoreConfig",
    "SolveConfig",
    "SolveProtocolConfig",
    "SynthesizeConfig",
    "SyntheticConfig",
    "TinyModelConfig",
    "TrainConfig",
    "VLLMEngineConfig",
    "VLLMServerConfig",
    "as_section",
    "ensure_valid",
    "looks_like_env_name",
    "option",
    "register_configs",
    "sections",
    "validate",
]
