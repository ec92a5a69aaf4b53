"""Hydra's configs, installed as the package ``deepcritic.conf`` (see pyproject.toml) and found as
``pkg://deepcritic.conf``: one primary config per recipe, and the config groups in the folders."""
