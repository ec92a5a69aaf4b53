"""``deepcritic <recipe> [hydra overrides]``: one entry point over Hydra for every recipe.

The first argument names the recipe; the rest goes to Hydra untouched, so Hydra's own flags work
(``--cfg job``, ``-m`` multirun, ``hydra.run.dir=...``). The DeepSpeed launcher appends
``--local_rank=N``; it is moved into the ``LOCAL_RANK`` environment variable before Hydra parses.
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deepcritic.config.registry import RECIPES, Recipe
from deepcritic.errors import DeepcriticError

#: Hydra's search path for the configs: conf/ installed as the package deepcritic.conf (pyproject.toml).
CONF_PATH = "pkg://deepcritic.conf"


def conf_dir() -> Path:
    """Where the configs are on disk (the installed ``deepcritic.conf`` package: conf/ in a checkout)."""
    from importlib import resources

    return Path(str(resources.files("deepcritic.conf")))


def _help_text() -> str:
    width = max(len(n) for n in RECIPES)
    lines = ["usage: deepcritic <recipe> [hydra overrides...]", "", "recipes:"]
    lines += [f"  {r.name:<{width}}  {r.summary}" for r in RECIPES.values()]
    lines += [
        "",
        "Each recipe reads conf/<recipe>.yaml. Examples:",
        "  deepcritic convert data=processbench data.path=../shared/data/processbench/gsm8k.json output=gsm8k.jsonl",
        "  deepcritic <recipe> --cfg job          # print the composed config",
        "  deepcritic <recipe> --help             # the recipe's config groups and options",
        "  deepcritic <recipe> -m key=a,b         # multirun sweep (add hydra/launcher=slurm on SLURM)",
    ]
    return "\n".join(lines)


_LOCAL_RANK = re.compile(r"^--local[-_]rank(?:=(\d+))?$")


def strip_local_rank(argv: list[str]) -> list[str]:
    """Remove ``--local_rank=N`` / ``--local_rank N`` (added by the deepspeed launcher) and export LOCAL_RANK."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        m = _LOCAL_RANK.match(argv[i])
        if m:
            value = m.group(1)
            if value is None and i + 1 < len(argv):
                value, i = argv[i + 1], i + 1
            if value is not None:
                os.environ.setdefault("LOCAL_RANK", value)
        else:
            out.append(argv[i])
        i += 1
    return out


_PROTOCOL_OVERRIDE = re.compile(r"^(?:\+{1,2})?protocol=([^\s,]+)$")


def protocol_problem(recipe: Recipe, overrides: list[str]) -> str | None:
    """Why a ``protocol=<option>`` override does not fit ``recipe`` (the group conf/protocol/ holds the critic
    protocols of eval and score and the solver protocols of solve), or None when it fits or is no known option
    (Hydra then says what it finds)."""
    if not recipe.protocols:
        return None
    for override in overrides:
        match = _PROTOCOL_OVERRIDE.match(override)
        owners = [r.name for r in RECIPES.values() if match and match.group(1) in r.protocols]
        if match and owners and recipe.name not in owners:
            return (
                f"protocol={match.group(1)} is a protocol of deepcritic {' and '.join(owners)}; "
                f"deepcritic {recipe.name} reads "
                f"protocol={' | '.join(recipe.protocols)} (conf/protocol/)"
                + (", or no protocol override for deepcritic's own" if recipe.name == "solve" else "")
            )
    return None


def unwritable_run_dir(overrides: list[str], recipe: str) -> str | None:
    """Why the run directory (``hydra.run.dir=``, ``hydra.sweep.dir=`` with ``-m``, else ``runs/<recipe>``) cannot
    be written, or None. Checked before Hydra creates it, so that the answer is one line, not Hydra's traceback."""
    key = "hydra.sweep.dir=" if {"-m", "--multirun"} & set(overrides) else "hydra.run.dir="
    given = [o.split("=", 1)[1] for o in overrides if o.startswith(key)]
    if any("${" in g for g in given) or "--cfg" in overrides or "--help" in overrides:
        return None  # an interpolation Hydra resolves, or nothing will be written
    path = Path(given[-1] if given else Path("runs") / recipe).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".deepcritic-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return (
            f"cannot write the run directory {path}: {exc.strerror or exc}; choose another with "
            f"{key}<dir> (or fix its permissions, free space)"
        )
    return None


def print_error(message: str) -> None:
    """Print a user-facing error in red on stderr (plain text when stderr is not a terminal)."""
    try:
        from rich.console import Console
        from rich.markup import escape

        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"[bold red]error:[/] {escape(message)}", markup=True
        )
    except Exception:  # rich missing or markup clash: plain text still tells the user
        print(f"error: {message}", file=sys.stderr)


def run_config(recipe: Recipe, cfg: Any) -> Any:
    """Turn a composed DictConfig into the recipe's dataclass, validate it, then run the recipe."""
    from omegaconf import OmegaConf

    from deepcritic import timing
    from deepcritic.config import ensure_valid

    with timing.early_phase("config"):  # the dataclass and its validation
        obj = OmegaConf.to_object(cfg)
        if not isinstance(obj, recipe.schema):
            raise DeepcriticError(f"conf/{recipe.name}.yaml must start its defaults list with schema_{recipe.name}")
        ensure_valid(obj)
    with timing.early_phase("imports"):  # the recipe's libraries (torch, transformers, TRL, vLLM, ...)
        module = importlib.import_module(recipe.module)
    return module.main(obj)


def _task(recipe: Recipe) -> Callable[[Any], Any]:
    def task(cfg: Any) -> Any:
        try:
            return run_config(recipe, cfg)
        except DeepcriticError as exc:
            print_error(str(exc))
            sys.exit(exc.exit_code)

    return task


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    argv = strip_local_rank(list(sys.argv[1:] if argv is None else argv))
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_help_text())
        return
    name, rest = argv[0], argv[1:]
    if name not in RECIPES:
        close = difflib.get_close_matches(name, list(RECIPES), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        print_error(f"unknown recipe '{name}'.{hint} Recipes: {', '.join(RECIPES)} (deepcritic --help)")
        sys.exit(2)
    import hydra

    from deepcritic.config import register_configs

    register_configs()
    recipe = RECIPES[name]
    if name == "plan":  # `deepcritic plan grpo <grpo's overrides> cluster.*`: the rest is the planned recipe's
        from deepcritic.config.planning import plan_arguments

        rest = plan_arguments(rest)
    problem = protocol_problem(recipe, rest) or unwritable_run_dir(rest, name)
    if problem:
        print_error(problem)
        sys.exit(2)
    sys.argv = [f"deepcritic-{name}", *rest]
    hydra.main(version_base="1.3", config_path=CONF_PATH, config_name=name)(_task(recipe))()


if __name__ == "__main__":
    main()
