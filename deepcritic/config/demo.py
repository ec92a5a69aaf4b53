"""``deepcritic demo``: its task, its evaluations, and the real ``sft`` and ``grpo`` recipe sections it runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from deepcritic.config.base import cross_check, key_of, option
from deepcritic.config.data import SyntheticConfig
from deepcritic.config.model import ModelConfig
from deepcritic.config.recipes import GRPORecipeConfig, SFTRecipeConfig
from deepcritic.config.training import LoggerConfig
from deepcritic.errors import Problem


@dataclass
class DemoTaskConfig:
    """The demo's task: the synthetic arithmetic critique (``synthetic``) and four disjoint splits of it.

    Each split draws its own records (its own seed): ``sft`` (gold critiques: SFT targets), ``grpo``
    (labels only), ``dev`` (every choice: the SFT budget, the GRPO schedule, the curve during GRPO) and
    ``held_out`` (evaluated before and after GRPO, never used for a choice). A training or dev record
    that also occurs in a later split (same problem and steps) is dropped from the earlier one, so
    held-out records are never trained on. SFT may draw from an easier variant: ``sft_error_rate``.
    """

    synthetic: SyntheticConfig = option(SyntheticConfig, "the task (num_records and seed are set per split)")
    sft_records: int = option(8000, "SFT split size", ge=1)
    grpo_records: int = option(4000, "GRPO split size", ge=1)
    dev_records: int = option(200, "dev split size", ge=1)
    held_out_records: int = option(
        400, "held-out split size; the learning claim needs >= 400 (benchmarks/demo_learns.py)", ge=1
    )
    sft_seed: int = option(1, "SFT split seed")
    grpo_seed: int = option(2, "GRPO split seed")
    dev_seed: int = option(3, "dev split seed")
    held_out_seed: int = option(4, "held-out split seed")
    sft_error_rate: Optional[float] = option(
        None,
        "SFT split's share of records with a wrong step; null = synthetic's",
        ge=0,
        le=1,
        fix="a fraction in [0, 1], or null",
    )


@cross_check(DemoTaskConfig)
def _distinct_seeds(t: DemoTaskConfig, key: str) -> list[Problem]:
    seeds = [t.sft_seed, t.grpo_seed, t.dev_seed, t.held_out_seed]
    if len(set(seeds)) < len(seeds):
        return [
            Problem(key_of(key, "held_out_seed"), seeds, "give every split its own seed (sft, grpo, dev, held_out)")
        ]
    return []


@dataclass
class DemoEvalConfig:
    """The demo's evaluations: greedy critiques with vLLM, the F1 difference's paired bootstrap, dev curve."""

    max_new_tokens: int = option(200, "per critique (a counted 4-step critique is at most about 180 tokens)", ge=1)
    batch_size: int = option(400, "records per generation call (predictions are written after each)", ge=1)
    dev_every: int = option(10, "GRPO steps between dev-split evaluations (the curve in plot.png); 0 = none", ge=0)
    bootstrap_resamples: int = option(2000, "paired bootstrap resamples", ge=100)
    bootstrap_seed: int = option(0, "bootstrap seed")
    baseline_seed: int = option(0, "the random-step baseline's draws")


@dataclass
class DemoConfig:
    """``deepcritic demo``: the whole pipeline on a CPU: tiny model, SFT, eval, GRPO, eval, report.

    ``model``: with ``from_scratch`` a tiny Qwen2 and a digit-level tokenizer are built from ``model.tiny``;
    ``model.template`` null = the demo's short prompt (``deepcritic/critique/templates/demo_critic.txt``).
    ``sft`` and ``grpo`` are the two stages' recipe configs (``deepcritic sft`` / ``deepcritic grpo``), but for
    what the demo sets itself: their model (the tiny model, then the SFT result), data (the splits), chat,
    logger, seed and output directory. ``grpo.rollout`` is also the vLLM engine of both evaluations.
    """

    model: ModelConfig = option(ModelConfig, "the model (the tiny one, built from config)")
    task: DemoTaskConfig = option(DemoTaskConfig, "the synthetic task and its splits")
    sft: SFTRecipeConfig = option(SFTRecipeConfig, "the SFT stage")
    grpo: GRPORecipeConfig = option(GRPORecipeConfig, "the GRPO stage")
    eval: DemoEvalConfig = option(DemoEvalConfig, "the evaluations")
    logger: LoggerConfig = option(LoggerConfig, "tracking (every stage logs into one wandb group)")
    seed: int = option(42, "the training seed of both stages")


#: What the demo sets in its stages itself (a value here would be silently replaced, so it is refused).
DEMO_OWNED = {"sft": ("model", "data", "chat", "logger", "seed"), "grpo": ("model", "data", "logger", "seed")}


@cross_check(DemoConfig)
def _demo_stages(cfg: DemoConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    for stage, owned in DEMO_OWNED.items():
        section = getattr(cfg, stage)
        default = type(section)()
        for name in owned:
            if getattr(section, name) != getattr(default, name):
                out.append(
                    Problem(
                        key_of(key, f"{stage}.{name}"),
                        "<set>",
                        f"the demo sets {stage}.{name} itself: set the demo's top-level "
                        f"{'seed' if name == 'seed' else name} (or task) instead",
                    )
                )
        if section.train.output_dir is not None:
            out.append(
                Problem(
                    key_of(key, f"{stage}.train.output_dir"),
                    section.train.output_dir,
                    f"the demo writes its {stage} stage under <run dir>/{stage}: leave it null",
                )
            )
    r = cfg.grpo.rollout
    if r.backend != "vllm" or r.vllm_mode != "colocate":
        out.append(
            Problem(
                key_of(key, "grpo.rollout.backend"),
                f"{r.backend}/{r.vllm_mode}",
                "the demo samples with a vLLM engine in its own process: grpo.rollout.backend=vllm, "
                "grpo.rollout.vllm_mode=colocate",
            )
        )
    return out
