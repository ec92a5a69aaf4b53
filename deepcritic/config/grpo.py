"""What only reinforcement learning has: the reward, the GRPO algorithm, and where rollouts run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from deepcritic.config.base import cross_check, key_of, option
from deepcritic.config.generation import RolloutConfig
from deepcritic.errors import Problem

GRPO_LOSS_TYPES = ("dapo", "grpo", "dr_grpo", "bnpo", "cispo", "sapo", "luspo", "vespo")
SCALE_REWARDS = ("group", "batch", "none")
VLLM_MODES = ("colocate", "server")


@dataclass
class RewardConfig:
    """The GRPO reward (``deepcritic/rewards.py``, whose ``RewardRules`` these fields mirror; group ``reward``).

    1.0 when the critique's final judgment equals the label, else 0.0; a truncated or unparseable
    critique scores 0.0. The two optional rules are off by default.
    """

    strict_format: bool = option(True, "the answer line must appear once, as the last non-empty line")
    require_step_consistency: bool = option(False, "per-step \\boxed{1}/\\boxed{-1} must agree with the verdict")
    length_penalty: float = option(
        0.0,
        "a right judgment loses length_penalty * (tokens - start) / start (floor 0)",
        ge=0,
        fix="use 0 (off) or a positive weight, e.g. 0.5",
    )
    length_penalty_start: int = option(
        4096, "tokens; the penalty applies beyond this length", ge=1, fix="use a positive token count"
    )


@dataclass
class GRPOOptions:
    """The RL algorithm (TRL ``GRPOTrainer``) and the learning-signal switches of ``deepcritic grpo``.

    Samples per prompt, temperature and the completion length limit are the ``sampling`` section
    (``n``, ``temperature``, ``max_new_tokens``). With a 0/1 reward a group whose samples all score the
    same has zero advantage and carries no gradient: ``deepcritic filter`` removes such prompts before
    training, ``dynamic_sampling`` drops such groups during training and refills the batch (DAPO).
    """

    beta: float = option(
        0.0,
        "KL coefficient to the initial model; 0 = no reference model is kept",
        ge=0,
        fix="use 0 (no KL term) or a positive coefficient, e.g. 0.001",
    )
    epsilon: float = option(
        0.2, "clip range of the probability ratio (lower side)", gt=0, fix="use a positive clip range, e.g. 0.2"
    )
    epsilon_high: Optional[float] = option(None, "upper side (DAPO clip-higher, e.g. 0.28); null = epsilon")
    loss_type: str = option(
        "dapo",
        "TRL: dapo (token-level, global normaliser) | grpo | dr_grpo | bnpo | cispo | ...",
        choices=GRPO_LOSS_TYPES,
    )
    scale_rewards: str = option(
        "group", "advantage = (r - group mean) / std over: group | batch | none (no division)", choices=SCALE_REWARDS
    )
    num_iterations: int = option(1, "optimisation passes over each generated batch (mu)", ge=1)
    mask_truncated_completions: bool = option(False, "true: completions cut at max_new_tokens are left out of the loss")
    importance_sampling_correction: bool = option(True, "vLLM: reweight by trainer/engine probability ratio (TRL TIS)")
    dynamic_sampling: bool = option(
        False, "drop zero-variance groups, refill with fresh prompts (DAPO dynamic sampling)"
    )
    dynamic_sampling_max_rounds: int = option(3, "extra generation rounds per batch at most; then what is left is kept")
    balance_error_fraction: Optional[float] = option(
        None,
        "e.g. 0.5: downsample so this share of records has an error",
        gt=0,
        lt=1,
        fix="a fraction in (0, 1), or null",
    )
    max_prompt_length: Optional[int] = option(
        None,
        "drop (and count) records whose critic prompt is longer, in tokens",
        ge=1,
        fix="a positive token count, or null",
    )
    log_completions: bool = option(True, "wandb table + <output_dir>/completions/*.parquet: completion, verdict, label")
    num_completions_to_print: int = option(2, "completions shown on the console at each logging step")
    verify_engine_sync: bool = option(False, "colocate: after training, check the engine holds the trained weights")


@cross_check(GRPOOptions)
def _grpo_options(g: GRPOOptions, key: str) -> list[Problem]:
    out: list[Problem] = []
    if g.epsilon_high is not None and g.epsilon_high < g.epsilon:
        out.append(
            Problem(key_of(key, "epsilon_high"), g.epsilon_high, f"use null or a value >= epsilon ({g.epsilon})")
        )
    if g.dynamic_sampling and g.dynamic_sampling_max_rounds < 1:
        out.append(Problem(key_of(key, "dynamic_sampling_max_rounds"), g.dynamic_sampling_max_rounds, "use at least 1"))
    if g.dynamic_sampling and g.scale_rewards == "batch":
        out.append(
            Problem(
                key_of(key, "scale_rewards"),
                g.scale_rewards,
                "dynamic sampling moves groups between generated batches, so advantages must not depend "
                "on the batch: use group or none",
            )
        )
    return out


@dataclass
class VLLMServerConfig:
    """The ``trl vllm-serve`` server that ``deepcritic grpo`` samples from with ``rollout.vllm_mode=server``.

    Start it on GPUs of its own with ``launch/vllm_server.sh``; the trainer waits up to ``timeout_s`` for
    it, sends prompts over HTTP and pushes its weights after every step over NCCL on ``group_port``.
    """

    host: str = option("127.0.0.1", "server host")
    port: int = option(8000, "server port", ge=1, le=65535, fix="ports in 1..65535")
    base_url: Optional[str] = option(None, "e.g. http://gpu-node-7:8000; overrides host and port")
    timeout_s: float = option(240.0, "how long the trainer waits for the server to come up")
    group_port: int = option(51216, "NCCL weight-update group", ge=1, le=65535, fix="ports in 1..65535")


@cross_check(VLLMServerConfig)
def _server_url(s: VLLMServerConfig, key: str) -> list[Problem]:
    if s.base_url is not None and not s.base_url.startswith(("http://", "https://")):
        return [Problem(key_of(key, "base_url"), s.base_url, "an http(s) URL, e.g. http://host:8000")]
    return []


@dataclass
class GRPORolloutConfig(RolloutConfig):
    """``rollout`` of ``deepcritic grpo``: the generation backend plus where TRL runs the vLLM engine.

    ``backend``: ``vllm`` = TRL's vLLM rollouts in ``vllm_mode`` (``colocate``: an engine inside every
    training process, sharing its GPU; ``server``: a ``trl vllm-serve`` server on GPUs of its own, see
    ``server``), ``hf`` = TRL's plain ``generate`` (no vLLM). ``openai`` cannot train (the weights could
    not be pushed).
    """

    vllm_mode: str = option("colocate", "colocate | server", choices=VLLM_MODES, when=lambda r: r.backend == "vllm")
    sleep_mode: bool = option(False, "colocate on GPU: free engine weights + KV cache while the trainer steps")
    server: VLLMServerConfig = option(
        VLLMServerConfig, "vllm_mode=server", when=lambda r: r.backend == "vllm" and r.vllm_mode == "server"
    )


@cross_check(GRPORolloutConfig)
def _grpo_rollout(r: GRPORolloutConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if r.backend not in ("vllm", "hf"):
        out.append(
            Problem(
                key_of(key, "backend"),
                r.backend,
                "grpo samples with vllm (rollout=colocate or rollout=server) or hf (plain generate); "
                "an openai server cannot take the trained weights",
            )
        )
    if r.sleep_mode and (r.backend != "vllm" or r.vllm_mode != "colocate"):
        out.append(
            Problem(
                key_of(key, "sleep_mode"),
                True,
                "sleep mode frees a colocated engine: needs rollout.backend=vllm and rollout.vllm_mode=colocate",
            )
        )
    return out
