"""Every default lives in exactly one place: the field's dataclass; YAML files hold only what they change.

- No dataclass presets: a section's default is always its own class's defaults (no ``default_factory`` that
  builds a section with other values), so a recipe's own values live in its YAML file.
- No YAML file restates a value it would get anyway: for a recipe's primary config or an experiment, the
  value the config would have without the file's body; for a group option, the dataclass default.
- Every group option and experiment is used: selected by a defaults list in conf/ or shown in the README.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from omegaconf import OmegaConf

from deepcritic import config as C
from deepcritic.config import RECIPES
from tests.helpers.configs import compose_config, conf_dir
from tests.helpers.paths import REPO

CONF = conf_dir()

# The dataclass each config group's options are merged onto (entries: a dict of named sections of that type).
GROUPS: dict[str, tuple[type, bool]] = {
    "data": (C.DataConfig, False),
    "model": (C.ModelConfig, False),
    "rollout": (C.GRPORolloutConfig, False),
    "reward": (C.RewardConfig, False),
    "deepspeed": (C.DeepSpeedConfig, False),
    "logger": (C.LoggerConfig, False),
    "chat": (C.ChatDataConfig, False),
    "benchmarks": (C.DataConfig, True),
    "problems": (C.ProblemsConfig, True),
    # a _global_ group: a critic protocol's file sets protocol.* and the official sampling.* (eval, score); a solver
    # protocol's (RECIPES["solve"].protocols) protocol.* and generator.sampling.* (solve)
    "protocol": (C.EvalConfig, False),
}
NOT_GROUPS = {"experiment", "hydra"}
# The fields that say which option a group file is: each file states them, even when one equals the dataclass
# default (data=synthetic must mean source=synthetic whatever the default is).
SELECTORS: dict[str, tuple[str, ...]] = {
    "data": ("source",),
    "chat": ("source",),
    "model": ("name_or_path",),
    "rollout": ("backend", "vllm_mode"),
    "deepspeed": ("stage",),
    # a tracker's own switch: logger=[wandb_offline,tensorboard] merges the options, so each sets only its own
    "logger": ("backend", "mode", "tensorboard", "mlflow", "trackio"),
    "benchmarks": ("source",),
    "problems": ("source",),
    "protocol": ("protocol.name",),
}


def _schema_classes() -> list[type]:
    return [obj for obj in vars(C).values() if isinstance(obj, type) and dataclasses.is_dataclass(obj)]


def leaves(tree: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a.b": value}`` for every non-mapping value of a nested mapping (lists are leaves)."""
    if not isinstance(tree, dict) or not tree:
        return {prefix: tree} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _at(tree: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return "<absent>"
        tree = tree[part]
    return tree


def _body(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text()) or {}
    return {k: v for k, v in data.items() if k not in ("defaults", "hydra")}


def _compose_raw(conf: Path, recipe: str, overrides: list[str]) -> dict[str, Any]:
    return OmegaConf.to_container(compose_config(recipe, overrides, conf=conf), resolve=False)


def _without_body(tmp: Path, relative: str) -> Path:
    """A copy of conf/ in which ``relative`` keeps only its defaults list (and hydra section)."""
    copy = tmp / "conf"
    if not copy.exists():
        shutil.copytree(CONF, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    data = yaml.safe_load((CONF / relative).read_text()) or {}
    kept = {k: v for k, v in data.items() if k in ("defaults", "hydra")}
    header = "# @package _global_\n" if (CONF / relative).read_text().startswith("# @package _global_") else ""
    (copy / relative).write_text(header + yaml.safe_dump(kept))
    return copy


def experiment_recipes(name: str) -> list[str]:
    """The recipes an experiment is for, from its usage comments (``deepcritic <recipe> experiment=<name>``)."""
    text = (CONF / "experiment" / f"{name}.yaml").read_text()
    found = re.findall(r"(?:deepcritic|launch/\S+\.sh)\s+([a-z][\w-]*)\s+experiment=" + re.escape(name) + r"\b", text)
    assert found, f"conf/experiment/{name}.yaml: add a usage comment '# deepcritic <recipe> experiment={name}'"
    return sorted(set(found))


@pytest.mark.parametrize("cls", _schema_classes(), ids=lambda c: c.__name__)
def test_no_dataclass_presets(cls):
    for f in dataclasses.fields(cls):
        if f.default_factory is dataclasses.MISSING:
            continue
        value = f.default_factory()
        if dataclasses.is_dataclass(value):
            assert value == type(value)(), f"{cls.__name__}.{f.name}: a preset; put its values in a YAML file"


PRIMARY = sorted(RECIPES)


@pytest.mark.parametrize("recipe", PRIMARY)
def test_primary_config_restates_no_default(recipe, tmp_path):
    body = leaves(_body(CONF / f"{recipe}.yaml"))
    base = _compose_raw(_without_body(tmp_path, f"{recipe}.yaml"), recipe, [])
    restated = {k: v for k, v in body.items() if _at(base, k) == v}
    assert restated == {}, f"conf/{recipe}.yaml restates these defaults: remove them"


EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_restates_nothing(name, tmp_path):
    body = leaves(_body(CONF / "experiment" / f"{name}.yaml"))
    conf = _without_body(tmp_path, f"experiment/{name}.yaml")
    bases = [_compose_raw(conf, recipe, [f"experiment={name}"]) for recipe in experiment_recipes(name)]
    restated = {k: v for k, v in body.items() if all(_at(base, k) == v for base in bases)}
    assert restated == {}, f"conf/experiment/{name}.yaml sets what its recipes already have: remove them"


GROUP_FILES = sorted(str(p.relative_to(CONF)) for p in CONF.glob("*/*.yaml") if p.parent.name not in NOT_GROUPS)


@pytest.mark.parametrize("relative", GROUP_FILES)
def test_group_option_restates_no_dataclass_default(relative):
    group = relative.split("/")[0]
    assert group in GROUPS, f"conf/{group}/: name its dataclass in GROUPS"
    cls, entries = GROUPS[group]
    if group == "protocol" and Path(relative).stem in RECIPES["solve"].protocols:
        cls = C.SolveConfig
    default = dataclasses.asdict(cls())
    body = _body(CONF / relative)
    sections = body.values() if entries else [body]
    selectors = SELECTORS.get(group, ())
    restated = {
        k: v for section in sections for k, v in leaves(section).items() if _at(default, k) == v and k not in selectors
    }
    assert restated == {}, f"conf/{relative} restates {cls.__name__} defaults: remove them"
    missing = [selectors[:1] for section in sections if selectors and not set(selectors) & set(leaves(section))]
    assert missing == [], f"conf/{relative} must say which option it is: set one of {selectors}"


def _selected_options() -> set[str]:
    """``group/option`` of every option that a defaults list in conf/ selects."""
    used = set()
    for path in CONF.rglob("*.yaml"):
        for entry in (yaml.safe_load(path.read_text()) or {}).get("defaults", []) or []:
            if not isinstance(entry, dict):
                continue
            for key, value in entry.items():
                group = key.replace("override ", "").lstrip("/").split("@")[0]
                for option in value if isinstance(value, list) else [value]:
                    used.add(f"{group}/{option}")
    return used


def _listed_in_readme() -> set[str]:
    """``group/option`` of every option the README's conf/ listing names (a ``  group/  options`` line, and the
    deeper-indented lines after it)."""
    text = (REPO / "README.md").read_text()
    block = text[text.index("```\nconf/") :]
    listed, group = set(), None
    for line in block[4 : block.index("```", 4)].splitlines()[1:]:
        match = re.match(r"^  ([\w/]+)/\s+(.*)$", line)
        if match:
            group, rest = match.group(1), match.group(2)
        elif line.startswith("    ") and group:
            rest = line
        else:
            group, rest = None, ""
        listed |= {f"{group}/{word.strip(',()')}" for word in rest.split()} if group else set()
    return listed


@pytest.mark.parametrize("relative", GROUP_FILES + [f"experiment/{e}.yaml" for e in EXPERIMENTS])
def test_every_option_is_selected_or_documented(relative):
    option = relative[: -len(".yaml")]
    assert option in _selected_options() | _listed_in_readme(), (
        f"conf/{relative} is never selected by a config nor listed in README.md: use it, document it or remove it"
    )
