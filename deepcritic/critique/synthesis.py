r"""Seed critiques for the SFT warm start (``deepcritic synthesize``), as pure functions.

A teacher model writes, for every step of a step-labeled solution up to its first wrong step:

1. an *initial* critique of that step alone (it sees the problem and the whole tagged solution), ending
   with a judgment ``\boxed{1}`` (correct) or ``\boxed{-1}`` (wrong);
2. *in-depth* critiques: the step examined again from another angle, weighing the initial critique;
   several are sampled and the first whose judgment agrees with the label is kept;
3. a *merge* of the two into one deliberate critique of the step, ending with a judgment that must agree
   with the label.

The merged critiques (judgment line removed) are assembled by :func:`render_critique` into the critic's
output format (one block per step, ``**Answer**: \boxed{k}`` last). Only the steps up to the first wrong
one are critiqued, because the protocol stops there.

The mix: every solution with a wrong step, every correct solution whose initial critiques erred (a
judgment that disagrees with the label, or none at all), and ``extra_correct`` other correct solutions
picked by a seeded hash of their ids (stable across reruns and input order). A solution is kept when
every critiqued step got an agreeing in-depth critique and an agreeing, well-formed merge.

Teacher outputs are untrusted text: nothing here raises on them; they yield ``None`` instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from deepcritic.critique.parse import FINAL_LINE_RE
from deepcritic.critique.prompt import tag_steps
from deepcritic.critique.render import render_critique
from deepcritic.critique.templates import KINDS, fill

STAGES: tuple[str, ...] = ("initial", "in_depth", "merge")

# A judgment box: \boxed{1}, \boxed{+1}, \boxed{-1} (spaces inside the braces allowed). Bounded quantifiers.
_JUDGMENT_RE = re.compile(r"\\boxed[ \t]{0,2}\{[ \t]{0,4}([+-]?)1[ \t]{0,4}\}")

# What may stand before the judgment on its line and be dropped with it: markup and a label such as
# "Judgment:" or "**Verdict**:" (any other text before the box is kept as the end of the critique).
_JUDGMENT_LABEL_RE = re.compile(
    r"[\s*#_>$\\(\[]{0,16}(?:(?:final[ \t]{1,4})?(?:judg(?:e)?ment|verdict|conclusion|answer)"
    r"(?:[ \t]{1,4}for[ \t]{1,4}step[ \t]{0,4}[0-9]{1,6})?)?[\s*_]{0,8}:?[\s*_$\\(\[]{0,16}",
    re.IGNORECASE,
)


# ---------------------------------------------------------------------------------------------------
# Templates and prompts


def stage_messages(
    template: str, problem: str, steps: Sequence[str], step: int, initial: str = "", in_depth: str = ""
) -> list[dict[str, str]]:
    """The teacher's chat prompt for one stage and the 0-based ``step`` (shown 1-based, like the protocol)."""
    content = fill(
        template,
        problem=problem,
        solution=tag_steps(list(steps)),
        step=str(step + 1),
        step_text=steps[step].strip(),
        initial=initial.strip(),
        in_depth=in_depth.strip(),
    )
    return [{"role": "user", "content": content}]


# ---------------------------------------------------------------------------------------------------
# Judgments


def critique_span(label: int, num_steps: int) -> int:
    """How many steps need a critique: up to and including the first wrong one, else all of them."""
    return num_steps if label < 0 else min(label + 1, num_steps)


def expected_judgment(step: int, label: int) -> int:
    """The judgment the label calls for at 0-based ``step``: -1 on the first wrong step, else +1."""
    return -1 if step == label else 1


def _last_line(text: str) -> tuple[list[str], str]:
    lines = text.rstrip().splitlines()
    return (lines[:-1], lines[-1]) if lines else ([], "")


def read_judgment(text: str) -> int | None:
    r"""The step judgment a stage output ends with: the last ``\boxed{±1}`` on its last non-empty line.

    None when the last line has no judgment box (a truncated or off-format output).
    """
    _, last = _last_line(text)
    signs = _JUDGMENT_RE.findall(last)
    return None if not signs else (-1 if signs[-1] == "-" else 1)


def first_agreeing(judgments: Sequence[int | None], expected: int) -> int | None:
    """Index of the first judgment equal to ``expected`` (the label's), or None."""
    return next((i for i, j in enumerate(judgments) if j == expected), None)


def critique_body(text: str) -> str | None:
    r"""The critique without its final judgment, ready for :func:`render_critique`; None if unusable.

    The judgment box on the last line is removed with a bare label before it ("Judgment:"); other text
    on that line is kept. Unusable (None): no final judgment, an empty body, a body that still holds a
    ``\boxed{±1}`` (it would parse as an extra step judgment) or a final-answer line (it would change the
    verdict).
    """
    head, last = _last_line(text)
    matches = list(_JUDGMENT_RE.finditer(last))
    if not matches:
        return None
    before = last[: matches[-1].start()]
    if _JUDGMENT_LABEL_RE.fullmatch(before):
        before = ""
    body = "\n".join([*head, before.rstrip()]).strip()
    if not body or _JUDGMENT_RE.search(body):
        return None
    if any(FINAL_LINE_RE.fullmatch(line) for line in body.splitlines()):
        return None
    return body


