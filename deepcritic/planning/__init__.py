"""Memory and throughput arithmetic for ``deepcritic plan`` (pure: numbers in, numbers out).

- :mod:`.states`: parameters, gradients and optimizer states per device by ZeRO stage and offload, counted as
  DeepSpeed's own estimators count them (``estimate_zero2_model_states_mem_needs`` /
  ``estimate_zero3_model_states_mem_needs``, reproduced in :func:`.states.deepspeed_zero2` and
  :func:`.states.deepspeed_zero3`).
- :mod:`.activations`: what a Qwen2 forward keeps for the backward pass, with and without gradient checkpointing,
  and TRL's chunked LM head.
- :mod:`.engine`: a vLLM engine's weights and KV cache (2 x layers x KV heads x head size x bytes per token).
- :mod:`.workload`: a recipe config -> the :class:`.workload.Workload` these count (lengths, batch, ZeRO, rollout).
- :mod:`.plan`: the per-device total, the verdict, the changes that would make a run fit, tokens per step.
"""
