"""Fault injection for the reliability tests (see sitecustomize.py here)."""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fault_env(**faults: str) -> dict[str, str]:
    """Environment for a subprocess with the given ``DC_FAULT_*`` faults: this directory first on PYTHONPATH."""
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, **{f"DC_FAULT_{k.upper()}": v for k, v in faults.items()}}
