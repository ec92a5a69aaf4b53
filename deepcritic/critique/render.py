r"""Rendering per-step critiques into the critic's target output (the SFT warm-start target text).

The rendered text is exactly what :func:`deepcritic.critique.parse.parse_critique` reads back: one
block per step, ``Step i:`` + critique + a ``\boxed{1}``/``\boxed{-1}`` judgment line, stopping at the
first wrong step, then ``**Answer**: \boxed{k}`` (k 1-based, or -1).
"""

from __future__ import annotations

from deepcritic.critique.parse import FINAL_LINE_RE
from deepcritic.critique.prompt import strip_step_prefix


def render_critique(step_critiques: list[str], first_error: int) -> str:
    r"""Return the critic's target text for per-step critiques and a 0-based ``first_error`` (-1: none).

    Blocks are separated by blank lines. Each block is ``Step {i+1}: <critique>`` (an existing
    ``Step k:`` prefix on the critique is replaced, never doubled), a blank line, and the judgment line
    ``\boxed{1}``, or ``\boxed{-1}`` on the first wrong step. With ``first_error >= 0`` only the steps up
    to and including it are rendered (critiques after it are ignored); with -1 every step is rendered.
    The last line is ``**Answer**: \boxed{first_error + 1}`` or ``**Answer**: \boxed{-1}``.

    Raises TypeError when ``first_error`` is not an int, and ValueError when it is outside
    [-1, len(step_critiques) - 1], when there are no critiques, when a rendered critique is empty, or
    when a critique contains a line that reads as a final answer line (it would change the parsed
    verdict). Critique prose that itself contains
    ``\boxed{1}`` / ``\boxed{-1}`` is kept, and parses as extra step judgments.
    """
    if isinstance(first_error, bool) or not isinstance(first_error, int):
        raise TypeError(f"first_error must be an int (0-based step index or -1), got {first_error!r}")
    if not step_critiques:
        raise ValueError("step_critiques is empty: a critique needs at least one step")
    if not -1 <= first_error < len(step_critiques):
        raise ValueError(
            f"first_error={first_error} is out of range for {len(step_critiques)} step critique(s): "
            f"expected -1 (no wrong step) or a 0-based index up to {len(step_critiques) - 1}"
        )
    last = len(step_critiques) - 1 if first_error == -1 else first_error
    blocks = []
    for i in range(last + 1):
        body = strip_step_prefix(step_critiques[i])
        if not body:
            raise ValueError(f"step_critiques[{i}] is empty")
        if any(FINAL_LINE_RE.fullmatch(line) for line in body.splitlines()):
            raise ValueError(
                f"step_critiques[{i}] contains a final answer line ('**Answer**: \\boxed{{...}}'); "
                "only render_critique may write the final answer"
            )
        judgment = -1 if i == first_error else 1
        blocks.append(f"Step {i + 1}: {body}\n\n\\boxed{{{judgment}}}")
    k = -1 if first_error == -1 else first_error + 1
    blocks.append(f"**Answer**: \\boxed{{{k}}}")
    return "\n\n".join(blocks)