def assemble(bodies: Sequence[str], label: int) -> str | None:
    """The critic's target text: the per-step bodies rendered in the protocol's format; None if they cannot be."""
    try:
        return render_critique(list(bodies), label)
    except (ValueError, TypeError):
        return None


# ---------------------------------------------------------------------------------------------------
# The mix


@dataclass(frozen=True)
class Candidate:
    """A record after stage 1: its id, label, and whether any initial judgment missed the label."""

    id: str
    label: int
    initial_erred: bool


def initial_erred(judgments: Sequence[int | None], label: int) -> bool:
    """Whether the initial critiques of the critiqued steps erred: a judgment that disagrees or is missing."""
    return any(j != expected_judgment(i, label) for i, j in enumerate(judgments))


def stable_rank(record_id: str, seed: int) -> str:
    """A seeded, order-independent sort key for a record id (so a rerun picks the same records)."""
    return hashlib.sha256(f"{seed}\0{record_id}".encode()).hexdigest()


def mix(candidates: Iterable[Candidate], extra_correct: int, seed: int) -> dict[str, str]:
    """Which records go on to stages 2 and 3, and why: ``{id: reason}`` in input order.

    Reasons: ``wrong`` (a step is wrong: always included), ``correct_erred`` (correct solution, an initial
    judgment missed), ``correct_extra`` (one of ``extra_correct`` other correct solutions, chosen by
    :func:`stable_rank`; -1 takes them all).
    """
    candidates = list(candidates)
    others = [c.id for c in candidates if c.label < 0 and not c.initial_erred]
    quota = len(others) if extra_correct < 0 else extra_correct
    extra = set(sorted(others, key=lambda rid: stable_rank(rid, seed))[:quota])
    reasons: dict[str, str] = {}
    for c in candidates:
        if c.label >= 0:
            reasons[c.id] = "wrong"
        elif c.initial_erred:
            reasons[c.id] = "correct_erred"
        elif c.id in extra:
            reasons[c.id] = "correct_extra"
    return reasons


# ---------------------------------------------------------------------------------------------------
# Stage results -> outcome


def outcome(span: int, in_depth: Sequence[dict[str, Any] | None], merge: Sequence[dict[str, Any] | None]) -> str:
    """Why a selected record is kept or dropped, from its in-depth and merge rows (one per critiqued step).

    ``kept``; ``in_depth_disagreed`` (some step has no in-depth critique agreeing with the label);
    ``merge_rejected`` (some step's merges all disagreed or were malformed); ``incomplete`` (rows missing:
    requests that failed, retried by the next run).
    """
    if len(in_depth) < span or any(r is None for r in in_depth):
        return "incomplete"
    if any(r["chosen"] is None for r in in_depth):
        return "in_depth_disagreed"
    if len(merge) < span or any(r is None for r in merge):
        return "incomplete"
    if any(r["chosen"] is None for r in merge):
        return "merge_rejected"
    return "kept"


def judged_sample(text: str, finish_reason: str | None = None, num_tokens: int | None = None) -> dict[str, Any]:
    """One stage sample as stored: its text, the judgment it ends with (or None), generation facts."""
    return {"text": text, "judgment": read_judgment(text), "finish_reason": finish_reason, "num_tokens": num_tokens}


def choose(samples: Sequence[dict[str, Any]], expected: int, need_body: bool = False) -> int | None:
    """The first sample whose judgment is ``expected`` (and, with ``need_body``, whose body is usable)."""
    for i, s in enumerate(samples):
        if s["judgment"] == expected and (not need_body or critique_body(s["text"]) is not None):
            return i
    return None


def stage_stats(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Teacher agreement with the labels over one stage's rows (each with ``samples``, ``expected``, ``chosen``).

    ``steps``; ``samples``; ``parsed`` (samples ending in a judgment); ``agreeing`` (samples whose judgment
    equals the label's); ``first_sample_agreement`` (share of steps whose first sample agrees);
    ``steps_kept`` (steps with a chosen sample); ``parse_rate``, ``agreement`` (over all samples).
    """
    rows = list(rows)
    samples = [(s, r["expected"]) for r in rows for s in r["samples"]]
    parsed = sum(s["judgment"] is not None for s, _ in samples)
    agreeing = sum(s["judgment"] == e for s, e in samples)
    first = sum(bool(r["samples"]) and r["samples"][0]["judgment"] == r["expected"] for r in rows)
    return {
        "steps": len(rows),
        "samples": len(samples),
        "parsed": parsed,
        "agreeing": agreeing,
        "steps_kept": sum(r["chosen"] is not None for r in rows),
        "parse_rate": _ratio(parsed, len(samples)),
        "agreement": _ratio(agreeing, len(samples)),
        "first_sample_agreement": _ratio(first, len(rows)),
    }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def template_info(stage_or_name: str, path: str | None, text: str) -> dict[str, str]:
    """Provenance of a prompt template: where it came from and the SHA-256 of its text."""
    file = KINDS[stage_or_name].file if stage_or_name in KINDS else stage_or_name
    return {
        "path": path or f"deepcritic/critique/templates/{file}",
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }
