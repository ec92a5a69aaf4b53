"""``load_records``: every data source, through one validation path, into :class:`StepRecord` lists.

Each source is a *plan*: where the raw objects come from (a local file or a Hub dataset) and the
converter that reshapes one of them into contract form (``deepcritic.data.sources``). Every converted
dict then goes through :func:`record_from_dict`, and ids must be unique within a load.

Bad input. Under ``data.on_error=raise`` the first bad record raises :class:`DataError` naming the file,
the line (JSON Lines) or record, the field and what was expected. Under ``skip`` a bad record is left out,
counted in ``LoadResult.skipped`` under its reason, and written as one JSON line
``{"file", "where", "field", "reason", "error", "raw"}`` to ``data.rejects_path`` (or the caller's
default). Always errors, whatever ``on_error`` says: a missing file, a file that cannot be parsed as a
whole (a .json file, parquet), a file with no records, and a load that keeps no record at all.
Records a source's own rules leave out (PRM800K ``give_up``) are counted in ``skipped`` but are not
errors and are not written to the rejects file; so are repeats dropped by ``data.dedup`` (``steps``: the same
problem and steps; ``problem``: one record per problem).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from deepcritic.config import DataConfig
from deepcritic.data.readers import Item, iter_file, require_file
from deepcritic.data.records import StepRecord, record_from_dict
from deepcritic.data.skips import Skips
from deepcritic.data.sources import Converter, FieldProblem, Filtered
from deepcritic.data.sources.mapped import convert_contract, convert_mapped, unknown_fields
from deepcritic.data.sources.prm800k import convert_prm800k
from deepcritic.data.sources.processbench import convert_mr_gsm8k, convert_mr_gsm8k_raw, convert_processbench
from deepcritic.data.synthetic import generate_synthetic
from deepcritic.errors import ConfigError, DataError, Problem, RecordError

log = logging.getLogger(__name__)

PROCESSBENCH_HUB = "Qwen/ProcessBench"
# openai/prm800k's four raw label files (phase{1,2}_{train,test}.jsonl), byte for byte, on the Hub
PRM800K_HUB = "tasksource/PRM800K"
PRM800K_REVISION = "547b19506677a59037ee888838834b65e9b1ddd4"


@dataclass
class LoadResult:
    """Loaded records, the skipped ones counted by reason, and the rejects file if one was written."""

    records: list[StepRecord]
    skipped: Counter[str] = field(default_factory=Counter)
    rejects_path: Path | None = None


@dataclass(frozen=True)
class Plan:
    """How to load one source: a label for messages, the raw items, the converter, field renames."""

    file: str
    items: Callable[[], Iterator[Item]]
    convert: Converter
    renames: dict[str, str] = field(default_factory=dict)  # record field -> source field, for messages


def load_records(cfg: DataConfig, rejects_default: Path | None = None) -> LoadResult:
    """Load ``cfg.source`` into validated records; see the module docstring for bad-input handling."""
    if cfg.source == "synthetic":
        result = LoadResult(_synthetic(cfg))
    else:
        result = _run(_plan(cfg), cfg, rejects_default)
    if cfg.dedup != "none":
        result.records, dropped = deduplicate(result.records, cfg.dedup)
        result.skipped.update(dropped)
    if cfg.limit is not None:
        result.records = result.records[: cfg.limit]
    return result


def deduplicate(records: list[StepRecord], by: str) -> tuple[list[StepRecord], Counter[str]]:
    """The records without repeats, in order, and how many were dropped. ``by="steps"``: a record whose problem
    and steps (stripped) both equal an earlier one's; ``by="problem"``: every record after the first of its
    problem (stripped)."""
    kept: list[StepRecord] = []
    seen: set = set()
    for record in records:
        key = record.problem.strip()
        if by == "steps":
            key = (key, tuple(s.strip() for s in record.steps))
        if key not in seen:
            seen.add(key)
            kept.append(record)
    return kept, Counter({f"duplicate {by}": len(records) - len(kept)} if len(kept) < len(records) else {})


def _synthetic(cfg: DataConfig) -> list[StepRecord]:
    """The built-in task; ``data.name`` renames its source."""
    records = generate_synthetic(cfg.synthetic)
    return [replace(r, source=cfg.name) for r in records] if cfg.name else records


# ---------------------------------------------------------------------------------------------------
# Plans: one per source.


def _plan(cfg: DataConfig) -> Plan:
    planners = {
        "processbench": _plan_processbench,
        "mr_gsm8k": _plan_mr_gsm8k,
        "mr_gsm8k_raw": _plan_mr_gsm8k_raw,
        "prm800k": _plan_prm800k,
        "contract": _plan_contract,
        "generic": _plan_generic,
        "hub": _plan_hub,
    }
    if cfg.source not in planners:
        choices = ", ".join(["synthetic", *planners])
        raise ConfigError([Problem("data.source", cfg.source, f"use one of {choices}")])
    return planners[cfg.source](cfg)


def _plan_processbench(cfg: DataConfig) -> Plan:
    """Local ProcessBench JSON (source ``processbench/<file stem>``) or the Hub (``processbench/<subset>``).

    On the Hub (``Qwen/ProcessBench``) the subsets gsm8k, math, olympiadbench, omnimath are *splits*,
    so ``data.subset`` is passed as the split.
    """
    if cfg.path:
        path = require_file(cfg.path)
        convert = partial(convert_processbench, source=cfg.name or f"processbench/{path.stem}")
        return Plan(str(path), partial(iter_file, path), convert)
    if not cfg.subset:
        fix = "name the ProcessBench split: gsm8k, math, olympiadbench or omnimath"
        raise ConfigError([Problem("data.subset", cfg.subset, fix)])
    hub = cfg.hub_name or PROCESSBENCH_HUB
    convert = partial(convert_processbench, source=cfg.name or f"processbench/{cfg.subset}")
    return Plan(_hub_label(hub, None, cfg.subset), partial(_hub_items, hub, None, cfg.subset, cfg.revision), convert)


def _plan_mr_gsm8k(cfg: DataConfig) -> Plan:
    """MR-GSM8K in ProcessBench form: a local JSON file, or a Hub dataset (hub_name, subset, split)."""
    return _file_or_hub(cfg, partial(convert_mr_gsm8k, source=cfg.name or "mr_gsm8k"))


def _plan_mr_gsm8k_raw(cfg: DataConfig) -> Plan:
    """MR-GSM8K's release (dataset/MR-GSM8K.json, or a Hub copy), ``data.question_types`` selecting types."""
    return _file_or_hub(cfg, partial(convert_mr_gsm8k_raw, source=cfg.name or "mr_gsm8k", types=cfg.question_types))


