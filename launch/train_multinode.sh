#!/usr/bin/env bash
# Train on several nodes: run this same command on EVERY node (or use launch/slurm.sbatch).
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=node0 bash launch/train_multinode.sh sft experiment=deepcritic_sft_qwen2.5_7b ...
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=node0 bash launch/train_multinode.sh sft experiment=deepcritic_sft_qwen2.5_7b ...
#   DRY_RUN=1 ...                                                 # print the command, run nothing
# Environment:
#   NNODES             number of nodes (required)
#   MASTER_ADDR        address of the rendezvous node (required)
#   NODE_RANK          this node's rank, 0..NNODES-1 (accelerate; torchrun's c10d rendezvous assigns it)
#   NUM_GPUS           GPUs per node (default: GPUs that nvidia-smi lists)
#   MASTER_PORT        rendezvous port (default 29500)
#   LAUNCHER           torchrun (default; c10d rendezvous) | accelerate
#   ACCELERATE_CONFIG  accelerate topology file (default: launch/accelerate/multi_node.yaml)
#   RDZV_ID            torchrun rendezvous id (default: deepcritic)
# Every node must see the same repository, data and run directory (a shared filesystem); pass the same
# hydra.run.dir=<dir> on all nodes so that they write, and resume, in one place.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ $# -lt 1 ]]; then
  echo "usage: NNODES=N MASTER_ADDR=host [NODE_RANK=r] [NUM_GPUS=g] [DRY_RUN=1] $0 <recipe> [overrides...]" >&2
  exit 2
fi
recipe="$1"; shift
nnodes="${NNODES:?set NNODES (number of nodes)}"
addr="${MASTER_ADDR:?set MASTER_ADDR (the rendezvous node)}"
port="${MASTER_PORT:-29500}"
num_gpus="${NUM_GPUS:-$(gpus_on_this_node)}"
(( num_gpus >= 1 )) || num_gpus=1

case "${LAUNCHER:-torchrun}" in
  torchrun)
    cmd=(torchrun --nnodes "$nnodes" --nproc_per_node "$num_gpus" --rdzv_backend c10d
         --rdzv_endpoint "$addr:$port" --rdzv_id "${RDZV_ID:-deepcritic}" -m deepcritic.cli "$recipe" "$@") ;;
  accelerate)
    cmd=(accelerate launch --config_file "${ACCELERATE_CONFIG:-$root/launch/accelerate/multi_node.yaml}"
         --num_machines "$nnodes" --machine_rank "${NODE_RANK:?set NODE_RANK (this node, 0..NNODES-1)}"
         --main_process_ip "$addr" --main_process_port "$port" --num_processes "$((nnodes * num_gpus))"
         -m deepcritic.cli "$recipe" "$@") ;;
  *)
    echo "LAUNCHER=${LAUNCHER}: use torchrun or accelerate" >&2; exit 2 ;;
esac
launch_run "${cmd[@]}"
