r"""Final answers of generated solutions (pure functions over math-verify; no hand-rolled LaTeX grader).

- :func:`extract_boxed`: the content of the last ``\boxed{...}`` (for display in reports).
- :func:`reference_answer`: a problem's reference final answer (bare, or the last box of a worked solution).
- :func:`gsm8k_reference`: the number after ``####`` in a GSM8K reference solution.
- :func:`parse_answer` / :func:`answers_match` / :func:`is_correct`: math-verify's ``parse`` and
  ``verify`` with a time limit, never raising.
- :func:`vote`: majority vote over answers, grouping equivalent answers (math-verify equivalence).

Time limits: math-verify enforces them with ``signal.alarm``, which only works in the main thread. Off
the main thread the limit is off (a warning is not worth a crash); recipes grade in the main thread.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

logging.getLogger("math_verify").setLevel(logging.ERROR)  # it logs every timeout and unparsable answer

_BOXED = re.compile(r"\\(?:boxed|fbox)\s{0,4}\{")
_GSM8K_FINAL = re.compile(r"####\s*(.+?)\s*$", re.MULTILINE)


def extract_boxed(text: str) -> str | None:
    r"""Content of the LAST ``\boxed{...}`` (or ``\fbox{...}``) in ``text``, braces balanced; None if none.

    An unclosed box (a truncated output) gives None for that box, and the search falls back to an
    earlier closed one.
    """
    for match in reversed(list(_BOXED.finditer(text))):
        depth, start = 1, match.end()
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                return text[start:i].strip()
    return None


def reference_answer(answer: str, mode: str) -> str | None:
    r"""The reference final answer: ``answer`` as given (mode ``answer``), or the content of its last
    ``\boxed{}`` (mode ``boxed``: the column holds a worked solution, as in NuminaMath-CoT); None if absent."""
    if mode == "boxed":
        return extract_boxed(answer)
    return answer.strip() or None


def gsm8k_reference(answer: str) -> str | None:
    """The final answer of a GSM8K reference solution: the text after the last ``####``, commas removed."""
    found = _GSM8K_FINAL.findall(answer or "")
    return found[-1].replace(",", "").strip() if found else None


def _timeouts(seconds: int) -> int | None:
    return seconds if threading.current_thread() is threading.main_thread() else None


def parse_answer(text: str, timeout_s: int = 5) -> list[Any]:
    r"""math-verify's parse of a solution (its last ``\boxed{}``, else its last expression); [] if none.

    Never raises: a parse error or a time-out gives [].
    """
    from math_verify import parse

    try:
        return parse(text or "", parsing_timeout=_timeouts(timeout_s))
    except Exception:  # math-verify is robust, but a malformed model output must never crash a run
        return []


def parse_reference(answer: str, timeout_s: int = 5) -> list[Any]:
    r"""Parse a reference answer given as bare LaTeX (``\frac{1}{2}``, ``18``) by boxing it first."""
    return parse_answer(f"\\boxed{{{answer}}}", timeout_s)


def answers_match(gold: list[Any], pred: list[Any], timeout_s: int = 5) -> bool:
    """math-verify's ``verify(gold, pred)``; False for an empty side, an error or a time-out."""
    from math_verify import verify

    if not gold or not pred:
        return False
    try:
        return bool(verify(gold, pred, timeout_seconds=_timeouts(timeout_s)))
    except Exception:
        return False


def is_correct(solution: str, reference: str, timeout_s: int = 5, boxed_only: bool = False) -> bool:
    r"""Whether a generated solution's final answer equals the reference answer (bare LaTeX).

    ``boxed_only``: the answer is the content of the solution's last ``oxed{}`` and nothing else (a solution
    without one is not correct), as DeepCritic's Monte-Carlo scripts grade; otherwise math-verify's own extraction
    (the last box, else the last expression)."""
    if boxed_only:
        box = extract_boxed(solution)
        pred = parse_reference(box, timeout_s) if box is not None else []
    else:
        pred = parse_answer(solution, timeout_s)
    return answers_match(parse_reference(reference, timeout_s), pred, timeout_s)


@dataclass(frozen=True)
class Vote:
    """Result of :func:`vote`: the winning answer's index in the input (None if nobody voted) and the
    size of each group of equivalent answers, in order of first appearance."""

    winner: int | None
    group_sizes: tuple[int, ...]


def vote(parsed: Sequence[list[Any]], eligible: Sequence[bool] | None = None, timeout_s: int = 5) -> Vote:
    """Majority vote over parsed answers; equivalent answers (math-verify) form one group.

    ``eligible[i]`` False leaves answer i out (e.g. rejected by the critic); empty parses never vote.
    Each answer joins the first earlier group whose first member it matches. The largest group wins;
    ties go to the group that appeared first. ``winner`` is the index of the winning group's first
    member.
    """
    groups: list[list[int]] = []
    for i, answer in enumerate(parsed):
        if not answer or (eligible is not None and not eligible[i]):
            continue
        for group in groups:
            if answers_match(parsed[group[0]], answer, timeout_s):
                group.append(i)
                break
        else:
            groups.append([i])
    if not groups:
        return Vote(None, ())
    best = max(groups, key=len)  # max() keeps the first of equal-sized groups
    return Vote(best[0], tuple(len(g) for g in groups))
