"""One schema per recipe (``conf/<recipe>.yaml`` starts its defaults list with ``schema_<recipe>``), the
recipe registry, and the checks that span several sections of one recipe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from deepcritic.config.base import cross_check, key_of, option
from deepcritic.config.data import CandidatesConfig, ChatDataConfig, DataConfig, ProblemsConfig
from deepcritic.config.evaluation import (
    EvalDuringTrainingConfig,
    GraderConfig,
    ProtocolConfig,
    SolveProtocolConfig,
    grader_problems,
    harness_problems,
    official_prompt_clash,
)
from deepcritic.config.generation import RoleConfig, RolloutConfig, SamplingConfig
from deepcritic.config.grpo import GRPOOptions, GRPORolloutConfig, RewardConfig
from deepcritic.config.model import ModelConfig
from deepcritic.config.publish import HubDatasetConfig, HubModelConfig
from deepcritic.config.training import DeepSpeedConfig, LoggerConfig, SFTTrainConfig, TrainConfig
from deepcritic.errors import Problem

REFERENCE_MODES = ("answer", "boxed")


@dataclass
class ConvertConfig:
    """``deepcritic convert``: read any supported source and write data-contract JSONL."""

    data: DataConfig = option(DataConfig, "the source")
    output: Optional[str] = option(None, "records: .jsonl (JSON Lines) or .parquet; default: <run dir>/records.jsonl")
    hub: HubDatasetConfig = option(HubDatasetConfig, "pushing the records to the Hub as a data set (hub.push=true)")
    seed: int = option(0, "seed")


@dataclass
class SFTRecipeConfig:
    """``deepcritic sft``: train a critic on (critic prompt -> deliberate critique) chats."""

    model: ModelConfig = option(ModelConfig, "the model to train")
    data: DataConfig = option(DataConfig, "records, used when chat.source=records")
    chat: ChatDataConfig = option(ChatDataConfig, "the training chats")
    train: SFTTrainConfig = option(SFTTrainConfig, "optimisation")
    deepspeed: DeepSpeedConfig = option(DeepSpeedConfig, "ZeRO")
    eval_during_training: EvalDuringTrainingConfig = option(
        EvalDuringTrainingConfig, "critic evaluation while training (off without benchmarks)"
    )
    logger: LoggerConfig = option(LoggerConfig, "tracking")
    hub: HubModelConfig = option(HubModelConfig, "pushing the model to the Hub (hub.push=true) and the card's metadata")
    seed: int = option(42, "training seed (also the data order)")


@dataclass
class CFTRecipeConfig:
    """``deepcritic cft``: Critique Fine-Tuning on (question + candidate solution -> critique) chats."""

    model: ModelConfig = option(ModelConfig, "the model to train")
    chat: ChatDataConfig = option(ChatDataConfig, "the training chats (chat=webinstruct_cft)")
    train: SFTTrainConfig = option(SFTTrainConfig, "optimisation")
    deepspeed: DeepSpeedConfig = option(DeepSpeedConfig, "ZeRO")
    eval_during_training: EvalDuringTrainingConfig = option(
        EvalDuringTrainingConfig, "critic evaluation while training (off without benchmarks)"
    )
    logger: LoggerConfig = option(LoggerConfig, "tracking")
    hub: HubModelConfig = option(HubModelConfig, "pushing the model to the Hub (hub.push=true) and the card's metadata")
    seed: int = option(42, "training seed (also the data order)")


@dataclass
class GRPORecipeConfig:
    """``deepcritic grpo``: reinforce the critic with a 0/1 judgment reward (TRL GRPOTrainer, vLLM rollouts).

    ``train`` batch sizes count completions (prompts x ``sampling.n``); lengths are bounded by
    ``grpo.max_prompt_length`` and ``sampling.max_new_tokens``.
    """

    model: ModelConfig = option(ModelConfig, "the critic to reinforce (the SFT checkpoint)")
    data: DataConfig = option(DataConfig, "records with labels")
    rollout: GRPORolloutConfig = option(GRPORolloutConfig, "where rollouts are generated")
    sampling: SamplingConfig = option(SamplingConfig, "samples per prompt (n), temperature, completion length")
    reward: RewardConfig = option(RewardConfig, "the 0/1 judgment reward")
    grpo: GRPOOptions = option(GRPOOptions, "the algorithm")
    train: TrainConfig = option(TrainConfig, "optimisation")
    deepspeed: DeepSpeedConfig = option(DeepSpeedConfig, "ZeRO")
    eval_during_training: EvalDuringTrainingConfig = option(
        EvalDuringTrainingConfig, "critic evaluation while training (off without benchmarks)"
    )
    logger: LoggerConfig = option(LoggerConfig, "tracking")
    hub: HubModelConfig = option(HubModelConfig, "pushing the model to the Hub (hub.push=true) and the card's metadata")
    seed: int = option(42, "training seed (also the data order)")


def _skip_needs_plain_gradients(cfg: Any, key: str) -> list[Problem]:
    """``train.nonfinite=skip`` drops a step's gradients before the optimizer sees them; DeepSpeed keeps its own."""
    if cfg.train.nonfinite == "skip" and (cfg.deepspeed.stage or cfg.deepspeed.config_file):
        return [
            Problem(
                key_of(key, "train.nonfinite"),
                "skip",
                "DeepSpeed holds the gradients itself, so a step cannot be skipped: use train.nonfinite=stop "
                "(with train.logging_steps=1 it stops at the first non-finite step) or deepspeed=none",
            )
        ]
    return []


