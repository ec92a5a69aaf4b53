r"""Verdict readers: how each evaluation protocol turns a critic's output into a verdict (pure functions).

A verdict is in the data contract's base (DESIGN.md): the 0-based index of the first wrong step, -1 for "no
step is wrong", None for "no verdict". Each protocol has a *protocol* reader, which reproduces what the
official code of a benchmark does, quirks included, so that our numbers are comparable with published tables;
and a *strict* reader, which accepts only a well-formed final answer, so that a report can show how much of a
score comes from lenient reading.

What the official readers do (facts of their code, reproduced here):

* ProcessBench (``run_eval.py``) and DeepCritic (``eval.py``): take every ``\boxed{...}`` in the output (the
  content runs up to the first ``}``, so ``\boxed{\frac{1}{2}}`` reads as ``\frac{1``), keep the *last* one,
  strip it and apply Python's ``int()``; anything ``int()`` refuses is no verdict. So a critique cut off by
  the token limit is read from its last per-step box (``\boxed{1}``, a DeepCritic "step is correct", reads as
  "step 1 is wrong"), and a critic that ends by boxing a corrected *answer* (``\boxed{42}``) reads as step 42.
  ProcessBench compares the number with the 0-based label; DeepCritic with the label + 1 (1-based steps) and
  -1 with -1.
* Voting (both): the vote counts the boxed *strings* (``"3"`` and ``"03"`` are different votes); unreadable
  samples do not vote; the most common string wins (the first seen among equals), then ``int()``. DeepCritic
  votes only over samples containing ``**Answer**:`` when the model is a DeepCritic model.
* MR-GSM8K (``eval_mr_gsm8k.py``): three regex searches for "Final Judgement: ... First Error Step: ...
  Error Analysis: ..."; if any fails, all three fields are a parse error. The judgement is lowered (and
  ``incorrect`` becomes ``wrong``); a solution counts as judged correct / wrong when ``correct`` / ``wrong`` is a
  *substring* of it. The first error step is the field if it is all digits, the number of ``step N`` for N < 30,
  else nothing, and it matches the gold step as a string.

Regexes are linear on any input or guarded by a substring test, so a huge adversarial output cannot stall
evaluation; no reader raises on a ``str``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from deepcritic.critique import parse_critique

NO_ERROR = -1

_BOX_OPEN = "\\boxed{"
_STRICT_INT_RE = re.compile(r"[+-]?[0-9]{1,9}", re.ASCII)
_LAST_LINE_BOX_RE = re.compile(r"\\boxed\{([^{}]*)\}[ \t$.*_\\)\]]*", re.ASCII)

_MR_FIELDS = ("Final Judgement:", "First Error Step:", "Error Analysis:")
_MR_JUDGEMENT_RE = re.compile(r"Final Judgement:\s*(.*?)\s*First Error Step:", re.DOTALL)
_MR_STEP_RE = re.compile(r"First Error Step:\s*(.*?)\s*Error Analysis:", re.DOTALL)
_MR_STEP_WORDS = {f"step {i}": str(i) for i in range(30)}
_MR_STRICT_STEP_RE = re.compile(r"(?:step[ \t]{0,4})?([0-9]{1,6})", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True)
class Reading:
    """One output read under a protocol.

    verdict: the protocol reader's verdict (contract base), as the official code would score it.
    strict: the strict reader's verdict (contract base).
    vote_key: what the official vote counts for this sample (the raw string the reader saw), or None.
    judgement: MR-GSM8K only: the official normalised "Final Judgement" ("wrong", "correct", or whatever
        text the critic wrote, lowered), None when the fields could not be read.
    """

    verdict: int | None
    strict: int | None
    vote_key: str | None = None
    judgement: str | None = None


def last_box(text: str) -> str | None:
    r"""The official reading: the stripped content of the last ``\boxed{...}`` (up to its first ``}``), or None.

    The same matches as the official ``re.findall(r'\\boxed\{([^}]*)\}', text)[-1]`` (left to right, each
    match ending at the first ``}`` after its ``\boxed{``, the next one searched after it), found with
    ``str.find`` in linear time: the regex is quadratic on an output full of unclosed boxes.
    """
    last, start = None, text.find(_BOX_OPEN)
    while start >= 0:
        end = text.find("}", start + len(_BOX_OPEN))
        if end < 0:  # no "}" after this box, so none after any later one either
            break
        last = text[start + len(_BOX_OPEN) : end]
        start = text.find(_BOX_OPEN, end + 1)
    return None if last is None else last.strip()


def official_int(value: str | None) -> int | None:
    """Python's ``int()`` as the official readers apply it (``" 3"``, ``"+3"``, ``"1_0"`` read; others None)."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def to_contract(k: int | None, base: int) -> int | None:
    """A step number in ``base`` (0 or 1) -> the contract's 0-based verdict; -1 stays -1.

    A number that cannot name a step in that base (below -1; 0 in base 1) is None, which no label matches,
    exactly as the official comparison never matches it. Numbers past the last step are kept (they match
    nothing either, but they are verdicts: the official code counts them as answered).
    """
    if k is None or k < NO_ERROR or (base == 1 and k == 0):
        return None
    return k if k == NO_ERROR else k - base


