"""docs/reliability.md names, for every guarantee, the test that shows it: each named test must exist."""

from __future__ import annotations

import ast
import re

from tests.helpers.paths import REPO

DOC = REPO / "docs" / "reliability.md"


def _tests_named() -> list[tuple[str, str]]:
    """(file, test name) for every `tests/...py::name` and every `::name` following one in the same cell."""
    found = []
    for cell in DOC.read_text(encoding="utf-8").split("|"):
        current = None
        for path, name in re.findall(r"`(tests/[\w/]+\.py)?::(\w+)", cell):
            current = path or current
            assert current, f"'::{name}' without a file before it in: {cell.strip()}"
            found.append((current, name))
    return found


def test_every_test_named_in_reliability_md_exists():
    named = _tests_named()
    assert len(named) >= 30
    missing = []
    for path, name in named:
        tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
        if name not in {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}:
            missing.append(f"{path}::{name}")
    assert missing == []
