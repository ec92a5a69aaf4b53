"""Pushing to the Hugging Face Hub with huggingface_hub's ``HfApi``: commits of files saved locally (a training
run's ``final/`` and ``best/`` and its checkpoints: ``deepcritic.training.publish``), a data set with its card, an
eval run's figures into a model card.

Every push is one commit (``HfApi.create_commit``) of files already saved locally, made after the local save: a
push that fails loses nothing but the push. Before the commit huggingface_hub asks the Hub about every file
(preupload): files the branch already holds unchanged are left out of the commit, and large (LFS / Xet) files whose
content the Hub's storage already holds, committed before or uploaded by a push that was interrupted before its
commit, are not sent again. So a rerun after a failed or interrupted push sends only what is missing and completes
it (the rules ``upload_folder`` follows: it is ``create_commit`` of a folder's files).

The token is read from the environment variable ``hub.token_env`` names (else the one huggingface_hub finds:
``HF_TOKEN`` or ``hf auth login``'s), handed to ``HfApi`` calls and nowhere else: never into a config, a log line,
a card, metrics.json or a tracker. Every failure (no token, no network, ``HF_HUB_OFFLINE``, a rejected token, an
unknown repo or branch) is a :class:`HubError`: one line naming the config key and the fix, exit status 2.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from deepcritic.cards import DatasetInfo, EvalFigure, dataset_card, eval_results
from deepcritic.config import HubDatasetConfig, HubPushConfig
from deepcritic.errors import DeepcriticError
from deepcritic.store import atomic_write_parquet, rows_table, write_json

log = logging.getLogger(__name__)
logging.getLogger("httpx2").setLevel(logging.WARNING)  # huggingface_hub's client: a line per request otherwise

# what a checkpoint holds besides the model (optimizer, scheduler, RNG, DeepSpeed shards): not pushed as the model
CHECKPOINT_STATE = (
    "optimizer",
    "scheduler",
    "scaler",
    "rng_state",
    "trainer_state",
    "training_args",
    "global_step",
    "latest",
    "zero_to_fp32",
)


class HubError(DeepcriticError):
    """A push that cannot be made: the message names the config key and the fix."""


@dataclass(frozen=True)
class Target:
    """A Hub repo to commit to: ``key`` is the config key that names it (for messages); the token is not shown."""

    repo_id: str
    repo_type: str
    key: str
    private: bool | None
    revision: str | None
    token_env: str
    token: str = field(repr=False)

    @property
    def where(self) -> str:
        return f"{self.key}={self.repo_id}"


def endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def read_token(token_env: str) -> str:
    """The token in ``$token_env``, else huggingface_hub's (HF_TOKEN, ``hf auth login``); raises HubError if none."""
    value = os.environ.get(token_env, "").strip()
    if value:
        return value
    try:
        from huggingface_hub import get_token

        saved = get_token()
    except Exception:  # an OIDC exchange that failed: no token either
        saved = None
    if saved:
        return saved
    raise HubError(
        f"hub.token_env: ${token_env} is not set and `hf auth login` saved no token: export {token_env}=<a token "
        f"with write access from {endpoint()}/settings/tokens>, or set hub.token_env=<the variable that holds one>"
    )


def model_target(hub: HubPushConfig) -> Target:
    """The model repo of ``hub`` (``hub.model_id``) with its token (raises HubError without one)."""
    return Target(
        str(hub.model_id), "model", "hub.model_id", hub.private, hub.revision, hub.token_env, read_token(hub.token_env)
    )


def dataset_target(hub: HubDatasetConfig) -> Target:
    """The dataset repo of ``hub`` (``hub.dataset_id``) with its token (raises HubError without one)."""
    return Target(
        str(hub.dataset_id),
        "dataset",
        "hub.dataset_id",
        hub.private,
        hub.revision,
        hub.token_env,
        read_token(hub.token_env),
    )


def files_of(folder: Path, prefix: str = "", skip: Sequence[str] = ()) -> list[tuple[Path, str]]:
    """(local file, path in the repo) of every file under ``folder`` (sorted; hidden files and names starting with
    one of ``skip`` left out), under ``prefix`` in the repo."""
    out = []
    for path in sorted(Path(folder).rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts) or rel.parts[0].startswith(skip):
            continue
        out.append((path, f"{prefix}/{rel.as_posix()}" if prefix else rel.as_posix()))
    return out