def _file_or_hub(cfg: DataConfig, convert: Converter) -> Plan:
    """A local file (``data.path``) or a Hub dataset (``hub_name``, ``subset``, ``split``) through ``convert``."""
    if cfg.path:
        path = require_file(cfg.path)
        return Plan(str(path), partial(iter_file, path), convert)
    hub = _need_hub_name(cfg)
    items = partial(_hub_items, hub, cfg.subset, cfg.split, cfg.revision)
    return Plan(_hub_label(hub, cfg.subset, cfg.split), items, convert)


def _plan_prm800k(cfg: DataConfig) -> Plan:
    """PRM800K raw label file (.jsonl, or .json holding concatenated pretty-printed objects); with no
    ``data.path``, the release's ``phase<phase>_<split>.jsonl`` from the Hub (``data.hub_name``, default
    tasksource/PRM800K at a pinned revision), downloaded once into the Hub cache and read like a local file."""
    p = cfg.prm800k
    convert = partial(convert_prm800k, source=cfg.name, human_steps=p.human_steps, phase=p.phase, siblings=p.siblings)
    path = require_file(cfg.path) if cfg.path else _prm800k_hub_file(cfg)
    return Plan(str(path), partial(iter_file, path), convert)


def _prm800k_hub_file(cfg: DataConfig) -> Path:
    """The Hub copy of a PRM800K release file, as a local path."""
    if cfg.prm800k.phase is None:
        fix = "name a file (data.path=<phase1_train.jsonl>) or a phase (data.prm800k.phase=1|2) to download"
        raise ConfigError([Problem("data.prm800k.phase", None, fix)])
    name = f"phase{cfg.prm800k.phase}_{cfg.split}.jsonl"
    hub = cfg.hub_name or PRM800K_HUB
    revision = cfg.revision or (PRM800K_REVISION if hub == PRM800K_HUB else None)
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(hub, name, repo_type="dataset", revision=revision))
    except Exception as exc:  # offline, unknown file or revision: all user-fixable
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"hf://{hub}/{name}", "", None, f"a downloadable PRM800K file ({reason}); or set data.path=<local file>"
        ) from None


def _plan_contract(cfg: DataConfig) -> Plan:
    """Data-contract JSONL (or a JSON array of contract records)."""
    path = require_file(_need_path(cfg))
    return Plan(str(path), partial(iter_file, path), partial(convert_contract, name=cfg.name))


def _plan_generic(cfg: DataConfig) -> Plan:
    """A json/jsonl/parquet file read through ``data.fields`` (default source name: the file stem)."""
    path = require_file(_need_path(cfg))
    fields = _checked_fields(cfg)
    convert = partial(convert_mapped, fields=fields, default_name=path.stem, name=cfg.name, **_label_rules(cfg))
    return Plan(str(path), partial(iter_file, path), convert, fields)


