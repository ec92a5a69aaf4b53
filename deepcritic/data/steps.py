"""Splitting a raw solution text into steps (for generated solutions that come as one string).

Order of preference, the first that yields two or more steps wins:

1. explicit step markers at the start of a line, two or more of them: ``Step 3:``, ``**Step 3**:``,
   ``**Step 3:**``, ``## Step 3`` / ``### Step 3: Title`` (any case). The text is split on them and
   the markers dropped; text before the first marker (a preamble) joins the first step, so that step
   numbers stay those the solution wrote;
2. paragraphs separated by blank lines;
3. non-empty lines.

Steps are stripped of surrounding whitespace and never empty; a blank text gives ``[]``. Markers are
only recognized at line starts, so a sentence such as "as shown in Step 2: ..." does not split.
"""

from __future__ import annotations

import re

_MARKER = re.compile(
    r"^[ \t]*(?:"
    r"\#{1,6}[ \t]*(?:\*\*)?Step[ \t]+\d+[ \t]*(?:\*\*)?[ \t]*[:.]?"  # ## Step 3 / ### **Step 3**: ...
    r"|\*\*Step[ \t]+\d+[ \t]*[:.]?[ \t]*\*\*[ \t]*:?"  # **Step 3**: / **Step 3:** / **Step 3**
    r"|\*\*Step[ \t]+\d+[ \t]*[:.](?=[^\n]*\*\*)"  # **Step 3: Title** (closing ** removed below)
    r"|Step[ \t]+\d+[ \t]*:"  # Step 3:
    r")",
    re.IGNORECASE | re.MULTILINE,
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def split_steps(text: str) -> list[str]:
    """Split a solution into step texts (see the module docstring for the rules)."""
    text = text.replace("\r\n", "\n")
    for split in (_by_markers, _by_paragraphs, _by_lines):
        steps = split(text)
        if len(steps) >= 2:
            return steps
    return _by_lines(text)


def _by_markers(text: str) -> list[str]:
    """Split on step markers (needs two or more); the preamble, if any, joins the first step."""
    matches = list(_MARKER.finditer(text))
    if len(matches) < 2:
        return []
    bodies = []
    for match, nxt in zip(matches, matches[1:] + [None]):
        body = text[match.end() : nxt.start() if nxt else len(text)]
        bodies.append(_close_bold_title(match.group(0), body).strip())
    preamble = text[: matches[0].start()].strip()
    if preamble:
        bodies[0] = f"{preamble}\n{bodies[0]}".strip()
    return [b for b in bodies if b]


def _close_bold_title(marker: str, body: str) -> str:
    """Drop the ``**`` closing a bold title opened inside the marker (``**Step 2: Title**``)."""
    if marker.count("**") == 1:
        first, sep, rest = body.partition("\n")
        if first.rstrip().endswith("**"):
            return first.rstrip()[:-2] + sep + rest
    return body


def _by_paragraphs(text: str) -> list[str]:
    return [p.strip() for p in _BLANK_LINE.split(text) if p.strip()]


def _by_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]
