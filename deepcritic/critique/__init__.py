r"""The critique protocol (DESIGN.md, "Critique protocol"): pure functions, no model code.

- :func:`tag_steps`, :func:`build_critic_messages`: the critic's prompt, with the solution's steps tagged
  ``Step 1:``, ``Step 2:``, ...; :func:`load_template` / :func:`fill` (:mod:`.templates`): every prompt
  template, loaded and filled one way.
- :func:`parse_critique`: the critic's output -> :class:`ParsedCritique` (0-based first wrong step, -1
  for none, None when the output has no valid final ``**Answer**: \boxed{k}`` line).
- :func:`render_critique`: per-step critiques + label -> the critic's target text (SFT targets); it
  round-trips through :func:`parse_critique`.
"""

from deepcritic.critique.parse import FINAL_LINE_RE, ParsedCritique, parse_critique
from deepcritic.critique.prompt import (
    build_critic_messages,
    revise_messages,
    solve_messages,
    strip_step_prefix,
    tag_steps,
)
from deepcritic.critique.render import render_critique
from deepcritic.critique.templates import KINDS, fill, load_template, packaged_path

__all__ = [
    "FINAL_LINE_RE",
    "KINDS",
    "ParsedCritique",
    "build_critic_messages",
    "fill",
    "load_template",
    "packaged_path",
    "parse_critique",
    "render_critique",
    "revise_messages",
    "solve_messages",
    "strip_step_prefix",
    "tag_steps",
]
