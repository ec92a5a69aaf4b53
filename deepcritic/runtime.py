"""Where a run writes: Hydra's run directory when Hydra drives the recipe, else the working directory."""

from __future__ import annotations

from pathlib import Path


def run_dir() -> Path:
    """The current run's output directory (created), e.g. runs/convert/2026-01-01_12-00-00/."""
    try:
        from hydra.core.hydra_config import HydraConfig

        path = Path(HydraConfig.get().runtime.output_dir)
    except (ImportError, ValueError):  # ValueError: Hydra not initialised (recipe called from Python)
        path = Path.cwd()
    path.mkdir(parents=True, exist_ok=True)
    return path