def commit(target: Target, files: Sequence[tuple[Path, str]], message: str, delete: Sequence[str] = ()) -> str:
    """Create the repo (and branch) if needed and commit ``files`` (deleting the folders ``delete`` first); returns
    the commit's URL. Raises HubError (see :func:`failure`)."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    api = HfApi()
    try:
        repo = api.create_repo(
            target.repo_id, repo_type=target.repo_type, private=target.private, exist_ok=True, token=target.token
        )
        if target.revision:
            api.create_branch(
                repo.repo_id, branch=target.revision, repo_type=target.repo_type, exist_ok=True, token=target.token
            )
        operations: list[Any] = [CommitOperationDelete(path_in_repo=f"{d}/", is_folder=True) for d in delete]
        operations += [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path)) for path, name in files]
        info = api.create_commit(
            repo.repo_id,
            operations,
            commit_message=message,
            repo_type=target.repo_type,
            revision=target.revision,
            token=target.token,
        )
    except Exception as exc:
        raise failure(exc, target) from None
    return info.commit_url


def failure(exc: Exception, target: Target) -> HubError:
    """The one-line HubError for an exception of a push to ``target``."""
    from huggingface_hub.errors import (
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    reason = _first_line(exc)
    env = f"${target.token_env}"
    if isinstance(exc, OfflineModeIsEnabled):
        return HubError("hub: HF_HUB_OFFLINE is set, so nothing can be pushed: unset it (or set it to 0)")
    if isinstance(exc, RevisionNotFoundError):
        return HubError(f"hub.revision={target.revision}: the Hub has no such branch ({reason}): check its name")
    if isinstance(exc, RepositoryNotFoundError):
        return HubError(
            f"{target.where}: no such repo, and the token in {env} could not create it: check the owner (your user "
            "name or an organization you may write to)"
        )
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status == 401:
            return HubError(f"hub.token_env: the Hub rejected the token in {env} (401): use a valid token")
        if status == 403:
            return HubError(f"{target.where}: the token in {env} may not write there (403): use one with write access")
        return HubError(f"{target.where}: the Hub answered {status} ({reason}): try again later, or check the repo")
    if isinstance(exc, (OSError, ConnectionError)) or type(exc).__module__.startswith(("httpx", "httpcore")):
        return HubError(f"hub: cannot reach the Hub at {endpoint()} ({reason}): check the network (or HF_ENDPOINT)")
    return HubError(f"{target.where}: the push failed ({type(exc).__name__}: {reason})")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def check_dataset_push(hub: HubDatasetConfig) -> Target | None:
    """The dataset repo a data recipe pushes to, its token read now (before any work); None when hub.push is off."""
    return dataset_target(hub) if hub.push else None


def publish_rows(
    hub: HubDatasetConfig,
    rows: Sequence[dict[str, Any]],
    info: DatasetInfo,
    out_dir: Path,
    summary: dict[str, Any] | None = None,
) -> str | None:
    """A data recipe's last step: push its rows as a Hub data set when ``hub.push`` is on (the card's license and
    tags from ``hub``), and note the commit in ``summary`` (rewriting ``<out_dir>/summary.json``); returns the
    commit URL, or None."""
    target = check_dataset_push(hub)
    if target is None:
        return None
    url = push_dataset(target, rows, replace(info, license=hub.license, tags=list(hub.tags)), out_dir)
    if summary is not None:
        summary["hub_commit"] = url
        write_json(Path(out_dir) / "summary.json", summary)
    return url


def push_dataset(target: Target, rows: Sequence[dict[str, Any]], info: DatasetInfo, out_dir: Path) -> str:
    """Write ``rows`` as ``<out_dir>/hub_dataset/data/train-00000-of-00001.parquet`` with a dataset card (README.md,
    :func:`deepcritic.cards.dataset_card`) beside it, and push that folder; returns the commit URL. Raises HubError
    saying how to push again (the recipe's stored results make a rerun cheap)."""
    folder = Path(out_dir) / "hub_dataset"
    table, as_json = rows_table(rows)
    atomic_write_parquet(table, folder / "data" / "train-00000-of-00001.parquet")
    info = replace(info, rows=len(rows), columns=list(table.column_names), json_columns=as_json)
    (folder / "README.md").write_text(dataset_card(info), encoding="utf-8")
    try:
        url = commit(target, files_of(folder), f"deepcritic {info.recipe}: {len(rows)} rows")
    except HubError as exc:
        raise HubError(
            f"{exc}; the output is kept in {out_dir}: push it by running the same command again with "
            f"hydra.run.dir={out_dir} (stored results are reused)"
        ) from None
    log.info("pushed %d rows to the Hub: %s", len(rows), url)
    return url


def push_eval_results(target: Target, figures: Sequence[EvalFigure]) -> str:
    """Merge ``figures`` into the ``model-index`` of the model card of ``target`` (huggingface_hub's
    ``metadata_update``: the card is read from the Hub, its other metadata and text kept, a figure of the same
    benchmark, metric, protocol and step replaced); returns the commit URL. The repo must exist."""
    from huggingface_hub import metadata_update
    from huggingface_hub.errors import RepositoryNotFoundError
    from huggingface_hub.repocard_data import eval_results_to_model_index

    if not figures:
        raise HubError("run: the eval run's metrics.json holds no figures to push (f1, accuracies, parse rate)")
    if target.revision:  # metadata_update reads the card from main whatever branch it commits to
        raise HubError(
            f"hub.revision={target.revision}: an eval run's figures go into the card on main: leave hub.revision unset"
        )
    index = eval_results_to_model_index(target.repo_id, eval_results(figures))
    try:
        return metadata_update(
            target.repo_id,
            {"model-index": index},
            repo_type="model",
            overwrite=True,
            token=target.token,
            revision=target.revision,
            commit_message=f"deepcritic: {len(figures)} evaluation results",
        )
    except RepositoryNotFoundError:
        raise HubError(
            f"{target.where}: no such model repo: push the model first (deepcritic push run=<its training run> "
            f"hub.model_id={target.repo_id})"
        ) from None
    except Exception as exc:
        raise failure(exc, target) from None
