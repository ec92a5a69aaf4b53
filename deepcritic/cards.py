"""What model and dataset cards say to the Hub: metadata that ``huggingface_hub``'s card classes write and read
(``ModelCardData``, ``DatasetCardData``), the ``model-index`` of the evaluation results deepcritic measured, and a
dataset card's body. Pure: no file and no network (``training/card.py`` writes model cards, ``hub.py`` pushes).

Evaluation results (``model-index``). Each figure is one benchmark's metric under one evaluation protocol at one
training step: the dataset is the benchmark's Hub dataset when it is read from the Hub (``hub_name``, or the
source's own Hub copy), else the benchmark's name (a local file is not a Hub dataset); the protocol is the metric's
configuration (``metric_config``), so figures of two protocols are two results; values are percentages, as the
papers and deepcritic's reports give them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepcritic.config.publish import is_repo_id

# A benchmark source's own Hub copy, used when a data section names no file (deepcritic/data/loaders.py)
SOURCE_HUB = {"processbench": "Qwen/ProcessBench", "prm800k": "tasksource/PRM800K"}
# The metrics a card reports per benchmark, and how it names them
CARD_METRICS = {
    "f1": "F1",
    "acc_error": "accuracy on solutions with a wrong step",
    "acc_correct": "accuracy on solutions without one",
    "parse_rate": "parse rate",
}
TASK_TYPE = "text-generation"
TASK_NAME = "Critique: find the first wrong step of a solution"
# size_categories of a dataset card: (upper bound, the Hub's label)
SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
]


@dataclass(frozen=True)
class EvalFigure:
    """One measured figure: ``value`` (a fraction) of ``metric`` on ``benchmark`` under ``protocol`` at ``step``
    (None: not a training step, e.g. ``deepcritic eval``)."""

    benchmark: str
    dataset_id: str
    dataset_name: str
    protocol: str
    metric: str
    value: float
    step: int | None = None
    config: str | None = None
    split: str | None = None


def hub_dataset(section: Any) -> str | None:
    """The Hub dataset a data or chat section reads (None: a local file, or a source that is built here)."""
    if getattr(section, "path", None):
        return None
    name = getattr(section, "hub_name", None) or SOURCE_HUB.get(getattr(section, "source", ""))
    return name if name and is_repo_id(name) else None


def dataset_ref(name: str, data: Any) -> tuple[str, str, str | None, str | None]:
    """(dataset id, pretty name, config, split) a benchmark's figures are filed under.

    A benchmark read from the Hub is named by its dataset (ProcessBench's subsets are splits there); one read from a
    local file by its own name, with the file's name beside it."""
    hub = hub_dataset(data)
    if hub is None:
        path = getattr(data, "path", None)
        return name, f"{name} ({Path(path).name})" if path else name, None, None
    if getattr(data, "source", "") == "processbench":
        return hub, f"{hub} {data.subset or data.split}", None, data.subset or data.split
    return hub, f"{hub} {data.subset or ''}".strip(), data.subset, data.split


def benchmark_figures(
    name: str, data: Any, protocol: str, metrics: Mapping[str, Any], step: int | None = None
) -> list[EvalFigure]:
    """The card's figures of one benchmark's metrics (those of :data:`CARD_METRICS` that have a value)."""
    dataset_id, pretty, config, split = dataset_ref(name, data)
    return [
        EvalFigure(name, dataset_id, pretty, protocol, metric, float(metrics[metric]), step, config, split)
        for metric in CARD_METRICS
        if isinstance(metrics.get(metric), (int, float)) and not isinstance(metrics.get(metric), bool)
    ]


def eval_results(figures: Iterable[EvalFigure]) -> list[Any]:
    """``huggingface_hub.EvalResult`` of each figure (percentages, two decimals; the protocol as the metric's
    configuration; the training step, when there is one, as a metric argument)."""
    from huggingface_hub import EvalResult

    return [
        EvalResult(
            task_type=TASK_TYPE,
            task_name=TASK_NAME,
            dataset_type=f.dataset_id,
            dataset_name=f.dataset_name,
            dataset_config=f.config,
            dataset_split=f.split,
            metric_type=f.metric,
            metric_name=f"{CARD_METRICS.get(f.metric, f.metric)} ({f.protocol} protocol)",
            metric_config=f.protocol,
            metric_value=round(100 * f.value, 2),
            metric_args={"step": f.step} if f.step is not None else None,
        )
        for f in figures
    ]


@dataclass
class ModelMeta:
    """What a model card's metadata says; :func:`model_metadata` turns it into the Hub's YAML fields."""

    recipe: str
    model_name: str
    base_model: str | None = None
    datasets: Sequence[str] = ()
    license: str | None = None
    tags: Sequence[str] = ()
    adapter: bool = False
    figures: Sequence[EvalFigure] = field(default_factory=list)


def model_metadata(meta: ModelMeta) -> dict[str, Any]:
    """The card's metadata (``ModelCardData.to_dict()``): library, pipeline, tags, license, base model, datasets
    (Hub ids only: a local path is not valid Hub metadata) and the ``model-index`` of the figures."""
    from huggingface_hub import ModelCardData

    base = meta.base_model if meta.base_model and is_repo_id(meta.base_model) else None
    data = ModelCardData(
        library_name="peft" if meta.adapter else "transformers",
        pipeline_tag=TASK_TYPE,
        license=meta.license,
        base_model=base,
        datasets=_unique(d for d in meta.datasets if is_repo_id(d)) or None,
        tags=_unique(["deepcritic", meta.recipe, "trl", *meta.tags]),
        model_name=meta.model_name if meta.figures else None,
        eval_results=eval_results(meta.figures) or None,
    )
    return data.to_dict()


def metadata_yaml(metadata: Mapping[str, Any]) -> str:
    """``metadata`` as the YAML block between a card's ``---`` lines (huggingface_hub's dumper)."""
    from huggingface_hub.utils import yaml_dump

    return yaml_dump(dict(metadata), sort_keys=False).strip()


def size_category(rows: int) -> str:
    """The Hub's size category of a dataset of ``rows`` rows."""
    for bound, label in SIZE_CATEGORIES:
        if rows < bound:
            return label
    return "n>100M"


@dataclass
class DatasetInfo:
    """What a dataset card states: what made the rows (``recipe``, ``source``), how many, the label balance, the
    settings that made them, the columns (those stored as JSON text named) and the metadata."""

    recipe: str
    title: str
    source: str
    rows: int
    balance: Mapping[str, int]
    settings: Mapping[str, Any]
    columns: Sequence[str] = ()
    json_columns: Sequence[str] = ()
    license: str | None = None
    tags: Sequence[str] = ()


DATA_FILES = "data/train-*.parquet"


def dataset_metadata(info: DatasetInfo) -> dict[str, Any]:
    """The dataset card's metadata (``DatasetCardData.to_dict()``): the parquet files as the train split."""
    from huggingface_hub import DatasetCardData

    data = DatasetCardData(
        license=info.license,
        pretty_name=info.title,
        size_categories=[size_category(info.rows)],
        tags=_unique(["deepcritic", info.recipe, *info.tags]),
        configs=[{"config_name": "default", "data_files": [{"split": "train", "path": DATA_FILES}]}],
    )
    return data.to_dict()


def dataset_card(info: DatasetInfo) -> str:
    """The dataset card (README.md): metadata, then source, counts, label balance, columns and settings."""
    import json

    balance = ", ".join(f"{k} {v}" for k, v in info.balance.items())
    lines = [
        "---",
        metadata_yaml(dataset_metadata(info)),
        "---",
        "",
        f"# {info.title}",
        "",
        f"Made with `deepcritic {info.recipe}` from {info.source}.",
        "",
        "| | |",
        "|---|---|",
        f"| rows | {info.rows} |",
        f"| label balance | {balance} |",
        "",
    ]
    if info.columns:
        lines += ["## Columns", "", ", ".join(f"`{c}`" for c in info.columns), ""]
    if info.json_columns:
        names = ", ".join(f"`{c}`" for c in info.json_columns)
        lines += [f"{names}: JSON text (its values' types differ between rows); read it with `json.loads`.", ""]
    lines += ["## Settings", "", "```json", json.dumps(info.settings, indent=2, ensure_ascii=False, default=str)]
    return "\n".join([*lines, "```", ""])


def _unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def used_settings(section: Any) -> dict[str, Any]:
    """A config section's fields as plain values, leaving out the subsections its choices do not use (those whose
    ``when`` rule is false: e.g. ``prm800k`` when the source is another), for a card's settings."""
    import dataclasses

    out: dict[str, Any] = {}
    for f in dataclasses.fields(section):
        when = f.metadata.get("when")
        if when is not None and not when(section):
            continue
        value = getattr(section, f.name)
        out[f.name] = used_settings(value) if dataclasses.is_dataclass(value) else value
    return out
