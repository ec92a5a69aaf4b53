#!/usr/bin/env bash
# Train on one node with N GPUs: deepcritic <recipe> [hydra overrides] under a distributed launcher.
#   bash launch/train_1node.sh sft experiment=deepcritic_sft_qwen2.5_7b chat.path=critiques.jsonl
#   NUM_GPUS=4 bash launch/train_1node.sh cft experiment=cft_qwen2.5_math_7b
#   DRY_RUN=1 bash launch/train_1node.sh sft experiment=...      # print the command, run nothing
# Environment:
#   NUM_GPUS           processes (default: GPUs that nvidia-smi lists, at least 1)
#   LAUNCHER           accelerate (default) | torchrun | deepspeed
#   ACCELERATE_CONFIG  accelerate topology file (default: launch/accelerate/multi_gpu.yaml)
#   MASTER_PORT        rendezvous port (default: a free port, printed; torchrun --standalone picks its own)
# ZeRO stage and offload come from the recipe's `deepspeed` config group (experiments set zero3), so
# every launcher trains the same way; the global batch is kept whatever NUM_GPUS is.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ $# -lt 1 ]]; then
  echo "usage: [NUM_GPUS=N] [LAUNCHER=accelerate|torchrun|deepspeed] [DRY_RUN=1] $0 <recipe> [overrides...]" >&2
  exit 2
fi
recipe="$1"; shift
num_gpus="${NUM_GPUS:-$(gpus_on_this_node)}"
(( num_gpus >= 1 )) || num_gpus=1
config="${ACCELERATE_CONFIG:-$root/launch/accelerate/multi_gpu.yaml}"

case "${LAUNCHER:-accelerate}" in
  accelerate)
    port="${MASTER_PORT:-$(free_port)}"
    cmd=(accelerate launch --config_file "$config" --num_processes "$num_gpus" --main_process_port "$port"
         -m deepcritic.cli "$recipe" "$@") ;;
  torchrun)
    cmd=(torchrun --standalone --nproc_per_node "$num_gpus" -m deepcritic.cli "$recipe" "$@") ;;
  deepspeed)
    # the deepspeed launcher appends --local_rank=N; deepcritic's CLI strips it
    port="${MASTER_PORT:-$(free_port)}"
    cmd=(deepspeed --num_gpus "$num_gpus" --master_port "$port" --module deepcritic.cli "$recipe" "$@") ;;
  *)
    echo "LAUNCHER=${LAUNCHER}: use accelerate, torchrun or deepspeed" >&2; exit 2 ;;
esac
launch_run "${cmd[@]}"
