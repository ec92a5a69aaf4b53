"""Publishing to the Hugging Face Hub (section ``hub``): where a training run pushes its model (``sft``, ``cft``,
``grpo``), where a data recipe pushes its data set (``convert``, ``synthesize``, ``label``, ``cft-data``), what the
cards' metadata says, and ``deepcritic push`` (a finished run's models, or an eval run's figures, pushed later).

Nothing is pushed unless ``hub.push=true`` (or ``deepcritic push`` runs). The token is never in a config:
``token_env`` names the environment variable that holds it, as ``rollout.openai.api_key_env`` does for API keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from deepcritic.config.base import cross_check, key_of, option
from deepcritic.config.generation import looks_like_env_name
from deepcritic.errors import Problem

# transformers' hub_strategy values, with the same meaning (deepcritic/hub.py)
HUB_STRATEGIES = ("end", "every_save", "checkpoint", "all_checkpoints")
# a Hub repo id: name, or owner/name (letters, digits, -, _, .; at most 96 characters each)
REPO_ID = re.compile(r"(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}")


def is_repo_id(text: str) -> bool:
    """Whether ``text`` can name a Hub repo (``name`` or ``owner/name``; no ``--`` or ``..``, no ``.git`` end)."""
    return bool(REPO_ID.fullmatch(text)) and "--" not in text and ".." not in text and not text.endswith((".git", "."))


@dataclass
class HubTargetConfig:
    """A Hub repo's settings every push shares: visibility, branch and where the token is read from."""

    private: Optional[bool] = option(
        None,
        "a new repo is private (true) or public (false); null: the namespace's default (public unless the "
        "organization says otherwise), as transformers' hub_private_repo",
    )
    revision: Optional[str] = option(None, "the branch to commit to (made from main when missing); null: main")
    token_env: str = option(
        "HF_TOKEN",
        "the NAME of the environment variable holding a token with write access (never the token itself); when it "
        "is unset, the token `hf auth login` saved",
    )


@dataclass
class HubPushConfig(HubTargetConfig):
    """``deepcritic push``: the model repo a finished run goes to."""

    model_id: Optional[str] = option(None, "the model repo, owner/name (or name: your own namespace)")


@dataclass
class HubModelConfig(HubPushConfig):
    """``sft`` / ``cft`` / ``grpo``: push the final model (and ``best/``, when the evaluation during training keeps
    one) after the local save; the card's metadata (written into every local card too)."""

    push: bool = option(False, "push to hub.model_id after training (final/ at the root, best/ under best/)")
    strategy: str = option(
        "end",
        "transformers' hub_strategy: end (the final push only) | every_save (also each checkpoint's model at the "
        "root while training) | checkpoint (and the newest checkpoint whole under last-checkpoint/) | "
        "all_checkpoints (every checkpoint whole under checkpoint-N/)",
        choices=HUB_STRATEGIES,
    )
    license: Optional[str] = option(None, "card metadata: a Hub license id (apache-2.0, mit, other, ...)")
    tags: list[str] = option([], "card metadata: tags besides deepcritic's own (deepcritic, the recipe, trl)")
    base_model: Optional[str] = option(
        None,
        "card metadata: the Hub id of the model training started from, when model.name_or_path is a local "
        "directory (e.g. the SFT model you pushed); a Hub name in model.name_or_path is used as it is",
    )
    datasets: list[str] = option(
        [], "card metadata: Hub ids of the training data, besides those the config reads from the Hub"
    )


@dataclass
class HubDatasetConfig(HubTargetConfig):
    """``convert`` / ``synthesize`` / ``label`` / ``cft-data``: push the output as a Hub data set (parquet and a
    dataset card: source, counts, label balance, settings) after it is written locally."""

    push: bool = option(False, "push the output to hub.dataset_id (data/train-00000-of-00001.parquet, README.md)")
    dataset_id: Optional[str] = option(None, "the dataset repo, owner/name (or name: your own namespace)")
    license: Optional[str] = option(None, "card metadata: a Hub license id (apache-2.0, mit, other, ...)")
    tags: list[str] = option([], "card metadata: tags besides deepcritic's own (deepcritic, the recipe)")


def is_token_env_name(name: str) -> bool:
    """An environment variable name that does not look like a pasted token (Hub tokens start with ``hf_``; names
    of variables that hold one are conventionally upper case: HF_TOKEN)."""
    return looks_like_env_name(name) and not name.startswith("hf_")


def _target_problems(hub: HubTargetConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if not is_token_env_name(hub.token_env):
        out.append(
            Problem(
                key_of(key, "token_env"),
                "<hidden>",
                "the NAME of an environment variable holding the token (e.g. HF_TOKEN), never the token itself",
            )
        )
    if hub.revision is not None and (not hub.revision.strip() or any(c in hub.revision for c in " ~^:?*[\\")):
        out.append(Problem(key_of(key, "revision"), hub.revision, "a branch name, e.g. dev (or null for main)"))
    return out


def _repo_problems(repo_id: Optional[str], needed: bool, key: str, example: str) -> list[Problem]:
    if repo_id is None:
        return [Problem(key, None, f"name the repo to push to, e.g. {key}={example}")] if needed else []
    if not is_repo_id(repo_id):
        return [Problem(key, repo_id, f"a Hub repo id: owner/name or name, e.g. {example}")]
    return []


@cross_check(HubPushConfig)
def _model_repo(hub: HubPushConfig, key: str) -> list[Problem]:
    needed = getattr(hub, "push", True)  # deepcritic push always pushes; a training run when hub.push=true
    return _target_problems(hub, key) + _repo_problems(
        hub.model_id, needed, key_of(key, "model_id"), "my-name/deepcritic-7b"
    )


@cross_check(HubModelConfig)
def _card_ids(hub: HubModelConfig, key: str) -> list[Problem]:
    out: list[Problem] = []
    if hub.base_model is not None and not is_repo_id(hub.base_model):
        out.append(Problem(key_of(key, "base_model"), hub.base_model, "a Hub model id, e.g. Qwen/Qwen2.5-7B-Instruct"))
    bad = [d for d in hub.datasets if not is_repo_id(d)]
    if bad:
        out.append(Problem(key_of(key, "datasets"), bad, "Hub dataset ids, e.g. [Qwen/ProcessBench]"))
    return out


@cross_check(HubDatasetConfig)
def _dataset_repo(hub: HubDatasetConfig, key: str) -> list[Problem]:
    return _target_problems(hub, key) + _repo_problems(
        hub.dataset_id, hub.push, key_of(key, "dataset_id"), "my-name/prm800k-critiques"
    )


@dataclass
class PushConfig:
    """``deepcritic push run=<run dir> hub.model_id=<id>``: push what a finished run made.

    A training run (``sft``, ``cft``, ``grpo``): its ``final/`` at the repo's root and ``best/`` under ``best/``,
    with the cards it wrote, as ``hub.push=true`` would have at the end of training (use it when that push failed
    or was not asked for). An ``eval`` run: its figures (benchmark, protocol, metric) added to the ``model-index``
    of the repo's model card, the rest of the card kept.
    """

    run: Optional[str] = option(None, "the run directory (runs/<recipe>/<time>)")
    hub: HubPushConfig = option(HubPushConfig, "the model repo")


@cross_check(PushConfig)
def _push_run(cfg: PushConfig, key: str) -> list[Problem]:
    if not cfg.run:
        return [Problem(key_of(key, "run"), cfg.run, "name the run directory, e.g. run=runs/sft/2026-01-01_12-00-00")]
    return []
