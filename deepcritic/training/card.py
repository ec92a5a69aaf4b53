"""The model card (README.md) written beside every final model (and ``best/``): Hub metadata, what was trained on
what, the evaluation results deepcritic measured (``model-index``, read by the Hub as its evaluation widget), the
final metrics and the composed config.

The metadata is huggingface_hub's (``ModelCardData``, :mod:`deepcritic.cards`): ``library_name``, ``pipeline_tag``,
``tags`` (deepcritic, the recipe, trl and ``hub.tags``), ``license`` (``hub.license``), ``base_model`` (the model
training started from when it is a Hub id, else ``hub.base_model``) and ``datasets`` (the Hub datasets the config
trains on, and ``hub.datasets``). Local paths are never written as metadata: the Hub rejects them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepcritic.cards import CARD_METRICS, EvalFigure, ModelMeta, metadata_yaml, model_metadata
from deepcritic.config.publish import is_repo_id


@dataclass
class ModelCard:
    """What a card says: the recipe (a tag), a title, one line on how it was trained, sections of markdown
    lines (a heading, or none), the model training started from and the Hub datasets it trained on (for the
    metadata: a local path is left out)."""

    recipe: str
    title: str
    summary: str
    sections: list[tuple[str | None, list[str]]] = field(default_factory=list)
    base_model: str | None = None
    datasets: list[str] = field(default_factory=list)


def hub_model_id(name_or_path: str | None) -> str | None:
    """``name_or_path`` when it names a Hub model (a repo id that is not a local directory), else None."""
    if not name_or_path or not is_repo_id(name_or_path) or Path(name_or_path).exists():
        return None
    return name_or_path


def card_meta(card: ModelCard, cfg: Any, figures: Sequence[EvalFigure] = ()) -> ModelMeta:
    """The metadata of ``card`` for the run configured by ``cfg`` (its ``hub`` and ``train.lora`` sections)."""
    hub = getattr(cfg, "hub", None)
    lora = getattr(getattr(cfg, "train", None), "lora", None)
    return ModelMeta(
        recipe=card.recipe,
        model_name=(hub.model_id if hub is not None and hub.model_id else f"deepcritic-{card.recipe}"),
        base_model=(hub.base_model if hub is not None and hub.base_model else None) or hub_model_id(card.base_model),
        datasets=[*card.datasets, *(hub.datasets if hub is not None else [])],
        license=hub.license if hub is not None else None,
        tags=list(hub.tags) if hub is not None else [],
        adapter=bool(lora is not None and lora.enabled),
        figures=list(figures),
    )


def write_model_card(
    path: Path, card: ModelCard, metrics: dict[str, Any], cfg: Any, figures: Sequence[EvalFigure] = ()
) -> Path:
    """Write ``<path>/README.md``: metadata, title, summary, sections, the evaluation results (``figures``, also
    the metadata's ``model-index``), the final metrics and the config."""
    from omegaconf import OmegaConf

    lines = ["---", metadata_yaml(model_metadata(card_meta(card, cfg, figures))), "---", "", f"# {card.title}", ""]
    lines += [card.summary, ""]
    for heading, body in card.sections:
        lines += ([f"## {heading}", ""] if heading else []) + body + [""]
    if figures:
        lines += ["## Evaluation results", "", *figure_table(figures), ""]
    lines += [
        "## Final metrics",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {_fmt(v)} |" for k, v in metrics.items()],
        "",
        "## Config",
        "",
        "```yaml",
        OmegaConf.to_yaml(OmegaConf.structured(cfg)).rstrip(),
        "```",
        "",
    ]
    out = Path(path) / "README.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


def figure_table(figures: Sequence[EvalFigure]) -> list[str]:
    """The figures as a markdown table (percentages), one row per benchmark, protocol and step."""
    metrics = [m for m in CARD_METRICS if any(f.metric == m for f in figures)]
    rows: dict[tuple, dict[str, float]] = {}
    for f in figures:
        rows.setdefault((f.benchmark, f.dataset_name, f.protocol, f.step), {})[f.metric] = f.value
    lines = [
        "| benchmark | dataset | protocol | step | " + " | ".join(CARD_METRICS[m] for m in metrics) + " |",
        "|---|---|---|---|" + "---|" * len(metrics),
    ]
    for (bench, dataset, protocol, step), values in rows.items():
        cells = [f"{100 * values[m]:.1f}" if m in values else "-" for m in metrics]
        lines.append(
            f"| {bench} | {dataset} | {protocol} | {'-' if step is None else step} | " + " | ".join(cells) + " |"
        )
    return lines


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