def _plan_hub(cfg: DataConfig) -> Plan:
    """Any Hub dataset read through ``data.fields`` (default source name: hub_name[/subset])."""
    hub = _need_hub_name(cfg)
    fields = _checked_fields(cfg)
    default = f"{hub}/{cfg.subset}" if cfg.subset else hub
    convert = partial(convert_mapped, fields=fields, default_name=default, name=cfg.name, **_label_rules(cfg))
    items = partial(_hub_items, hub, cfg.subset, cfg.split, cfg.revision)
    return Plan(_hub_label(hub, cfg.subset, cfg.split), items, convert, fields)


def _label_rules(cfg: DataConfig) -> dict:
    return {"label_base": cfg.label_base, "no_error_labels": tuple(cfg.no_error_labels)}


def _hub_items(name: str, subset: str | None, split: str, revision: str | None) -> Iterator[Item]:
    """Rows of ``datasets.load_dataset(name, subset, split=split, revision=revision)``, as ``row N``."""
    import datasets

    dataset = datasets.load_dataset(name, subset, split=split, revision=revision)
    for i, row in enumerate(dataset):
        yield f"row {i}", row, None


def _hub_label(name: str, subset: str | None, split: str) -> str:
    """How a Hub dataset is named in messages: ``hf://Qwen/ProcessBench[gsm8k]``."""
    return f"hf://{name}" + (f"/{subset}" if subset else "") + f"[{split}]"


def _need_path(cfg: DataConfig) -> str:
    if not cfg.path:
        fix = f"source '{cfg.source}' reads a local file: set data.path=<file>"
        raise ConfigError([Problem("data.path", cfg.path, fix)])
    return cfg.path


def _need_hub_name(cfg: DataConfig) -> str:
    if not cfg.hub_name:
        fix = "set data.path=<file> or data.hub_name=<owner/dataset>"
        raise ConfigError([Problem("data.hub_name", cfg.hub_name, fix)])
    return cfg.hub_name


def _checked_fields(cfg: DataConfig) -> dict[str, str]:
    """``data.fields`` as a plain dict; unknown record fields are a config error (a typo would be ignored)."""
    fields = {str(k): str(v) for k, v in dict(cfg.fields).items()}
    unknown = unknown_fields(fields)
    if unknown:
        raise ConfigError(
            [
                Problem(
                    "data.fields",
                    fields,
                    f"unknown record field(s) {', '.join(unknown)}: map "
                    "id, source, problem, steps, label, answer or meta",
                )
            ]
        )
    return fields


# ---------------------------------------------------------------------------------------------------
# Running a plan: convert, validate, deduplicate; raise or skip.


def _run(plan: Plan, cfg: DataConfig, rejects_default: Path | None) -> LoadResult:
    """Load every item of the plan; then write rejects and check that something was kept."""
    skips = Skips(skip=cfg.on_error == "skip")
    records: list[StepRecord] = []
    seen: dict[str, str] = {}  # id -> where it was first seen
    convert = partial(_convert_one, plan, seen=seen)
    for where, converted in skips.screen(plan.items(), convert):
        for record in converted:
            if isinstance(record, Filtered):
                skips.counts[record.reason] += 1
                continue
            seen[record.id] = where
            records.append(record)
    rejects_path = skips.write(cfg.rejects_path or rejects_default)
    skips.require(plan.file, len(records), "record", rejects_path)
    return LoadResult(records, skips.counts, rejects_path)


def _convert_one(
    plan: Plan, obj: Any, index: int, where: str, seen: dict[str, str]
) -> tuple[str, list[StepRecord | Filtered]]:
    """Convert and validate one item (which may hold several records): where it is and what it holds. Every
    problem comes out as a located RecordError, and then none of the item's records is kept."""
    try:
        converted = plan.convert(obj, index)
    except FieldProblem as p:
        raise RecordError(p.reason, plan.file, where, p.field, p.expected, p.got, raw=obj) from None
    out: list[StepRecord | Filtered] = []
    ids: set[str] = set()
    for entry in converted if isinstance(converted, list) else [converted]:
        if isinstance(entry, Filtered):
            out.append(entry)
            continue
        try:
            record = record_from_dict(entry, plan.file, where)
        except RecordError as exc:
            raise _renamed(exc, plan.renames, obj) from None
        if record.id in seen or record.id in ids:
            first = seen.get(record.id, where)
            raise RecordError(
                "duplicate id",
                plan.file,
                where,
                "id",
                f"an id unique within the source (already used at {first})",
                record.id,
                raw=obj,
            )
        ids.add(record.id)
        out.append(record)
    return where, out


def _renamed(exc: RecordError, renames: dict[str, str], obj: Any) -> RecordError:
    """The same error naming the user's source field (``first_error``) rather than the record field."""
    field_name = exc.field or ""
    root, bracket, rest = field_name.partition("[")
    if root not in renames:
        return RecordError(exc.reason, exc.file, exc.where, exc.field, exc.expected, exc.got, raw=obj)
    shown = f"{renames[root]}{bracket}{rest} (record field '{root}')"
    return RecordError(exc.reason, exc.file, exc.where, shown, exc.expected, exc.got, raw=obj)
