#!/usr/bin/env bash
# Start the vLLM server that `deepcritic grpo rollout=server` samples from (TRL's vllm-serve protocol: generation
# over HTTP, weight updates from the trainer over NCCL). Give it GPUs of its own, not the trainer's:
#   CUDA_VISIBLE_DEVICES=6,7 TP=2 bash launch/vllm_server.sh runs/sft/<run>/final
#   CUDA_VISIBLE_DEVICES=0,1,2,3,4,5 NUM_GPUS=6 bash launch/train_1node.sh grpo experiment=deepcritic_grpo_qwen2.5_7b \
#       rollout=server model.name_or_path=runs/sft/<run>/final ...
#   DRY_RUN=1 bash launch/vllm_server.sh <model>                  # print the command, run nothing
# The model must be the one the trainer starts from (same weights and tokenizer). On another node, point the
# trainer at it with rollout.server.host=<node> (or rollout.server.base_url=http://<node>:<port>).
# Environment:
#   TP                      tensor parallel size (default 1)
#   DP                      data parallel size (default 1; keep 1 for dense models)
#   HOST / PORT             where to listen (default 0.0.0.0:8000; rollout.server.port must match)
#   GPU_MEMORY_UTILIZATION  share of each server GPU for weights + KV cache (default 0.9)
#   MAX_MODEL_LEN           context limit (default: the model's); >= longest prompt + sampling.max_new_tokens
# Extra arguments after the model go to `trl vllm-serve` as they are (e.g. --dtype bfloat16). TRL 1.16 marks
# `trl vllm-serve` deprecated: it now runs `vllm serve` with the flags its trainers need (weight transfer,
# processed logprobs) and VLLM_SERVER_DEV_MODE=1, which is why it is used here rather than plain `vllm serve`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ $# -lt 1 ]]; then
  echo "usage: [CUDA_VISIBLE_DEVICES=..] [TP=n] [PORT=p] [DRY_RUN=1] $0 <model> [trl vllm-serve args...]" >&2
  exit 2
fi
model="$1"; shift
cmd=(trl vllm-serve --model "$model"
     --tensor_parallel_size "${TP:-1}" --data_parallel_size "${DP:-1}"
     --host "${HOST:-0.0.0.0}" --port "${PORT:-8000}"
     --gpu_memory_utilization "${GPU_MEMORY_UTILIZATION:-0.9}")
if [[ -n "${MAX_MODEL_LEN:-}" ]]; then
  cmd+=(--max_model_len "$MAX_MODEL_LEN")
fi
launch_run "${cmd[@]}" "$@"
