"""Our ``grpo`` config -> ``trl.GRPOConfig`` (pure; table-tested in tests/unit/test_grpo_args.py).

The training half (learning rate, schedule, batch and accumulation, precision, DeepSpeed, checkpoints,
logging) is :func:`deepcritic.training.args.trainer_kwargs`, shared with SFT; :func:`grpo_kwargs` is the GRPO
half: it maps ``sampling``, ``grpo`` and ``rollout`` (vLLM colocate / server, or plain generate) onto TRL's names.

Batch sizes count completions: ``train.global_batch_size`` = prompts per optimizer step x
``sampling.n``. TRL generates once per optimizer step (``steps_per_generation`` = accumulation).
"""

from __future__ import annotations

from typing import Any

from deepcritic.config import GRPORecipeConfig
from deepcritic.errors import DeepcriticError


def grpo_kwargs(cfg: GRPORecipeConfig) -> dict[str, Any]:
    """What only ``trl.GRPOConfig`` has, for ``cfg``."""
    s, g = cfg.sampling, cfg.grpo
    return dict(
        num_generations=s.n,
        temperature=s.temperature,
        top_p=s.top_p,
        top_k=s.top_k,
        max_completion_length=s.max_new_tokens,
        beta=g.beta,
        epsilon=g.epsilon,
        epsilon_high=g.epsilon_high,
        loss_type=g.loss_type,
        scale_rewards=g.scale_rewards,
        num_iterations=g.num_iterations,
        mask_truncated_completions=g.mask_truncated_completions,
        log_completions=g.log_completions,
        num_completions_to_print=g.num_completions_to_print,
        remove_unused_columns=False,  # label / num_steps / has_error reach the reward function
        **({"generation_kwargs": _stops(s)} if s.stop or s.stop_token_ids else {}),  # vLLM's SamplingParams
        **rollout_kwargs(cfg),
    )


def _stops(s: Any) -> dict[str, Any]:
    """``sampling.stop`` / ``stop_token_ids`` as vLLM's SamplingParams fields (only those set)."""
    return {k: list(v) for k, v in (("stop", s.stop), ("stop_token_ids", s.stop_token_ids)) if v}


def rollout_kwargs(cfg: GRPORecipeConfig) -> dict[str, Any]:
    """TRL's vLLM arguments: colocate (engine per process), server (``trl vllm-serve``), or off (generate)."""
    r = cfg.rollout
    if r.backend != "vllm":
        return {"use_vllm": False}
    out: dict[str, Any] = {
        "use_vllm": True,
        "vllm_mode": r.vllm_mode,
        "vllm_importance_sampling_correction": cfg.grpo.importance_sampling_correction,
    }
    if r.vllm_mode == "colocate":
        out.update(
            vllm_gpu_memory_utilization=r.vllm.gpu_memory_utilization,
            vllm_tensor_parallel_size=r.vllm.tensor_parallel_size,
            vllm_max_model_length=r.vllm.max_model_len,
            vllm_enable_sleep_mode=r.sleep_mode,
        )
    else:
        out.update(
            vllm_server_host=r.server.host,
            vllm_server_port=r.server.port,
            vllm_server_base_url=r.server.base_url,
            vllm_server_timeout=r.server.timeout_s,
            vllm_group_port=r.server.group_port,
        )
    return out


def to_grpo_config(cfg: GRPORecipeConfig, common: dict[str, Any]):
    """``trl.GRPOConfig`` for ``cfg`` from the shared trainer arguments ``common``. Build it before loading the
    model (ZeRO-3 then loads it partitioned)."""
    from trl import GRPOConfig

    try:
        return GRPOConfig(**common, **grpo_kwargs(cfg))
    except ValueError as exc:  # TRL's own consistency checks (batch vs groups ...), phrased for our config
        raise DeepcriticError(f"the grpo settings do not fit together: {exc}") from None


def check_groups_per_process(per_device: int, accumulation: int, group_size: int) -> None:
    """Dynamic sampling needs each process's generation batch to hold whole groups; raise if it does not."""
    rows = per_device * accumulation
    if rows % group_size:
        raise DeepcriticError(
            f"grpo.dynamic_sampling needs whole groups per process: train.per_device_batch_size x gradient "
            f"accumulation = {per_device} x {accumulation} = {rows} completions is not a multiple of sampling.n "
            f"({group_size}); raise train.per_device_batch_size or the global batch"
        )
