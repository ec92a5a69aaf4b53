"""The recipe registry: every ``deepcritic <recipe>``, its one-line summary, schema and module (one list).

``register_configs`` stores each schema in Hydra's ConfigStore as ``schema_<recipe>``; every primary config
in ``conf/`` starts its defaults list with it, so Hydra checks each YAML value and override against the
dataclass types (an unknown key or a mistyped value fails at compose time, naming the key).
"""

from __future__ import annotations

from dataclasses import dataclass

from deepcritic.config import recipes as R
from deepcritic.config.demo import DemoConfig
from deepcritic.config.evaluation import ScoreConfig
from deepcritic.config.labeling import LabelConfig
from deepcritic.config.planning import PlanConfig
from deepcritic.config.publish import PushConfig

#: The options of the config group ``protocol`` (conf/protocol/) by the recipes that read them: the critic protocols
#: of eval and score, the solver protocols of solve (a unit test keeps this equal to the group's files).
CRITIC_PROTOCOL_OPTIONS = (
    "deepcritic",
    "deepcritic_paper",
    "deepcritic_paper_voting",
    "processbench",
    "processbench_voting",
    "mr_gsm8k",
)
SOLVE_PROTOCOL_OPTIONS = ("cft_paper",)


@dataclass(frozen=True)
class Recipe:
    """A recipe: its name (also its config file ``conf/<name>.yaml``), summary, schema, the module whose
    ``main(cfg)`` runs it, and the options of the ``protocol`` group it reads (none: it has no protocol)."""

    name: str
    summary: str
    schema: type
    module: str
    protocols: tuple[str, ...] = ()


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe(
            "demo",
            "the whole pipeline on a CPU in minutes: tiny model, SFT, eval, GRPO (vLLM), eval, before/after report",
            DemoConfig,
            "deepcritic.recipes.demo",
        ),
        Recipe(
            "convert",
            "convert a data source (ProcessBench, MR-GSM8K, PRM800K, files, Hub) to data-contract JSONL",
            R.ConvertConfig,
            "deepcritic.recipes.convert",
        ),
        Recipe(
            "sft",
            "SFT warm start: train a critic on (critic prompt -> deliberate critique) chats (TRL, DeepSpeed)",
            R.SFTRecipeConfig,
            "deepcritic.recipes.sft",
        ),
        Recipe(
            "cft",
            "Critique Fine-Tuning on WebInstruct-CFT-style data (question + solution -> critique)",
            R.CFTRecipeConfig,
            "deepcritic.recipes.cft",
        ),
        Recipe(
            "grpo",
            "GRPO: reinforce a critic with the 0/1 judgment reward (TRL, vLLM colocate/server or generate, DeepSpeed)",
            R.GRPORecipeConfig,
            "deepcritic.recipes.grpo",
        ),
        Recipe(
            "filter",
            "keep records whose pass rate under the current critic lies in [min_pass, max_pass] (GRPO signal)",
            R.FilterConfig,
            "deepcritic.recipes.filter",
        ),
        Recipe(
            "eval",
            "evaluate a critic (vLLM, HF or an OpenAI-compatible server) on ProcessBench, MR-GSM8K, PRM800K, "
            "files, under deepcritic's or a paper's official protocol: F1 (and strict F1), Maj@k",
            R.EvalConfig,
            "deepcritic.recipes.evaluate",
            CRITIC_PROTOCOL_OPTIONS,
        ),
        Recipe(
            "score",
            "re-score saved critic outputs (ours or any JSONL with a text and a label) under any protocol, no model",
            ScoreConfig,
            "deepcritic.recipes.score",
            CRITIC_PROTOCOL_OPTIONS,
        ),
        Recipe(
            "report",
            "put several eval runs side by side: deepcritic report runs=[runs/eval/a,runs/eval/b]",
            R.ReportConfig,
            "deepcritic.recipes.report",
        ),
        Recipe(
            "solve",
            "answer accuracy of a solver (e.g. a CFT model) on problem sets, greedy or Maj@k (math-verify); "
            "protocol=cft_paper: the CFT paper's Qwen2.5-Math harness",
            R.SolveConfig,
            "deepcritic.recipes.solve",
            SOLVE_PROTOCOL_OPTIONS,
        ),
        Recipe(
            "refine",
            "critique-guided refinement: a generator solves, the critic critiques, the generator revises",
            R.RefineConfig,
            "deepcritic.recipes.refine",
        ),
        Recipe(
            "verify-vote",
            "critic-verified majority voting: sample n solutions, drop those the critic rejects, vote",
            R.RefineConfig,
            "deepcritic.recipes.verify_vote",
        ),
        Recipe(
            "synthesize",
            "seed critiques for SFT: a teacher critiques, re-examines and merges per step (PRM800K by default)",
            R.SynthesizeConfig,
            "deepcritic.recipes.synthesize",
        ),
        Recipe(
            "label",
            "Monte-Carlo step labels for RL: sample solutions, roll out from every step prefix (vLLM prefix caching)",
            LabelConfig,
            "deepcritic.recipes.label",
        ),
        Recipe(
            "plan",
            "per-GPU memory of a recipe's run (ZeRO states, activations, colocated vLLM): fits or not, what to change",
            PlanConfig,
            "deepcritic.recipes.plan",
        ),
        Recipe(
            "cft-data",
            "CFT samples: a teacher critiques candidate solutions, ending 'Conclusion: right|wrong [END]'",
            R.CFTDataConfig,
            "deepcritic.recipes.cft_data",
        ),
        Recipe(
            "push",
            "push a finished run to the Hub: a training run's final/ and best/, or an eval run's figures into a card",
            PushConfig,
            "deepcritic.recipes.push",
        ),
    ]
}


def register_configs() -> None:
    """Idempotently store ``schema_<recipe>`` for every recipe in Hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for recipe in RECIPES.values():
        store.store(name=f"schema_{recipe.name}", node=recipe.schema)
