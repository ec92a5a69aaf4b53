r"""Prompt templates: one loader, one placeholder filler and one error message for every prompt deepcritic sends.

Each kind of prompt has a packaged default file under ``deepcritic/critique/templates/`` and the placeholders
it must contain (:data:`KINDS`); a config may point at its own file instead. Filling is one regex pass over
``{name}`` placeholders, never ``str.format``: templates, problems and critiques are full of LaTeX braces
(``\boxed{1}``, ``\frac{a}{b}``), and text substituted for one placeholder (a problem that mentions
``{solution}``) must never be substituted again.

Critic templates written for Python's ``str.format`` (ProcessBench's and DeepCritic's released prompts, with
``{tagged_response}`` and doubled braces) are accepted by every recipe: in a file with ``{tagged_response}``
and no ``{solution}``, ``{tagged_response}`` reads as ``{solution}`` and ``{{`` / ``}}`` as ``{`` / ``}`` (so
``\boxed{{}}`` reaches the model as ``\boxed{}``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from deepcritic.errors import DeepcriticError

_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class TemplateKind:
    """A kind of prompt: its packaged file, the placeholders a template must hold, and accepted aliases
    (a str.format-style placeholder name -> ours)."""

    file: str
    placeholders: tuple[str, ...]
    aliases: dict[str, str] = field(default_factory=dict)


_CRITIC = ("problem", "solution")
_STEP = ("problem", "solution", "step", "step_text")

#: Every kind of prompt. ``{solution}`` is always the solution with its steps tagged ``Step k:``; ``{step}`` a
#: 1-based step number; ``{step_text}`` that step's text; ``{initial}`` / ``{in_depth}`` earlier critiques.
KINDS: dict[str, TemplateKind] = {
    "critic": TemplateKind("critic.txt", _CRITIC, {"tagged_response": "solution"}),
    "demo_critic": TemplateKind("demo_critic.txt", _CRITIC, {"tagged_response": "solution"}),
    "solve": TemplateKind("solve.txt", ("problem",)),
    "revise": TemplateKind("revise.txt", ("problem", "solution", "critique", "step")),
    "continue": TemplateKind("continue.txt", ("problem", "solution", "step")),
    "initial": TemplateKind("initial_critique.txt", _STEP),
    "in_depth": TemplateKind("in_depth_critique.txt", (*_STEP, "initial")),
    "merge": TemplateKind("merge_critique.txt", (*_STEP, "initial", "in_depth")),
    "cft_critique": TemplateKind("cft_critique.txt", _CRITIC),
}


def packaged_path(kind: str) -> str:
    """The packaged default file of ``kind`` (a path on disk)."""
    return str(resources.files("deepcritic.critique").joinpath(f"templates/{_kind(kind).file}"))


def load_template(kind: str, path: str | None = None) -> str:
    """The template text of ``kind``: the file at ``path``, or the packaged default when ``path`` is None.

    Raises :class:`DeepcriticError` naming the file when it is missing or unreadable, or lacks a placeholder.
    """
    if path is None:
        return _packaged(kind)
    file = Path(path).expanduser()
    where = str(path) if file.is_absolute() else f"{path} (resolved to {file.resolve()})"
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeepcriticError(
            f"{kind} template file not found: {where}; point the config at an existing file, or "
            f"leave it unset for the packaged {_kind(kind).file}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeepcriticError(f"cannot read the {kind} template {where}: {type(exc).__name__}: {exc}") from None
    text = checked(kind, canonical(kind, text), str(path))
    if kind in _STRICT_KINDS:
        check_convention(text, str(path), "step", 1, "deepcritic's critic protocol (training, filter, eval)")
    return text


@cache
def _packaged(kind: str) -> str:
    text = resources.files("deepcritic.critique").joinpath(f"templates/{_kind(kind).file}").read_text("utf-8")
    return checked(kind, text, f"deepcritic/critique/templates/{_kind(kind).file}")


#: Critic prompts read under deepcritic's own protocol: ``Step k:`` from 1, a 1-based final answer line.
_STRICT_KINDS = ("critic", "demo_critic")

_BASE_RE = re.compile(
    r"(?:index(?:ed)?|number(?:ed)?)[ \t]{1,4}(?:starting[ \t]{1,4})?from[ \t]{1,4}([01])\b|\b(zero|one|0|1)-based",
    re.IGNORECASE,
)


def template_convention(text: str) -> tuple[str | None, int | None]:
    """(tagging, index base) a critic template declares in its wording, each None where it says nothing.

    Tagging is ``"paragraph"`` when the template speaks of paragraphs (ProcessBench's ``<paragraph_i>`` tags),
    ``"step"`` when it speaks of steps; the base is read from "indexed from 0", "starting from 1", "0-based"...
    """
    lowered = text.lower()
    tagging = "paragraph" if "paragraph" in lowered else "step" if re.search(r"\bsteps?\b", lowered) else None
    match = _BASE_RE.search(text)
    base = None
    if match:
        word = (match.group(1) or match.group(2)).lower()
        base = 0 if word in ("0", "zero") else 1
    return tagging, base


def check_convention(text: str, source: str, tagging: str, base: int, reader: str) -> None:
    """Refuse a critic template that asks for another tagging or index base than ``reader`` uses (a 0-based
    ``\\boxed{0}`` read by a 1-based parser silently scores as wrong)."""
    got_tagging, got_base = template_convention(text)
    if (got_tagging or tagging) == tagging and (got_base if got_base is not None else base) == base:
        return
    said = ", ".join(
        x for x in (got_tagging and f"{got_tagging}s", got_base is not None and f"indexed from {got_base}") if x
    )
    raise DeepcriticError(
        f"critic template {source} asks for {said}, but {reader} shows {tagging}s indexed from {base} and reads "
        f"a {base}-based verdict; use a template written for it, or evaluate this prompt under its own protocol "
        "(e.g. protocol=processbench for paragraph indices from 0)"
    )


def checked(kind: str, text: str, source: str = "<template text>") -> str:
    """``text`` unchanged if it holds every placeholder of ``kind``, else :class:`DeepcriticError`."""
    wanted = _kind(kind).placeholders
    missing = [name for name in wanted if "{" + name + "}" not in text]
    if missing:
        raise DeepcriticError(f"{kind} template {source} lacks {_braced(missing)}; it must contain {_braced(wanted)}")
    return text


def fill(template: str, **values: object) -> str:
    """Replace each ``{name}`` given in ``values`` in one pass; every other brace (LaTeX) stays as it is."""
    return _PLACEHOLDER_RE.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)


def canonical(kind: str, text: str) -> str:
    """A str.format-style template (an alias placeholder, doubled braces) in our convention; others unchanged."""
    for alias, name in _kind(kind).aliases.items():
        if "{" + alias + "}" in text and "{" + name + "}" not in text:
            marker = f"\0{name}\0"
            text = text.replace("{" + alias + "}", marker).replace("{{", "{").replace("}}", "}")
            return text.replace(marker, "{" + name + "}")
    return text


def _kind(kind: str) -> TemplateKind:
    if kind not in KINDS:
        raise ValueError(f"unknown template kind {kind!r}; kinds: {', '.join(KINDS)}")
    return KINDS[kind]


def _braced(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join("{" + n + "}" for n in names)
