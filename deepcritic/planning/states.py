"""Training state per device: parameters, gradients and optimizer states, by ZeRO stage and offload.

DeepSpeed's estimators (deepspeed/runtime/zero/stage_1_and_2.py and stage3.py, v0.19) count mixed precision
(16-bit weights, fp32 master copy and Adam moments) as follows, with P parameters, L those of the largest
module, N = GPUs in all, G = GPUs per node, and a host buffer factor of 1.5:

| stage | offload | per GPU | per node (host) |
|---|---|---|---|
| 1, 2 | none | 2P + 18P/N (18 = 16-bit gradients 2 + fp32 gradients 4 + fp32 weights 4 + Adam 8) | 4P x G x 1.5 |
| 1, 2 | optimizer | 2P | P x max(4N, 16) x 1.5 |
| 3 | none | 4L + 18P/N | 4L x G x 1.5 (zero.Init) |
| 3 | optimizer | 4L + 2P/N | 16P / nodes x 1.5 |
| 3 | optimizer + parameters | 4L | 18P / nodes x 1.5 |

:func:`deepspeed_zero2` and :func:`deepspeed_zero3` are those two functions, reproduced; :func:`model_states`
splits the same totals into parameters, gradients and optimizer states and generalises the 16-bit terms to the
training precision's bytes ``w`` (fp32 training, as on CPU, keeps 4-byte weights and gradients and still an fp32
optimizer copy). Two cases DeepSpeed's estimators do not cover are counted here as follows: without DeepSpeed
(stage 0) the trainer keeps the weights, their gradients and torch AdamW's two moments in the model's dtype
(4w bytes a parameter: 8 in bf16, 16 in fp32); ZeRO-3 offloading parameters but not the optimizer keeps
gradients and optimizer states on the GPU (4L + 16P/N at w = 2).
"""

from __future__ import annotations

from dataclasses import dataclass

BUFFER_FACTOR = 1.5  # DeepSpeed's additional_buffer_factor default (host memory)


def deepspeed_zero2(
    total_params: int, gpus_per_node: int = 1, nodes: int = 1, cpu_offload: bool = True, buffer: float = BUFFER_FACTOR
) -> tuple[int, int]:
    """DeepSpeed's ``estimate_zero2_model_states_mem_needs``: ``(host bytes per node, bytes per GPU)``."""
    gpus = nodes * gpus_per_node
    if cpu_offload:
        return int(total_params * max(4 * gpus, 16) * buffer), int(2 * total_params)
    return int(total_params * 4 * gpus_per_node * buffer), int(2 * total_params + int(18 * total_params / gpus))


def deepspeed_zero3(
    total_params: int,
    largest_layer_params: int,
    gpus_per_node: int = 1,
    nodes: int = 1,
    cpu_offload: bool = True,
    cpu_offload_params: bool = True,
    zero_init: bool = True,
    buffer: float = BUFFER_FACTOR,
) -> tuple[int, int, int]:
    """DeepSpeed's ``estimate_zero3_model_states_mem_needs``: ``(host bytes per node, bytes per GPU, bytes of the
    largest layer)``."""
    gpus, per_node = nodes * gpus_per_node, 1 / nodes
    largest = 4 * largest_layer_params
    if cpu_offload and cpu_offload_params:
        factor = 18 * per_node if zero_init else max(4 * gpus_per_node, 18 * per_node)
        return int(total_params * factor * buffer), int(largest), largest
    if cpu_offload:
        factor = 16 * per_node if zero_init else max(4 * gpus_per_node, 16 * per_node)
        return int(total_params * factor * buffer), int(largest + int(2 * total_params / gpus)), largest
    host = largest_layer_params * 4 * gpus_per_node if zero_init else total_params * 4 * gpus_per_node
    return int(host * buffer), int(largest + int(18 * total_params / gpus)), largest


@dataclass(frozen=True)
class ModelStates:
    """Bytes per device of the training state, and host bytes per node (DeepSpeed's ``cpu_mem``)."""

    parameters: int
    gradients: int
    optimizer: int
    host: int

    @property
    def device(self) -> int:
        return self.parameters + self.gradients + self.optimizer


def model_states(
    params: int,
    largest: int,
    stage: int,
    offload_optimizer: bool = False,
    offload_params: bool = False,
    gpus_per_node: int = 1,
    nodes: int = 1,
    w: int = 2,
) -> ModelStates:
    """The training state of ``params`` parameters (``largest``: the largest module's) per device, for a ZeRO
    ``stage`` (0: no DeepSpeed; 1 and 2 count alike, as DeepSpeed's estimator does) trained in ``w``-byte
    weights; see the module docstring for the table it follows."""
    n = gpus_per_node * nodes
    if stage == 0:
        return ModelStates(w * params, w * params, 2 * w * params, 0)
    if stage in (1, 2):
        host, _ = deepspeed_zero2(params, gpus_per_node, nodes, cpu_offload=offload_optimizer)
        if offload_optimizer:
            return ModelStates(w * params, 0, 0, host)
        return ModelStates(w * params, (w + 4) * params // n, 12 * params // n, host)
    if offload_optimizer:
        host, _, _ = deepspeed_zero3(params, largest, gpus_per_node, nodes, True, offload_params)
        shard = 0 if offload_params else w * params // n
        return ModelStates(shard + w * largest, w * largest, 0, host)
    if offload_params:  # not a case of DeepSpeed's estimator: the 16-bit shard moves, the rest stays
        return ModelStates(w * largest, 4 * params // n + w * largest, 12 * params // n, int(2 * params / nodes * 1.5))
    host, _, _ = deepspeed_zero3(params, largest, gpus_per_node, nodes, False, False)
    return ModelStates(w * params // n + w * largest, 4 * params // n + w * largest, 12 * params // n, host)
