"""Building the critic's prompt: tagging solution steps and filling a prompt template.

The critic sees the problem and the solution with each step tagged ``Step 1:``, ``Step 2:``, ...
(DESIGN.md, "Critique protocol"). The prompt wording lives in a template file with two placeholders,
``{problem}`` and ``{solution}``; users may point a config at their own template file.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from deepcritic.errors import DeepcriticError

#: Placeholders every critic template must contain.
PLACEHOLDERS: tuple[str, ...] = ("problem", "solution")

#: Where the default template lives, relative to this package.
DEFAULT_TEMPLATE_NAME = "templates/critic.txt"

# One pass over the template replaces both placeholders. Never str.format: templates and problems are
# full of LaTeX braces (``\boxed{1}``, ``\frac{a}{b}``), and text substituted for one placeholder (a
# problem that mentions ``{solution}``) must not be substituted again.
_PLACEHOLDER_RE = re.compile(r"\{(problem|solution)\}")

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


def validate_template(text: str, source: str = "<template text>") -> str:
    """Return ``text`` unchanged if it contains every placeholder, else raise :class:`DeepcriticError`.

    ``source`` names where the template came from (a file path) so the message points at what to fix.
    """
    missing = [name for name in PLACEHOLDERS if "{" + name + "}" not in text]
    if missing:
        names = ", ".join("{" + name + "}" for name in missing)
        raise DeepcriticError(
            f"critique template {source} is missing the placeholder(s) {names}; a template must contain "
            "both {problem} and {solution}"
        )
    return text


@lru_cache(maxsize=1)
def _default_template() -> str:
    """Text of the packaged default template (read once; the file is part of the installed package)."""
    text = resources.files("deepcritic.critique").joinpath(DEFAULT_TEMPLATE_NAME).read_text(encoding="utf-8")
    return validate_template(text, f"deepcritic/critique/{DEFAULT_TEMPLATE_NAME}")


def load_template(path: str | None = None) -> str:
    """Return the text of a critic prompt template: the packaged default, or the file at ``path``.

    Raises :class:`DeepcriticError` (with the path in the message) when the file does not exist or
    cannot be read as UTF-8 text, and when it lacks the ``{problem}`` or ``{solution}`` placeholder.
    """
    if path is None:
        return _default_template()
    file = Path(path).expanduser()
    where = str(path) if file.is_absolute() else f"{path} (resolved to {file.resolve()})"
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeepcriticError(
            f"critique template file not found: {where}; point the config at an existing file, or leave "
            "it unset to use the default template"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeepcriticError(f"cannot read critique template file {where}: {exc}") from None
    return validate_template(text, str(path))


def fill_template(template: str, problem: str, solution: str) -> str:
    """Substitute ``{problem}`` and ``{solution}`` in one regex pass, leaving all other braces alone."""
    values = {"problem": problem, "solution": solution}
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], template)


def build_critic_messages(problem: str, steps: list[str], template: str | None = None) -> list[dict]:
    """Return the chat messages asking the critic to judge ``steps``: ``[{"role": "user", ...}]``.

    ``template`` is template *text* (use :func:`load_template` to read a file); ``None`` means the
    packaged default. The steps are tagged with :func:`tag_steps`. Raises :class:`DeepcriticError`
    when the template lacks a placeholder.
    """
    text = _default_template() if template is None else validate_template(template)
    return [{"role": "user", "content": fill_template(text, problem, tag_steps(steps))}]
