"""Processes: the world size a launcher set, a process group for DeepSpeed in a single process, and one run
directory for every rank."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def world_size() -> int:
    """Number of training processes, from the launcher's environment (1 when run directly)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True on global rank 0 (or when not launched as several processes)."""
    return int(os.environ.get("RANK", "0")) == 0


def ensure_process_group_env() -> None:
    """Let DeepSpeed run in a single process started without a launcher (``deepcritic sft deepspeed=zero3``).

    DeepSpeed always initialises torch.distributed; launchers export RANK / WORLD_SIZE / MASTER_ADDR,
    and without them it would look for MPI. Here they are set for a world of one on a free local port.
    """
    if "RANK" in os.environ or "OMPI_COMM_WORLD_RANK" in os.environ:
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    os.environ.update(
        {
            "RANK": "0",
            "LOCAL_RANK": "0",
            "WORLD_SIZE": "1",
            "LOCAL_WORLD_SIZE": "1",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
    )


def same_dir_on_all_ranks(path: Path) -> Path:
    """Rank 0's output directory, on every process.

    Under a launcher each process composes its own Hydra run directory from the clock, and two ranks
    may land on different seconds; checkpoints (ZeRO shards included) must all go to rank 0's.
    Call after the trainer arguments are built (they start the process group).
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        shared = [str(path)]
        dist.broadcast_object_list(shared, src=0)
        return Path(shared[0])
    return path
