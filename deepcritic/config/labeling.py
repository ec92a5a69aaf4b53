"""``deepcritic label``'s schema: Monte-Carlo step labels, how the generator is prompted, and judge consensus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from deepcritic.config.base import cross_check, key_of, option
from deepcritic.config.data import ProblemsConfig
from deepcritic.config.evaluation import ProtocolConfig
from deepcritic.config.generation import RoleConfig
from deepcritic.config.publish import HubDatasetConfig
from deepcritic.config.recipes import REFERENCE_MODES, _datagen_role
from deepcritic.errors import Problem

OFFICIAL_SYSTEM_PROMPTS = ("deepcritic",)


@dataclass
class JudgeConfig(RoleConfig):
    """``label.consensus=judge``: a judge model (any backend) names the first wrong step of every labeled
    solution under an evaluation protocol; a label is kept only where the judge agrees with it."""

    protocol: ProtocolConfig = option(
        ProtocolConfig,
        "how the judge is prompted and read: processbench suits an instruct model, deepcritic a trained critic",
    )


@dataclass
class LabelConfig:
    """``deepcritic label``: Monte-Carlo step labels for RL (``deepcritic/data/mc.py``).

    The generator samples ``generator.sampling.n`` solutions per problem; problems with both right and
    wrong answers (math-verify) are kept; for every wrong solution and ``num_correct`` right ones,
    ``rollouts_per_step`` continuations are sampled from each step prefix; the first step whose
    estimate is <= ``threshold`` is the label. ``continuation=prefill`` (the default) continues a prefix inside
    the assistant turn, as DeepCritic's rollout scripts do; ``experiment=label_mc_deepcritic`` sets the rest
    of DeepCritic's choices. ``consensus=judge`` keeps only the labels a judge model agrees with.
    """

    generator: RoleConfig = option(RoleConfig, "samples the solutions and the rollouts")
    problems: dict[str, Any] = option({}, "name -> a problem set (ProblemsConfig)", entries=ProblemsConfig)
    limit: Optional[int] = option(
        None, "at most N problems per problem set", ge=1, fix="use a positive count, or null for all"
    )
    reference: str = option(
        "answer",
        "answer | boxed (the answer column is a worked solution, e.g. NuminaMath-CoT)",
        choices=REFERENCE_MODES,
        fix="use answer (a bare final answer) or boxed (a worked solution whose last \\boxed{} is the answer)",
    )
    continuation: str = option(
        "prefill",
        "prefill: the prefix is the start of the assistant's answer and the model continues it (DeepCritic); "
        "user_turn: a new user turn asks to continue the prefix (continue_template; any chat server)",
        choices=("prefill", "user_turn"),
    )
    step_tags: bool = option(
        False,
        "solutions are prefilled with 'Step 1:' and written as 'Step k: ...' steps, split on those tags, and "
        "prefixes continued with their tags (DeepCritic); false: steps are paragraphs",
    )
    problem_only: bool = option(
        False,
        "the user turn is the problem text alone (DeepCritic's scripts); false: the solve template filled with it",
    )
    system_prompt: Optional[str] = option(None, "a system turn before the problem (solving and rollouts)")
    official_system_prompt: Optional[str] = option(
        None,
        "read the system turn from an official script instead (deepcritic: RUCBM/DeepCritic's rollout scripts' "
        "math prompt, pinned by sha256, downloaded once)",
        choices=OFFICIAL_SYSTEM_PROMPTS,
    )
    official_file: Optional[str] = option(None, "a local copy of that official script (its sha256 is checked)")
    boxed_only: bool = option(
        False,
        "grade only the last \\boxed{} of an answer (DeepCritic: no box, not correct); false: math-verify's own "
        "extraction (the last box, else the last expression)",
    )
    drop_unanswered: bool = option(
        False, "wrong solutions without a \\boxed{} answer are not labeled (counted), as DeepCritic filters them"
    )
    rollouts_per_step: int = option(8, "K continuations from every step prefix", ge=1)
    rollout_max_new_tokens: Optional[int] = option(None, "per continuation; null = generator.sampling.max_new_tokens")
    rollout_temperature: Optional[float] = option(
        None, "continuations' temperature; null = generator.sampling.temperature", gt=0, fix="a positive value, or null"
    )
    rollout_top_p: Optional[float] = option(
        None, "continuations' top-p; null = generator.sampling.top_p", gt=0, le=1, fix="in (0, 1], or null"
    )
    num_correct: int = option(
        1,
        "right solutions labeled per kept problem (-1: all)",
        ge=-1,
        fix="a count >= 0, or -1 for every right solution",
    )
    threshold: float = option(
        0.0,
        "first wrong step: estimate <= threshold (0 = no continuation recovers)",
        ge=0,
        lt=1,
        fix="a fraction in [0, 1) (0 = no continuation reaches the answer)",
    )
    max_steps: int = option(30, "solutions with more steps are not labeled (counted)", ge=1)
    consensus: str = option(
        "none",
        "none: every Monte-Carlo label is kept; judge: only those the judge model agrees with (the first wrong "
        "step, or none), the consensus filtering of Qwen's PRM lessons (arXiv 2501.07301)",
        choices=("none", "judge"),
    )
    judge: JudgeConfig = option(JudgeConfig, "consensus=judge: the judge model", when=lambda c: c.consensus == "judge")
    solve_template: Optional[str] = option(None, "null = deepcritic/critique/templates/solve.txt")
    continue_template: Optional[str] = option(
        None, "continuation=user_turn: null = deepcritic/critique/templates/continue.txt"
    )
    batch_size: int = option(64, "prompts per generation call; results are saved per batch (a rerun resumes)", ge=1)
    answer_timeout_s: int = option(5, "math-verify time limit per answer")
    output: Optional[str] = option(None, "data-contract records: .jsonl or .parquet; default <run dir>/labels.jsonl")
    hub: HubDatasetConfig = option(HubDatasetConfig, "pushing the labels to the Hub as a data set (hub.push=true)")
    seed: int = option(0, "seed")


@cross_check(LabelConfig)
def _label_run(cfg: LabelConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if not cfg.problems:
        out.append(Problem(key_of(key, "problems"), {}, "name at least one problem set, e.g. problems=[gsm8k_file]"))
    if cfg.generator.sampling.n < 2:
        out.append(
            Problem(
                key_of(key, "generator.sampling.n"),
                cfg.generator.sampling.n,
                "sample at least 2 solutions per problem (a problem is kept when some are right and some wrong)",
            )
        )
    if cfg.generator.sampling.temperature == 0:
        out.append(
            Problem(
                key_of(key, "generator.sampling.temperature"),
                0.0,
                "Monte-Carlo rollouts need sampling: use a temperature > 0",
            )
        )
    if cfg.system_prompt is not None and cfg.official_system_prompt is not None:
        out.append(
            Problem(
                key_of(key, "system_prompt"),
                cfg.system_prompt,
                f"{key_of(key, 'official_system_prompt')}={cfg.official_system_prompt} sets the system turn too: "
                "unset one of them",
            )
        )
    if cfg.official_file is not None and cfg.official_system_prompt is None:
        out.append(
            Problem(
                key_of(key, "official_file"),
                cfg.official_file,
                f"a local copy of an official script is read only with {key_of(key, 'official_system_prompt')} set",
            )
        )
    if cfg.consensus == "judge":
        out += _datagen_role(key_of(key, "judge"), cfg.judge)
    return out + _datagen_role(key_of(key, "generator"), cfg.generator)
