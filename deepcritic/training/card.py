"""The model card (README.md) written beside every final model: Hub metadata, what was trained on what, the
final metrics and the composed config."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ModelCard:
    """What a card says: the recipe (a tag), a title, one line on how it was trained, sections of markdown
    lines (a heading, or none), and the base model for the Hub metadata (None: left out)."""

    recipe: str
    title: str
    summary: str
    sections: list[tuple[str | None, list[str]]] = field(default_factory=list)
    base_model: str | None = None


def write_model_card(path: Path, card: ModelCard, metrics: dict[str, Any], cfg: Any) -> Path:
    """Write ``<path>/README.md``: front matter, title, summary, sections, the final metrics and the config."""
    from omegaconf import OmegaConf

    front = {"library_name": "transformers", "pipeline_tag": "text-generation", "tags": ["deepcritic", card.recipe]}
    if card.base_model is not None:
        front["base_model"] = card.base_model
    lines = [
        "---",
        *[f"{k}: {json.dumps(v)}" for k, v in front.items()],
        "---",
        "",
        f"# {card.title}",
        "",
        card.summary,
        "",
    ]
    for heading, body in card.sections:
        lines += ([f"## {heading}", ""] if heading else []) + body + [""]
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


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