def strict_box(text: str, base: int, num_steps: int | None) -> int | None:
    r"""The strict reading of a boxed index: the last non-blank line must end the output with one
    ``\boxed{k}``, k a plain integer that names a step in ``base`` (or -1)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    last = lines[-1]
    start = last.rfind(_BOX_OPEN)
    if start < 0:
        return None
    match = _LAST_LINE_BOX_RE.fullmatch(last, start)
    if not match or not _STRICT_INT_RE.fullmatch(match.group(1).strip()):
        return None
    verdict = to_contract(int(match.group(1)), base)
    return verdict if _in_range(verdict, num_steps) else None


def _in_range(verdict: int | None, num_steps: int | None) -> bool:
    return verdict is not None and (num_steps is None or verdict < num_steps)


def read_box(text: str, base: int, num_steps: int | None) -> Reading:
    """ProcessBench / DeepCritic-paper reading: the last box, ``int()``, in ``base``; strict beside it."""
    key = last_box(text)
    strict = parse_critique(text, num_steps).first_error if base == 1 else strict_box(text, base, num_steps)
    return Reading(to_contract(official_int(key), base), strict, key)


def read_final_line(text: str, num_steps: int | None) -> Reading:
    """deepcritic's own protocol: the strict final answer line is both readings (the RL reward's parser)."""
    verdict = parse_critique(text, num_steps).first_error
    return Reading(verdict, verdict, None if verdict is None else str(verdict))


def vote_box(texts: Sequence[str], base: int, only_with: str | None = None) -> int | None:
    """The official vote (ProcessBench ``--use_voting``, DeepCritic): most common boxed string, then ``int()``.

    ``only_with``: keep only samples containing this text (DeepCritic: ``"**Answer**:"``).
    """
    keys = [last_box(t) for t in texts if only_with is None or only_with in t]
    counts = Counter(k for k in keys if k is not None)
    if not counts:
        return None
    return to_contract(official_int(counts.most_common(1)[0][0]), base)


def mr_gsm8k_fields(text: str) -> tuple[str, str, str] | None:
    """(judgement, first error step, error analysis) as the official regexes read them; None on a parse error."""
    if not all(field in text for field in _MR_FIELDS):  # guard: the lazy searches below need all three
        return None
    judgement = _MR_JUDGEMENT_RE.search(text)
    step = _MR_STEP_RE.search(text)
    analysis = re.search(r"Error Analysis:\s*(.*)", text, re.DOTALL)
    if not (judgement and step and analysis):
        return None
    return judgement.group(1), step.group(1), analysis.group(1)


def mr_gsm8k_judgement(raw: str) -> str:
    """The official normalisation: stripped, lowered, ``incorrect`` -> ``wrong``."""
    value = raw.strip().lower()
    return "wrong" if value == "incorrect" else value


def mr_gsm8k_step(raw: str) -> str:
    """The official first-error-step string: digits as written, ``step N`` (N < 30) as N, else ``""``."""
    value = raw.strip()
    if value.isdigit():
        return value
    return _MR_STEP_WORDS.get(value.lower(), "")


def read_mr_gsm8k(text: str, num_steps: int | None) -> Reading:
    """MR-GSM8K reading: the judgement and step fields, official quirks included; strict beside it.

    verdict: the named step (1-based in the output) when the judgement contains ``wrong`` and the step is a
    canonical number >= 1 (``"03"`` never matches the official string comparison, so it is None); -1 when the
    judgement contains ``correct`` (and not ``wrong``); None otherwise.
    """
    fields = mr_gsm8k_fields(text)
    if fields is None:
        return Reading(None, None)
    judgement = mr_gsm8k_judgement(fields[0])
    step = mr_gsm8k_step(fields[1])
    verdict: int | None = None
    if "wrong" in judgement:
        verdict = to_contract(int(step), 1) if step.isascii() and step.isdigit() and str(int(step)) == step else None
    elif "correct" in judgement:
        verdict = NO_ERROR
    return Reading(verdict, _strict_mr_gsm8k(fields, num_steps), step or None, judgement)


def _strict_mr_gsm8k(fields: tuple[str, str, str], num_steps: int | None) -> int | None:
    """Strict: the judgement is exactly correct / wrong / incorrect (markdown emphasis aside); a wrong one names
    a step in range as ``N`` or ``Step N``; a correct one gives -1."""
    judgement = fields[0].strip().strip("*_").strip().lower()
    if judgement == "correct":
        return NO_ERROR
    if judgement not in ("wrong", "incorrect"):
        return None
    match = _MR_STRICT_STEP_RE.fullmatch(fields[1].strip().strip("*_").strip())
    verdict = to_contract(int(match.group(1)), 1) if match else None
    return verdict if _in_range(verdict, num_steps) and verdict != NO_ERROR else None
