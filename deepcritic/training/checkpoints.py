"""Checkpoints: which one a run resumes from (``train.resume``), and whether one was written completely."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from deepcritic.errors import DeepcriticError

log = logging.getLogger(__name__)


def resolve_resume(resume: str, output_dir: str | Path) -> str | None:
    """``train.resume`` -> checkpoint directory to resume from, or None to start fresh.

    ``auto``: the newest ``checkpoint-<step>`` in ``output_dir`` if there is one; ``never``: None;
    anything else: that directory, which must exist.
    """
    if resume == "never":
        return None
    if resume == "auto":
        newest = newest_checkpoint(output_dir)
        return str(newest) if newest else None
    path = Path(resume)
    if not path.is_dir():
        raise DeepcriticError(f"train.resume = {resume!r}: no such checkpoint directory (use auto, never or a path)")
    return str(path)


def newest_checkpoint(output_dir: str | Path) -> Path | None:
    """The complete ``checkpoint-<step>`` directory with the highest step in ``output_dir``, or None.

    A checkpoint is complete once its ``trainer_state.json`` (which the trainer writes last) parses; one
    without it was cut off by a crash while being saved and is skipped with a warning.
    """
    root = Path(output_dir)
    if not root.is_dir():
        return None
    steps = [
        (int(p.name.split("-", 1)[1]), p)
        for p in root.glob("checkpoint-*")
        if p.is_dir() and p.name.split("-", 1)[1].isdigit()
    ]
    for _, path in sorted(steps, reverse=True):
        if checkpoint_complete(path):
            return path
        log.warning(
            "skipping %s: incomplete (no readable trainer_state.json, or a safetensors file cut short: the run "
            "stopped while saving it, or the disk filled up)",
            path,
        )
    return None


def checkpoint_complete(path: Path) -> bool:
    """Whether ``path`` holds a finished trainer checkpoint: its trainer_state.json (written last) parses and every
    safetensors file in it is whole (a file the filesystem cut short, e.g. on a full disk, is not)."""
    try:
        json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return all(safetensors_whole(f) for f in path.glob("*.safetensors"))


def safetensors_whole(path: Path) -> bool:
    """Whether a safetensors file is as long as its header says: 8 bytes of header length, the JSON header, then
    the tensors' bytes up to the largest ``data_offsets`` end. Reads the header only."""
    try:
        with path.open("rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(size)) if 0 < size < 100_000_000 else None
    except (OSError, ValueError):
        return False
    if not isinstance(header, dict):
        return False
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__" and isinstance(t, dict)]
    try:
        return path.stat().st_size == 8 + size + max(ends, default=0)
    except (OSError, TypeError, IndexError, KeyError):
        return False