for _recipe in (SFTRecipeConfig, CFTRecipeConfig, GRPORecipeConfig):
    cross_check(_recipe)(_skip_needs_plain_gradients)


@cross_check(GRPORecipeConfig)
def _grpo_sampling(cfg: GRPORecipeConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    s, t = cfg.sampling, cfg.train
    if s.n < 2:
        out.append(
            Problem(
                key_of(key, "sampling.n"), s.n, "GRPO compares samples of one prompt: use at least 2 (DeepCritic: 8)"
            )
        )
    if s.temperature <= 0:
        out.append(
            Problem(
                key_of(key, "sampling.temperature"), s.temperature, "GRPO needs sampling: use a positive temperature"
            )
        )
    for name, value in (("stop", s.stop), ("stop_token_ids", s.stop_token_ids)):
        if value and cfg.rollout.backend != "vllm":
            fix = f"reaches GRPO's generation through vLLM only: use rollout=colocate or server, or sampling.{name}=[]"
            out.append(Problem(key_of(key, f"sampling.{name}"), list(value), fix))
    out += _engine_length(cfg, key)
    if t.global_batch_size is not None and s.n >= 1 and t.global_batch_size % s.n:
        out.append(
            Problem(
                key_of(key, "train.global_batch_size"),
                t.global_batch_size,
                f"counts completions per optimizer step and must hold whole groups: a multiple of sampling.n ({s.n})",
            )
        )
    return out


def _engine_length(cfg: GRPORecipeConfig, key: str) -> list[Problem]:
    """A colocated engine's context must hold the longest kept prompt and a whole completion."""
    r, s, limit = cfg.rollout, cfg.sampling, cfg.rollout.vllm.max_model_len
    if r.backend != "vllm" or r.vllm_mode != "colocate" or limit is None:
        return []
    need = (cfg.grpo.max_prompt_length or 1) + s.max_new_tokens
    if need <= limit:
        return []
    return [
        Problem(
            key_of(key, "rollout.vllm.max_model_len"),
            limit,
            f"must hold grpo.max_prompt_length ({cfg.grpo.max_prompt_length}) + sampling.max_new_tokens "
            f"({s.max_new_tokens}) = {need} tokens: raise it, or lower either of them",
        )
    ]


def _saved_model(key: str, model: ModelConfig, rollout: RolloutConfig) -> list[Problem]:
    if model.from_scratch and rollout.backend != "openai":
        return [
            Problem(
                f"{key}.from_scratch",
                True,
                "generation reads a saved model: set name_or_path to a checkpoint directory or Hub name "
                "(e.g. the output of deepcritic sft) and from_scratch=false",
            )
        ]
    return []


@dataclass
class FilterConfig:
    """``deepcritic filter``: keep the records whose pass rate under the current model lies in [min_pass, max_pass].

    Each record gets ``sampling.n`` critiques; its pass rate is the fraction whose judgment the reward
    (``reward`` rules, length penalty aside) counts as right. Records every sample gets right, or every
    sample gets wrong, give GRPO no gradient; the default bounds drop them for any n up to 9.
    """

    model: ModelConfig = option(ModelConfig, "the critic")
    data: DataConfig = option(DataConfig, "records with labels")
    rollout: RolloutConfig = option(RolloutConfig, "the generation backend")
    sampling: SamplingConfig = option(SamplingConfig, "n critiques per record (the GRPO sampling)")
    reward: RewardConfig = option(RewardConfig, "what counts as a right judgment")
    min_pass: float = option(0.1, "keep records with min_pass <= pass rate <= max_pass")
    max_pass: float = option(0.9, "see min_pass")
    batch_size: int = option(64, "records per generation call; results are saved per batch (a rerun resumes)", ge=1)
    output: Optional[str] = option(None, "kept records (data-contract JSONL); default <run dir>/kept.jsonl")
    logger: LoggerConfig = option(LoggerConfig, "tracking")
    seed: int = option(0, "seed")


@cross_check(FilterConfig)
def _filter_bounds(cfg: FilterConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if not 0.0 <= cfg.min_pass <= cfg.max_pass <= 1.0:
        out.append(
            Problem(key_of(key, "min_pass"), [cfg.min_pass, cfg.max_pass], "need 0 <= min_pass <= max_pass <= 1")
        )
    return out + _saved_model(key_of(key, "model"), cfg.model, cfg.rollout)


def _benchmarks_and_k(cfg: Any, key: str, n: int, n_key: str) -> list[Problem]:
    """Shared by eval / solve / refine: at least one benchmark, and Maj@k points within 1..n."""
    out: list[Problem] = []
    if not cfg.benchmarks:
        out.append(
            Problem(
                key_of(key, "benchmarks"),
                {},
                "name at least one benchmark, e.g. benchmarks=processbench "
                "or +benchmarks.mine={source:contract,path:my.jsonl}",
            )
        )
    ks = getattr(cfg, "maj_k", None)
    if ks is not None and (not ks or any(k < 1 or k > n for k in ks)):
        out.append(
            Problem(key_of(key, "maj_k"), list(ks), f"each k in 1..{n_key} ({n}), or null for 1, 2, 4, ..., {n_key}")
        )
    return out


@dataclass
class EvalConfig:
    """``deepcritic eval``: run a critic on several benchmarks under a protocol; F1, parse rate, length, Maj@k."""

    model: ModelConfig = option(ModelConfig, "the critic")
    protocol: ProtocolConfig = option(ProtocolConfig, "prompt, tagging, verdict reader and vote (conf/protocol/)")
    rollout: RolloutConfig = option(RolloutConfig, "the generation backend")
    sampling: SamplingConfig = option(SamplingConfig, "critiques per record and decoding")
    # typed Any so that `+benchmarks.mine={source: contract, path: x}` can add one on the command line
    benchmarks: dict[str, Any] = option({}, "name -> a data section (DataConfig)", entries=DataConfig)
    limit: Optional[int] = option(
        None,
        "at most N records per benchmark (on top of each one's own limit), drawn at random (seed) in the "
        "proportions of the two label classes",
        ge=1,
        fix="use a positive count, or null for all",
    )
    maj_k: Optional[list[int]] = option(None, "Maj@k points (each <= sampling.n); null = 1, 2, 4, ..., n")
    batch_size: int = option(64, "records per generation call; predictions are flushed after each batch", ge=1)
    grader: GraderConfig = option(
        GraderConfig, "MR-GSM8K task 3 / MR-Score grader (grader.enabled=true)", when=lambda c: c.grader.enabled
    )
    logger: LoggerConfig = option(LoggerConfig, "tracking")
    seed: int = option(0, "seed of the limit sample")


@cross_check(EvalConfig)
def _eval_run(cfg: EvalConfig, key: str) -> list[Problem]:
    return (
        _benchmarks_and_k(cfg, key, cfg.sampling.n, "sampling.n")
        + _saved_model(key_of(key, "model"), cfg.model, cfg.rollout)
        + official_prompt_clash(cfg.protocol, cfg.model.template, key_of(key, "model.template"))
        + grader_problems(cfg.protocol, cfg.grader, key_of(key, "grader.enabled"))
        + (
            _saved_model(key_of(key, "grader.model"), cfg.grader.model, cfg.grader.rollout)
            if cfg.grader.enabled
            else []
        )
    )


@dataclass
class SolveConfig:
    """``deepcritic solve``: answer accuracy of a solver (e.g. a CFT model) on problem sets, with math-verify."""

    generator: RoleConfig = option(RoleConfig, "the solver")
    protocol: SolveProtocolConfig = option(
        SolveProtocolConfig, "prompt and answer reading: deepcritic's own, or protocol=cft_paper (conf/protocol/)"
    )
    benchmarks: dict[str, Any] = option({}, "name -> a problem set (ProblemsConfig)", entries=ProblemsConfig)
    limit: Optional[int] = option(
        None, "at most the first N problems per benchmark", ge=1, fix="use a positive count, or null for all"
    )
    maj_k: Optional[list[int]] = option(None, "majority-vote points (each <= generator.sampling.n)")
    solve_template: Optional[str] = option(None, "protocol deepcritic's prompt; null = .../templates/solve.txt")
    batch_size: int = option(64, "problems per generation call", ge=1)
    answer_timeout_s: int = option(5, "math-verify parse / verify time limit per answer")
    logger: LoggerConfig = option(LoggerConfig, "tracking")
    seed: int = option(0, "seed")


@cross_check(SolveConfig)
def _solve_run(cfg: SolveConfig, key: str) -> list[Problem]:
    g = cfg.generator
    return (
        _benchmarks_and_k(cfg, key, g.sampling.n, "generator.sampling.n")
        + _saved_model(key_of(key, "generator.model"), g.model, g.rollout)
        + harness_problems(cfg.protocol, cfg.solve_template, cfg.benchmarks, key)
    )


@dataclass
class RefineConfig:
    """``deepcritic refine`` (critique-guided revision) and ``deepcritic verify-vote`` (critic-verified voting).

    refine: the generator solves each problem once, the critic critiques the solution's steps, and where
    it names a wrong step the generator revises with the critique. verify-vote: the generator samples
    ``generator.sampling.n`` solutions, the critic judges each, and answers the critic accepts are voted.
    """

    generator: RoleConfig = option(RoleConfig, "the solver")
    critic: RoleConfig = option(RoleConfig, "the critic")
    benchmarks: dict[str, Any] = option({}, "name -> a problem set (ProblemsConfig)", entries=ProblemsConfig)
    limit: Optional[int] = option(
        None, "at most N problems per benchmark", ge=1, fix="use a positive count, or null for all"
    )
    solve_template: Optional[str] = option(None, "null = deepcritic/critique/templates/solve.txt")
    revise_template: Optional[str] = option(None, "null = deepcritic/critique/templates/revise.txt")
    batch_size: int = option(64, "problems per batch", ge=1)
    answer_timeout_s: int = option(5, "math-verify parse / verify time limit per answer")
    logger: LoggerConfig = option(LoggerConfig, "tracking")
    seed: int = option(0, "seed")


@cross_check(RefineConfig)
def _refine_run(cfg: RefineConfig, key: str) -> list[Problem]:
    out = _benchmarks_and_k(cfg, key, 1, "1")
    for role in ("generator", "critic"):
        r = getattr(cfg, role)
        out += _saved_model(key_of(key, f"{role}.model"), r.model, r.rollout)
    return out


@dataclass
class ReportConfig:
    """``deepcritic report runs=[dir1,dir2]``: put several eval (or solve/refine) runs side by side."""

    runs: list[str] = option([], "run directories holding metrics.json (globs allowed)")
    names: list[str] = option([], "row labels; default: each run's model name")
    metric: Optional[str] = option(None, "e.g. f1, acc_error, parse_rate, maj@8; null = each run's primary metric")
    output: Optional[str] = option(None, "directory for report.md / report.png; default: the run directory")


@cross_check(ReportConfig)
def _report_runs(cfg: ReportConfig, key: str) -> list[Problem]:
    if not cfg.runs:
        return [
            Problem(key_of(key, "runs"), [], "list the run directories to compare, e.g. runs=[runs/eval/a,runs/eval/b]")
        ]
    if cfg.names and len(cfg.names) != len(cfg.runs):
        return [Problem(key_of(key, "names"), list(cfg.names), f"give one name per run ({len(cfg.runs)}), or none")]
    return []


def _datagen_role(key: str, role: RoleConfig) -> list[Problem]:
    """A data-generation role runs a saved model, a tiny one built in the run dir, or a server."""
    if role.rollout.backend == "openai" and not (role.rollout.openai.model or not role.model.from_scratch):
        return [
            Problem(
                f"{key}.rollout.openai.model",
                None,
                f"the server's model name is needed: set {key}.rollout.openai.model=<served name> "
                f"(or {key}.model.name_or_path=<name> {key}.model.from_scratch=false)",
            )
        ]
    return []


@dataclass
class SynthesizeConfig:
    """``deepcritic synthesize``: a teacher writes deliberate critiques of step-labeled records (SFT seed data).

    Per step up to the first wrong one: an initial critique, ``in_depth_samples`` in-depth critiques
    (the first whose judgment agrees with the label is kept) and a merge of the two; the merged
    critiques are assembled in the critique protocol's format. ``teacher.model.from_scratch=true`` (the
    default, ``model=tiny``) builds a random tiny teacher in the run directory: it exercises the pipeline
    on a CPU but writes noise; real runs set ``teacher.model.name_or_path`` (see
    experiment=synthesize_qwen2.5_72b).
    """

    teacher: RoleConfig = option(RoleConfig, "the teacher that writes the critiques")
    data: DataConfig = option(DataConfig, "step-labeled records to critique")
    initial_template: Optional[str] = option(None, "null = deepcritic/critique/templates/initial_critique.txt")
    in_depth_template: Optional[str] = option(None, "null = .../in_depth_critique.txt")
    merge_template: Optional[str] = option(None, "null = .../merge_critique.txt")
    critic_template: Optional[str] = option(None, "the SFT prompt (user turn); null = .../critic.txt")
    in_depth_samples: int = option(4, "stage 2 samples per step; the first agreeing with the label is kept", ge=1)
    merge_samples: int = option(1, "stage 3 samples per step; the first whose judgment agrees is kept", ge=1)
    extra_correct: int = option(
        0,
        "correct solutions whose initial critiques were all right, added to the mix (-1: all)",
        ge=-1,
        fix="a count >= 0, or -1 for every correct solution",
    )
    batch_size: int = option(
        64, "prompts per generation call; stage results are saved per batch (a rerun resumes)", ge=1
    )
    output: Optional[str] = option(None, "SFT chats: .jsonl or .parquet; default <run dir>/sft.jsonl")
    hub: HubDatasetConfig = option(HubDatasetConfig, "pushing the chats to the Hub as a data set (hub.push=true)")
    seed: int = option(0, "picks the extra correct solutions")


@cross_check(SynthesizeConfig)
def _synthesize_samples(cfg: SynthesizeConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    for name, n in (("in_depth_samples", cfg.in_depth_samples), ("merge_samples", cfg.merge_samples)):
        if n > 1 and cfg.teacher.sampling.temperature == 0:
            out.append(
                Problem(
                    key_of(key, "teacher.sampling.temperature"),
                    0.0,
                    f"{name}={n} greedy samples would be identical: set a temperature > 0",
                )
            )
    return out + _datagen_role(key_of(key, "teacher"), cfg.teacher)


@dataclass
class CFTDataConfig:
    """``deepcritic cft-data``: a teacher critiques candidate solutions, ending "Conclusion: right|wrong [END]".

    Rows are written in the WebInstruct-CFT form ``{instruction, input, output}`` that ``deepcritic cft``
    reads (``chat=webinstruct_cft chat.path=<output>``).
    """

    teacher: RoleConfig = option(RoleConfig, "writes the critiques")
    generator: RoleConfig = option(RoleConfig, "candidates.source=generate: samples the candidate solutions")
    candidates: CandidatesConfig = option(CandidatesConfig, "the (question, solution) pairs to critique")
    problems: dict[str, Any] = option(
        {},
        "candidates.source=generate: name -> a problem set (ProblemsConfig)",
        entries=ProblemsConfig,
        when=lambda c: c.candidates.source == "generate",
    )
    limit: Optional[int] = option(
        None,
        "at most N problems per set (generate) or candidates (file)",
        ge=1,
        fix="use a positive count, or null for all",
    )
    reference: str = option(
        "answer",
        "answer | boxed (generate: the answer column is a worked solution)",
        choices=REFERENCE_MODES,
        fix="use answer or boxed",
    )
    solve_template: Optional[str] = option(None, "generate: null = deepcritic/critique/templates/solve.txt")
    critique_template: Optional[str] = option(None, "null = deepcritic/critique/templates/cft_critique.txt")
    instruction: str = option(
        "Please critique whether the following solution to the question is correct.",
        "the instruction field of every written row",
    )
    require_agreement: bool = option(
        True, "with a reference answer: keep critiques whose conclusion matches math-verify"
    )
    batch_size: int = option(64, "prompts per generation call", ge=1)
    answer_timeout_s: int = option(5, "math-verify time limit per answer")
    output: Optional[str] = option(None, "WebInstruct-CFT rows: .jsonl or .parquet; default <run dir>/cft.jsonl")
    hub: HubDatasetConfig = option(HubDatasetConfig, "pushing the rows to the Hub as a data set (hub.push=true)")
    seed: int = option(0, "seed")


@cross_check(CFTDataConfig)
def _cft_data_roles(cfg: CFTDataConfig, key: str) -> list[Problem]:
    out = _datagen_role(key_of(key, "teacher"), cfg.teacher)
    if cfg.candidates.source == "generate":
        out += _datagen_role(key_of(key, "generator"), cfg.generator)
        if not cfg.problems:
            out.append(
                Problem(
                    key_of(key, "problems"),
                    {},
                    "name at least one problem set, e.g. problems=[gsm8k_file], "
                    "or read pairs from a file: candidates.source=file "
                    "candidates.path=<file>",
                )
            )
    return out
