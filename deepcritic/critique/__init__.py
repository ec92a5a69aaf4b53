r"""The critique protocol (DESIGN.md, "Critique protocol"): pure functions, no model code.

- :func:`tag_steps`, :func:`load_template`, :func:`build_critic_messages`: the critic's prompt, with the
  solution's steps tagged ``Step 1:``, ``Step 2:``, ...
- :func:`parse_critique`: the critic's output -> :class:`ParsedCritique` (0-based first wrong step, -1
  for none, None when the output has no valid final ``**Answer**: \boxed{k}`` line).
- :func:`render_critique`: per-step critiques + label -> the critic's target text (SFT targets); it
  round-trips through :func:`parse_critique`.
"""

from deepcritic.critique.parse import FINAL_LINE_RE, ParsedCritique, parse_critique
from deepcritic.critique.prompt import (
    PLACEHOLDERS,
    build_critic_messages,
    fill_template,
    load_template,
    strip_step_prefix,
    tag_steps,
    validate_template,
)
from deepcritic.critique.render import render_critique

__all__ = [
    "FINAL_LINE_RE",
    "PLACEHOLDERS",
    "ParsedCritique",
    "build_critic_messages",
    "fill_template",
    "load_template",
    "parse_critique",
    "render_critique",
    "strip_step_prefix",
    "tag_steps",
    "validate_template",
]
