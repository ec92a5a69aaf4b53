"""Where things are: the repository, the reference data beside it, the bad-input corpus, the venv's scripts.

The one place for these constants; tests that need the repository root as a fixture use ``repo_root``.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
SHARED_DATA = REPO.parent / "shared" / "data"  # ../shared/data: real public records (never copied into the repo)
BAD_DATA = TESTS / "data" / "bad"  # the bad-input corpus (see its README.md)
LAUNCH = REPO / "launch"

_BIN = Path(sys.executable).parent


def venv_script(name: str) -> Path:
    """A console script installed beside the running Python (the project's venv): deepcritic, accelerate, ..."""
    return _BIN / name


DEEPCRITIC = venv_script("deepcritic")
ACCELERATE = venv_script("accelerate")
