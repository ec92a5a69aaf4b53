"""The code keeps the shape docs/architecture.md describes: small modules and functions, one copy of the
template and training code, and imports that only run down the layers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import tomllib

from tests.helpers.paths import REPO

SOURCES = sorted(p for d in ("deepcritic", "benchmarks", "tests") for p in (REPO / d).rglob("*.py"))
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 500, 60


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_no_module_over_500_lines():
    long = {_rel(p): n for p in SOURCES if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert long == {}, f"split these modules (at most {MAX_MODULE_LINES} lines)"


def test_no_function_over_60_lines():
    long = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{_rel(path)}:{node.lineno} {node.name}"] = lines
    assert long == {}, f"split these functions (at most {MAX_FUNCTION_LINES} lines)"


def _definitions(name: str) -> list[str]:
    return [
        f"{_rel(p)}:{node.lineno}"
        for p in (REPO / "deepcritic").rglob("*.py")
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name
    ]


@pytest.mark.parametrize(
    "name, where",
    [
        # one template loader and one placeholder filler for every prompt
        ("load_template", "deepcritic/critique/templates.py"),
        ("fill", "deepcritic/critique/templates.py"),
        # one model-card writer; one place that builds and saves the tiny model; one resumable store
        ("write_model_card", "deepcritic/training/card.py"),
        ("save_tiny_model", "deepcritic/modeling.py"),
        ("ResultStore", "deepcritic/store.py"),
        ("run_pending", "deepcritic/store.py"),
        ("write_json", "deepcritic/store.py"),
        # precision is resolved in one place, for training and generation alike
        ("resolve_precision", "deepcritic/modeling.py"),
        # one recipe registry
        ("register_configs", "deepcritic/config/registry.py"),
        # one JSON decoder with the readers' checks; one way bad items are skipped, counted and written
        ("Decoder", "deepcritic/data/jsontext.py"),
        ("Skips", "deepcritic/data/skips.py"),
    ],
)
def test_one_implementation(name, where):
    assert [d.split(":")[0] for d in _definitions(name)] == [where]


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m.startswith("deepcritic")}


# (package or module, what it must not import): layers only import downwards (docs/architecture.md).
LAYER_RULES = [
    ("deepcritic/config", r"deepcritic\.(?!config|errors)"),
    ("deepcritic/critique", r"deepcritic\.(?!critique|errors)"),
    ("deepcritic/data", r"deepcritic\.(recipes|eval|datagen|grpo|training|generation)"),
    # grpo.engine: the vLLM-CPU weight push, for the engine an sft run starts to evaluate with
    ("deepcritic/eval", r"deepcritic\.(recipes|datagen|grpo(?!\.engine)|training)"),
    ("deepcritic/datagen", r"deepcritic\.(recipes|eval(?!\.official)|grpo|training)"),  # eval.official: pinned files
    ("deepcritic/grpo", r"deepcritic\.(recipes|datagen|eval(?!\.metrics))"),  # eval.metrics: the critic F1
    ("deepcritic/training", r"deepcritic\.(recipes|eval|datagen|grpo)"),
    ("deepcritic/planning", r"deepcritic\.(?!planning|config|errors)"),  # pure: the memory arithmetic
    ("deepcritic/store.py", r"deepcritic\.(?!errors)"),
    ("deepcritic/answers.py", r"deepcritic\."),
    ("deepcritic/rewards.py", r"deepcritic\.(?!critique|errors)"),
    ("deepcritic/recipes/grpo.py", r"deepcritic\.(finetune|training\.sft)"),
]


@pytest.mark.parametrize("where, forbidden", LAYER_RULES)
def test_imports_run_down_the_layers(where, forbidden):
    target = REPO / where
    files = [target] if target.is_file() else sorted(target.rglob("*.py"))
    bad = {f"{_rel(p)} imports {m}" for p in files for m in _imports(p) if re.match(forbidden, m)}
    assert bad == set()


def test_packages_in_pyproject_are_the_source_tree():
    """pyproject lists the packages by hand (conf/ ships as deepcritic.conf): a new package must be listed."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "deepcritic").rglob("__init__.py")}
    assert listed == found | {"deepcritic.conf"}
