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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from deepcritic.errors import DeepcriticError

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


@dataclass(frozen=True)
class Recipe:
    """A recipe: its config name in conf/, its schema, the module whose ``main(cfg)`` runs it."""

    name: str
    summary: str
    schema: str  # name of the dataclass in deepcritic.config
    module: str


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe("demo", "the whole pipeline on a CPU in minutes: tiny model, SFT, eval, GRPO (vLLM), eval, before/after report",
               "DemoConfig", "deepcritic.recipes.demo"),
        Recipe("convert", "convert a data source (ProcessBench, MR-GSM8K, PRM800K, files, Hub) to data-contract JSONL",
               "ConvertConfig", "deepcritic.recipes.convert"),
        Recipe("sft", "SFT warm start: train a critic on (critic prompt -> deliberate critique) chats (TRL, DeepSpeed)",
               "SFTRecipeConfig", "deepcritic.recipes.sft"),
        Recipe("cft", "Critique Fine-Tuning on WebInstruct-CFT-style data (question + solution -> critique)",
               "CFTRecipeConfig", "deepcritic.recipes.cft"),
        Recipe("grpo", "GRPO: reinforce a critic with the 0/1 judgment reward (TRL, vLLM colocate/server or generate, DeepSpeed)",
               "GRPORecipeConfig", "deepcritic.recipes.grpo"),
        Recipe("filter", "keep records whose pass rate under the current critic lies in [min_pass, max_pass] (GRPO signal)",
               "FilterConfig", "deepcritic.recipes.filter"),
        Recipe("eval", "evaluate a critic (vLLM, HF or an OpenAI-compatible server) on ProcessBench, MR-GSM8K, PRM800K, files: F1, Maj@k",
               "EvalConfig", "deepcritic.recipes.evaluate"),
        Recipe("report", "put several eval runs side by side: deepcritic report runs=[runs/eval/a,runs/eval/b]",
               "ReportConfig", "deepcritic.recipes.report"),
        Recipe("solve", "answer accuracy of a solver (e.g. a CFT model) on MATH500 / GSM8K, greedy or Maj@k (math-verify)",
               "SolveConfig", "deepcritic.recipes.solve"),
        Recipe("refine", "critique-guided refinement: a generator solves, the critic critiques, the generator revises",
               "RefineConfig", "deepcritic.recipes.refine"),
        Recipe("verify-vote", "critic-verified majority voting: sample n solutions, drop those the critic rejects, vote",
               "RefineConfig", "deepcritic.recipes.verify_vote"),
        Recipe("synthesize", "seed critiques for SFT: a teacher critiques, re-examines and merges per step (PRM800K by default)",
               "SynthesizeConfig", "deepcritic.recipes.synthesize"),
        Recipe("label", "Monte-Carlo step labels for RL: sample solutions, roll out from every step prefix (vLLM prefix caching)",
               "LabelConfig", "deepcritic.recipes.label"),
        Recipe("cft-data", "CFT samples: a teacher critiques candidate solutions, ending 'Conclusion: right|wrong'",
               "CFTDataConfig", "deepcritic.recipes.cft_data"),
    ]
}


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


def print_error(message: str) -> None:
    """Print a user-facing error in red on stderr (plain text when stderr is not a terminal)."""
    try:
        from rich.console import Console
        from rich.markup import escape

        Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {escape(message)}", markup=True)
    except Exception:  # rich missing or markup clash: plain text still tells the user
        print(f"error: {message}", file=sys.stderr)


def run_config(recipe: Recipe, cfg: Any) -> Any:
    """Turn a composed DictConfig into the recipe's dataclass, validate it, then run the recipe."""
    from omegaconf import OmegaConf

    from deepcritic import config as schema

    obj = OmegaConf.to_object(cfg)
    if not isinstance(obj, getattr(schema, recipe.schema)):
        raise DeepcriticError(f"conf/{recipe.name}.yaml must start its defaults list with {recipe.schema}")
    schema.ensure_valid(obj)
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
    if not CONF_DIR.is_dir():
        print_error(f"config directory {CONF_DIR} not found: install deepcritic from a checkout (pip install -e .)")
        sys.exit(2)
    import hydra

    from deepcritic.config_store import register_configs

    register_configs()
    recipe = RECIPES[name]
    sys.argv = [f"deepcritic-{name}", *rest]
    hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=name)(_task(recipe))()


if __name__ == "__main__":
    main()
