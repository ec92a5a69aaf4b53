"""CLI dispatch that needs no Hydra run: argument handling and help."""

from __future__ import annotations

import os
import subprocess

import pytest

from deepcritic.cli import RECIPES, _help_text, strip_local_rank
from tests.helpers.cli import RECIPE_NAMES, help_recipes
from tests.helpers.configs import conf_dir
from tests.helpers.env import clean_env
from tests.helpers.paths import DEEPCRITIC

LOCAL_RANK = [
    # deepspeed launcher form
    (["convert", "--local_rank=3", "a=1"], ["convert", "a=1"], "3"),
    # space-separated form
    (["convert", "--local_rank", "5"], ["convert"], "5"),
    # dash spelling used by torch.distributed.launch
    (["--local-rank=1", "convert"], ["convert"], "1"),
    # untouched when absent
    (["convert", "data.limit=2"], ["convert", "data.limit=2"], None),
]


@pytest.mark.parametrize("argv, rest, rank", LOCAL_RANK)
def test_strip_local_rank(argv, rest, rank, monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "unset")  # records the original state, so teardown restores it
    monkeypatch.delenv("LOCAL_RANK")
    assert strip_local_rank(argv) == rest
    assert os.environ.get("LOCAL_RANK") == rank


def test_help_lists_every_recipe_with_its_summary():
    # RECIPE_NAMES is written out by hand: the help text, generated from RECIPES, is checked against it
    text = _help_text()
    assert help_recipes(text) == RECIPE_NAMES
    assert list(RECIPES) == RECIPE_NAMES and [r.name for r in RECIPES.values()] == RECIPE_NAMES
    width = max(len(name) for name in RECIPE_NAMES)  # names padded to the longest, "verify-vote"
    for recipe in RECIPES.values():
        assert recipe.summary and f"  {recipe.name:<{width}}  {recipe.summary}" in text.splitlines()
    assert sorted(p.stem for p in conf_dir().glob("*.yaml")) == sorted(RECIPE_NAMES)  # each reads conf/<name>.yaml


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["help"], []])
def test_the_console_script_prints_the_help(args):
    proc = subprocess.run([str(DEEPCRITIC), *args], env=clean_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("usage: deepcritic <recipe> [hydra overrides...]\n")
    assert help_recipes(proc.stdout) == RECIPE_NAMES
