"""Generator prompts for ``solve``, ``refine`` and ``verify-vote``: solving a problem, revising with a critique.

Templates live in ``deepcritic/critique/templates/`` (``solve.txt``: ``{problem}``; ``revise.txt``:
``{problem}``, ``{solution}`` (the attempt with steps tagged ``Step k:``), ``{critique}`` and
``{step}`` (1-based number of the first wrong step)). A config may point at its own file. Filling is one
regex pass: LaTeX braces in templates and problems are left alone, and substituted text is never
substituted again.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from deepcritic.critique import load_template, tag_steps, validate_template
from deepcritic.errors import DeepcriticError

SOLVE_PLACEHOLDERS = ("problem",)
REVISE_PLACEHOLDERS = ("problem", "solution", "critique", "step")

_PLACEHOLDER = re.compile(r"\{(problem|solution|critique|step)\}")


def load_prompt(path: str | None, default: str, placeholders: tuple[str, ...]) -> str:
    """Template text from ``path``, or the packaged ``templates/<default>``; checks the placeholders.

    Raises :class:`DeepcriticError` for a missing or unreadable file or a missing placeholder.
    """
    if path is None:
        text = resources.files("deepcritic.critique").joinpath(f"templates/{default}").read_text(encoding="utf-8")
        source = f"deepcritic/critique/templates/{default}"
    else:
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DeepcriticError(f"cannot read prompt template {path}: {exc.__class__.__name__}: {exc}") from None
        source = path
    missing = [p for p in placeholders if "{" + p + "}" not in text]
    if missing:
        raise DeepcriticError(f"prompt template {source} lacks {', '.join('{' + m + '}' for m in missing)}; "
                              f"it must contain {', '.join('{' + p + '}' for p in placeholders)}")
    return text


def fill(template: str, **values: str) -> str:
    """Replace ``{name}`` for each given name in one pass; other braces stay as they are."""
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)


def solve_messages(template: str, problem: str) -> list[dict[str, str]]:
    """Chat messages asking the generator to solve ``problem``."""
    return [{"role": "user", "content": fill(template, problem=problem)}]


def revise_messages(template: str, problem: str, steps: list[str], critique: str, first_error: int) -> list[dict[str, str]]:
    """Chat messages asking the generator to revise its ``steps`` given a critique naming the 0-based
    ``first_error`` step."""
    return [{"role": "user", "content": fill(template, problem=problem, solution=tag_steps(steps),
                                             critique=critique.strip(), step=str(first_error + 1))}]


def load_critic_template(path: str | None) -> str:
    """The critic's template: :func:`deepcritic.critique.load_template`, also accepting templates written
    for Python's ``str.format`` in the ProcessBench / DeepCritic-release convention: when a file has
    ``{tagged_response}`` and no ``{solution}``, ``{tagged_response}`` is read as ``{solution}`` and the
    doubled braces ``{{`` / ``}}`` as single ones (so ``\\boxed{{}}`` reaches the model as ``\\boxed{}``).
    """
    if path is None:
        return load_template(None)
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return load_template(path)  # its message says what is wrong with the file
    if "{solution}" not in text and "{tagged_response}" in text:
        text = text.replace("{tagged_response}", "\0SOLUTION\0").replace("{{", "{").replace("}}", "}")
        text = text.replace("\0SOLUTION\0", "{solution}")
        return validate_template(text, str(path))
    return load_template(path)
