"""CLI dispatch that needs no Hydra run: argument handling and help."""

from __future__ import annotations

import os

import pytest

from deepcritic.cli import RECIPES, _help_text, strip_local_rank

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
    text = _help_text()
    for recipe in RECIPES.values():
        assert f"  {recipe.name}" in text and recipe.summary in text
