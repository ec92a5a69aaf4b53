"""Chat messages from templates: the critic's prompt (solution steps tagged ``Step 1:``, ``Step 2:``, ...,
DESIGN.md "Critique protocol"), and a generator's prompts to solve a problem or revise a solution.

Templates are loaded and filled by :mod:`deepcritic.critique.templates`.
"""

from __future__ import annotations

import re

from deepcritic.critique.templates import checked, fill, load_template

# An existing "Step k:" prefix at the start of a step (or of a step's critique), in the spellings that
# solution generators and teacher models produce: "Step 3:", "Step 3.", "**Step 3:**", "**Step 3**:",
# "### Step 3:", "step 3 :". A "." followed by a digit is not a separator ("Step 1.5 kg ..."). All
# quantifiers are bounded or over disjoint character classes, so matching cannot backtrack badly.
_STEP_PREFIX_RE = re.compile(
    r"[ \t]{0,8}(?:\#{1,6}[ \t]{0,4})?(?:[*_]{1,2}[ \t]{0,2})?"
    r"step[ \t]{0,4}[0-9]{1,6}[ \t]{0,4}(?:[*_]{1,2}[ \t]{0,2})?[:.](?![0-9])(?:[*_]{1,2})?[ \t]*",
    re.IGNORECASE | re.ASCII,
)


def strip_step_prefix(text: str) -> str:
    """Return ``text`` without a leading ``Step k:`` prefix (any k, markdown bold allowed), stripped.

    Used so that tagging a step, or rendering a step's critique, adds the prefix exactly once even when
    the text already carries one. Only the first prefix is removed.
    """
    match = _STEP_PREFIX_RE.match(text)
    if match:
        text = text[match.end() :]
    return text.strip()


def tag_steps(steps: list[str]) -> str:
    """Return the solution text shown to the critic: ``"Step 1: ...\\n\\nStep 2: ..."``.

    Steps are numbered from 1 and separated by a blank line (steps may themselves span several lines;
    the blank line plus the prefix keeps the boundaries visible). Each step's text is stripped, and an
    existing ``Step k:`` / ``**Step k:**`` / ``Step k.`` prefix is removed first so the prefix is never
    doubled. An empty list gives an empty string.
    """
    return "\n\n".join(f"Step {i}: {strip_step_prefix(step)}".rstrip() for i, step in enumerate(steps, 1))


def build_critic_messages(problem: str, steps: list[str], template: str | None = None) -> list[dict]:
    """Return the chat messages asking the critic to judge ``steps``: ``[{"role": "user", ...}]``.

    ``template`` is template *text* (use ``load_template("critic", path)`` to read a file); ``None`` means the
    packaged default. The steps are tagged with :func:`tag_steps`. Raises :class:`DeepcriticError`
    when the template lacks a placeholder.
    """
    text = load_template("critic") if template is None else checked("critic", template)
    return [{"role": "user", "content": fill(text, problem=problem, solution=tag_steps(steps))}]


def solve_messages(template: str, problem: str) -> list[dict[str, str]]:
    """Chat messages asking a generator to solve ``problem``."""
    return [{"role": "user", "content": fill(template, problem=problem)}]


def revise_messages(
    template: str, problem: str, steps: list[str], critique: str, first_error: int
) -> list[dict[str, str]]:
    """Chat messages asking a generator to revise its ``steps`` given a critique naming the 0-based
    ``first_error`` step."""
    return [
        {
            "role": "user",
            "content": fill(
                template,
                problem=problem,
                solution=tag_steps(steps),
                critique=critique.strip(),
                step=str(first_error + 1),
            ),
        }
    ]
