"""Composing the recipe configs the way the CLI does (Hydra compose API + the structured-config schemas).

:func:`conf_dir` is the ONE place that says where the config directory is; everything in the tests that
reads conf/ (composition, the experiment files, the YAML scans) goes through it. :func:`compose_config` is
the only place that registers the schemas and initialises Hydra.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# (recipe, overrides) -> the composed DictConfig. Composition takes ~0.3 s and its inputs (conf/, the schemas)
# do not change during a session; interpolations such as ${oc.env:...} stay unresolved in it, so each copy
# handed out resolves them against the environment of the moment.
_COMPOSED: dict[tuple[str, tuple[str, ...]], Any] = {}


def conf_dir() -> Path:
    """The directory of the recipe configs, as the CLI finds it (the installed ``deepcritic.conf`` package)."""
    from deepcritic.cli import conf_dir as installed

    return installed()


def compose_config(recipe: str, overrides: Iterable[str] = (), conf: Path | None = None):
    """``<conf>/<recipe>.yaml`` (default: :func:`conf_dir`) with ``overrides``, composed and type-checked against
    its schema: a DictConfig of the caller's own (a copy; each (recipe, overrides) of the real conf/ is composed
    once per process; another ``conf``, e.g. an edited copy, is composed every time)."""
    from hydra import compose, initialize_config_dir

    from deepcritic.config import register_configs

    key = (recipe, tuple(overrides))
    if conf is not None or key not in _COMPOSED:
        register_configs()
        with initialize_config_dir(config_dir=str(conf or conf_dir()), version_base="1.3"):
            composed = compose(config_name=recipe, overrides=list(key[1]))
        if conf is not None:
            return composed
        _COMPOSED[key] = composed
    return copy.deepcopy(_COMPOSED[key])


def compose(recipe: str, overrides: Iterable[str] = ()) -> Any:
    """The composed config of ``recipe`` as its validated dataclass (``OmegaConf.to_object``), as the CLI runs it."""
    from omegaconf import OmegaConf

    return OmegaConf.to_object(compose_config(recipe, overrides))
