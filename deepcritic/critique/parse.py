r"""Parsing a critic's output into a verdict: the 0-based index of the first wrong step, or -1.

Parsing is strict (DESIGN.md, "Critique protocol"): the verdict comes from the final answer line
``**Answer**: \boxed{k}`` only. A truncated or malformed critique has *no* verdict; it is never guessed
from the last per-step ``\boxed{-1}``, because rewarding a guess would teach the critic that finishing
its output is optional.

Every regex here is linear-time on any input: quantifiers are bounded, or run over character classes
that cannot overlap with what follows them, so a huge adversarial output cannot stall a reward call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The final answer line, matched against one whole line (re.fullmatch). Accepted, case-insensitively:
#   optional indentation (up to 8 spaces/tabs) and markdown heading ("#".."######"),
#   optional opening emphasis (1-3 of "*" or "_"),
#   "Answer" or "Final Answer",
#   optional closing emphasis before or after the colon, and a REQUIRED colon,
#   optional emphasis and math delimiter ("$", "$$", "\(" or "\[") before the box,
#   \boxed{...} whose content may contain one level of nested braces,
#   then only closing delimiters, emphasis, dots and spaces up to the end of the line.
# So "**Answer**: \boxed{3}", "**Answer:** \boxed{3}", "Answer: \boxed{3}", "### Answer: \boxed{3}",
# "**Final Answer**: $\boxed{3}$." all count; "The answer is \boxed{3}", "**Answer**: 3",
# "**Answer**: step \boxed{3}" and "**Answer**: \boxed{3} or \boxed{4}" do not.
FINAL_LINE_RE = re.compile(
    r"""
    [ \t]{0,8}
    (?:\#{1,6}[ \t]{0,4})?
    (?:[*_]{1,3}[ \t]{0,2})?
    (?:final[ \t]{1,4})?
    answer
    (?:[ \t]{0,2}[*_]{1,3})?
    [ \t]{0,2}:
    (?:[*_]{1,3})?
    [ \t]{0,8}
    (?:[*_]{1,3}[ \t]{0,2})?
    (?:\$\$?|\\\(|\\\[)?
    [ \t]{0,2}
    (?-i:\\boxed)[ \t]{0,2}\{
    (?P<content>(?:[^{}]|\{[^{}]*\})*)
    \}
    [ \t$.*_\\)\]]*
    """,
    re.IGNORECASE | re.VERBOSE | re.ASCII,
)

# A per-step judgment: \boxed{1}, \boxed{+1} or \boxed{-1}, spaces inside the braces allowed.
# Other boxes (\boxed{2}, \boxed{10}, \boxed{\text{yes}}) are not judgments and are skipped.
_JUDGMENT_RE = re.compile(r"\\boxed[ \t]{0,2}\{[ \t]*([+-]?)1[ \t]*\}")

# The verdict inside the final box: a plain integer (at most 9 digits, so int() is always cheap).
_INT_RE = re.compile(r"[+-]?[0-9]{1,9}", re.ASCII)


@dataclass(frozen=True)
class ParsedCritique:
    """What a critic's output says, in the data contract's index base.

    first_error: 0-based index of the first wrong step; -1 when the critic says no step is wrong;
        None when the output has no valid verdict (no final answer line, or one whose box is not a
        usable step number).
    step_judgments: the per-step judgments in order, +1 (correct) or -1 (wrong), read from the
        ``\\boxed{1}`` / ``\\boxed{-1}`` boxes before the final answer line.
    complete: True when the output has a final answer line (even if its box is malformed).
    """

    first_error: int | None
    step_judgments: list[int] = field(default_factory=list)
    complete: bool = False


def _verdict(content: str, num_steps: int | None) -> int | None:
    """0-based verdict from the final box's content, or None if it is not a valid step number."""
    content = content.strip()
    if not _INT_RE.fullmatch(content):
        return None
    k = int(content)
    if k == -1:
        return -1
    if k < 1 or (num_steps is not None and k > num_steps):
        return None
    return k - 1


def parse_critique(text: str, num_steps: int | None = None) -> ParsedCritique:
    r"""Parse a critic's output into a :class:`ParsedCritique`; never raises on a ``str``.

    The verdict is read from the final answer line only (see ``FINAL_LINE_RE`` for the accepted
    spellings: ``**Answer**:``, ``**Answer:**``, ``Answer:``, ``### Answer:``, ``**Final Answer**:``,
    any case, followed on the same line by ``\boxed{k}``). When several lines qualify, the LAST one
    counts. ``\boxed{-1}`` gives -1; ``\boxed{k}`` with k >= 1 gives k - 1; ``\boxed{0}``, k < -1,
    non-integers (``\boxed{2.5}``, ``\boxed{two}``, ``\boxed{}``) and, when ``num_steps`` is given,
    k > num_steps give ``first_error=None`` (with ``complete=True``).

    ``step_judgments`` collects the ±1 boxes on the lines before the last final answer line (all lines
    when there is none), skipping final-answer lines themselves, so a truncated critique still reports
    the judgments it made.
    """
    lines = text.splitlines()
    finals: set[int] = set()
    content = ""
    for i, line in enumerate(lines):
        # Cheap filter first: only lines with a box can be final answer lines or judgments.
        if "\\boxed" in line:
            match = FINAL_LINE_RE.fullmatch(line)
            if match:
                finals.add(i)
                content = match.group("content")
    last_final = max(finals, default=-1)

    judgments: list[int] = []
    for i in range(last_final if last_final >= 0 else len(lines)):
        if i not in finals and "\\boxed" in lines[i]:
            judgments.extend(-1 if sign == "-" else 1 for sign in _JUDGMENT_RE.findall(lines[i]))

    if last_final < 0:
        return ParsedCritique(first_error=None, step_judgments=judgments, complete=False)
    return ParsedCritique(first_error=_verdict(content, num_steps), step_judgments=judgments, complete=True)
