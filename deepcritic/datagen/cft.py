"""Critique Fine-Tuning samples (``deepcritic cft-data``), as pure functions over texts.

The teacher critiques a candidate solution and concludes right or wrong, then writes ``[END]`` (the
CFT release's critique request asks for ``Conclusion: right/wrong [END]``, and its evaluation stops at
``[END]``). :func:`read_conclusion` reads the verdict the way teachers actually write it (the variants of
the WebInstruct-CFT outputs: markdown, "correct" / "incorrect", "Conclusion: The solution is right.", text
after the conclusion, the other end markers); :func:`normalized_critique` writes it back the way the
release's rows end: the critique, a blank line, ``Conclusion: right|wrong [END]``. Rows take the
WebInstruct-CFT form that ``deepcritic cft`` reads (``chat=webinstruct_cft chat.path=<file>``)::

    {"instruction": "<the critique request>",
     "input": "Question:\\n<question>\\n\\nSolution:\\n<candidate solution>",
     "output": "<critique>\\n\\nConclusion: wrong [END]",
     "meta": {...}}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deepcritic.answers import is_correct
from deepcritic.config import CandidatesConfig
from deepcritic.data.readers import iter_file, require_file
from deepcritic.data.records import text_of
from deepcritic.errors import DataError

CONCLUSIONS = ("right", "wrong")

# The end markers the CFT release's evaluation stops at (its math_eval.py stop words); the critique request asks
# for "[END]" after the conclusion. Everything from the first of them on is not part of the critique.
END_MARKERS = ("[END]", "\\[END\\]", "(END)", "**END**")
END = "[END]"

# A conclusion label: "Conclusion:" anywhere (markdown around it allowed), or a line that is only a
# "Conclusion" heading (its verdict on the next line). Bounded quantifiers only: linear time on any input.
_LABEL = re.compile(r"\bconclusion[ \t*_]{0,8}:|^[ \t#>*_]{0,12}conclusion[ \t*_]{0,8}$", re.IGNORECASE | re.MULTILINE)
_SKIP = re.compile(r"[\s*_:#>`]*")  # markup and blank lines between a label and its verdict
_SENTENCE_END = re.compile(r"[.!?;](?=\s|$)")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CLAUSE_CHARS = 400  # a verdict clause is read from at most this many characters after its label

_POLARITY = {"right": "right", "correct": "right", "wrong": "wrong", "incorrect": "wrong"}
_NEGATORS = frozenset({"not", "never"})
_HEDGES = frozenset({"partially", "partly", "mostly", "largely", "almost", "nearly", "somewhat", "half"})
_DETERMINERS = frozenset({"the", "a", "an", "his", "her", "their", "its", "this", "that", "my", "your"})
_AMBIGUOUS = "?"

# A last line that is a verdict sentence without a label ("The solution is wrong."), read when no label has one.
_VERDICT_SENTENCE = re.compile(
    r"(?:(?:so|thus|therefore|hence|overall|finally|in conclusion|in summary|in short)[,:]? )?"
    r"(?:the )?(?:(?:student's|given|provided|proposed|original|above|candidate) )?"
    r"(?:final )?(?:solution|answer|response) (?:is|was) (not )?(?:(?:entirely|completely|fully|totally) )?"
    r"(right|correct|wrong|incorrect)[.!]?"
)
_LINE_CHARS = 200  # a verdict sentence is a short line
# A word before a label that goes with it ("In conclusion:", "Final conclusion:"), after markup is stripped.
_LEAD_IN = re.compile(r"\b(?:in|final|my|overall)$", re.IGNORECASE)
_MARKUP = " \t*_#>"


@dataclass(frozen=True)
class Candidate:
    """A (question, candidate solution) pair; ``correct`` is math-verify's verdict when a reference is known."""

    id: str
    question: str
    solution: str
    reference: str | None = None
    correct: bool | None = None


def read_conclusion(text: str) -> str | None:
    """``"right"`` / ``"wrong"``: the critique's verdict, or None when it has none or contradicts itself.

    What is read: the text before the first end marker (``[END]``, ``\\[END\\]``, ``(END)``, ``**END**``);
    in it, every "Conclusion:" label (any case, markdown around it, or a "Conclusion" heading line) and the
    clause after it, up to the end of its sentence. In a clause, "right" / "correct" mean right and "wrong" /
    "incorrect" wrong; "not" or "-n't" just before turns right into wrong; "the correct answer" (a verdict
    word after a determiner) is no verdict. Every label with a verdict must agree. Without one, a last line
    such as "The solution is wrong." is the verdict. None for hedges and double negations ("partially
    correct", "not wrong"), for "right or wrong", and for labels that disagree: such a critique is unusable
    as a training target, and guessing would put a wrong conclusion into the data.
    """
    reading = _read(text)
    return reading[0] if reading else None


def normalized_critique(text: str) -> str | None:
    """The critique ending the way WebInstruct-CFT rows end: its text before the conclusion, a blank line,
    ``Conclusion: right|wrong [END]`` (whatever followed the conclusion is dropped); None without a verdict or
    without a critique before it."""
    reading = _read(text)
    if reading is None:
        return None
    verdict, start = reading
    before = _before_end(text)[:start]
    line_start = before.rfind("\n") + 1
    prefix = before[line_start:].rstrip(_MARKUP)  # the critique's text before a mid-line label
    lead_in = _LEAD_IN.search(prefix)
    body = (before[:line_start] + (prefix[: lead_in.start()].rstrip(_MARKUP) if lead_in else prefix)).strip()
    return f"{body}\n\nConclusion: {verdict} {END}" if body else None


def _before_end(text: str) -> str:
    """The text before the first end marker (all of it when there is none)."""
    cut = min((i for marker in END_MARKERS if (i := text.find(marker)) >= 0), default=len(text))
    return text[:cut]


def _read(text: str) -> tuple[str, int] | None:
    """(verdict, where its conclusion starts) or None; see :func:`read_conclusion`."""
    body = _before_end(text)
    labels = _labelled_verdicts(body)
    if not labels:
        return _verdict_sentence(body)
    verdicts = {verdict for _, verdict in labels}
    if len(verdicts) != 1 or _AMBIGUOUS in verdicts:
        return None
    return verdicts.pop(), labels[-1][0]


def _labelled_verdicts(body: str) -> list[tuple[int, str]]:
    """(start, verdict) of every conclusion label whose clause holds a verdict (``?``: a contradictory one)."""
    out = []
    for label in _LABEL.finditer(body):
        window = body[label.end() : label.end() + _CLAUSE_CHARS]
        line = window[_SKIP.match(window).end() :].split("\n", 1)[0]
        end = _SENTENCE_END.search(line)
        verdicts = _clause_verdicts(_words(line[: end.start()] if end else line))
        if verdicts:
            out.append((label.start(), verdicts.pop() if len(verdicts) == 1 else _AMBIGUOUS))
    return out


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def _clause_verdicts(words: list[str]) -> set[str]:
    """The verdicts a clause states: right, wrong, ``?`` (hedged, or a negated wrong); attributive uses skipped."""
    out = set()
    for i, word in enumerate(words):
        polarity = _POLARITY.get(word)
        if polarity is None:
            continue
        before = words[max(0, i - 2) : i]
        if before and before[-1] in _DETERMINERS:  # "the correct answer is 4": not a verdict
            continue
        if any(w in _HEDGES for w in before):
            out.add(_AMBIGUOUS)
        elif any(w in _NEGATORS or w.endswith("n't") for w in before):
            out.add("wrong" if polarity == "right" else _AMBIGUOUS)
        else:
            out.add(polarity)
    return out


def _verdict_sentence(body: str) -> tuple[str, int] | None:
    """A last line that states the verdict without a label ("The solution is wrong."), and where it starts."""
    stripped = body.rstrip()
    start = stripped.rfind("\n") + 1
    line = stripped[start:]
    if len(line) > _LINE_CHARS:
        return None
    plain = " ".join(line.replace("*", " ").replace("_", " ").replace("\u2019", "'").lower().split())
    match = _VERDICT_SENTENCE.fullmatch(plain.strip("#> "))
    if match is None:
        return None
    polarity = _POLARITY[match.group(2)]
    if match.group(1):  # "is not correct" is wrong; "is not wrong" is no verdict
        return ("wrong", start) if polarity == "right" else None
    return polarity, start


def agrees(conclusion: str | None, correct: bool | None) -> bool | None:
    """Whether a conclusion matches the candidate's graded correctness (None when either is unknown)."""
    if conclusion is None or correct is None:
        return None
    return (conclusion == "right") == correct


def pick(texts: Sequence[str], correct: bool | None, require_agreement: bool) -> int | None:
    """The first critique with a usable conclusion that, when required and a reference is known, agrees."""
    for i, text in enumerate(texts):
        if normalized_critique(text) is None:
            continue
        if require_agreement and agrees(read_conclusion(text), correct) is False:
            continue
        return i
    return None


def cft_input(question: str, solution: str) -> str:
    """The ``input`` field: the question and the candidate solution, labeled."""
    return f"Question:\n{question.strip()}\n\nSolution:\n{solution.strip()}"


def cft_row(instruction: str, candidate: Candidate, critique: str, meta: dict[str, Any]) -> dict[str, Any]:
    """One WebInstruct-CFT-style row, with provenance in ``meta``."""
    return {
        "instruction": instruction,
        "input": cft_input(candidate.question, candidate.solution),
        "output": critique,
        "meta": {"id": candidate.id, "reference": candidate.reference, "candidate_correct": candidate.correct, **meta},
    }


def read_candidates(cfg: CandidatesConfig, limit: int | None = None, timeout_s: int = 5) -> list[Candidate]:
    """(question, solution) pairs from a local json/jsonl/parquet file; graded when it has an answer column.

    Raises :class:`DataError` naming the file, row and field for a row without a question or a solution.
    """
    path = require_file(cfg.path)
    caps = [c for c in (cfg.limit, limit) if c is not None]
    out: list[Candidate] = []
    for index, (where, row, error) in enumerate(iter_file(path)):
        if caps and len(out) >= min(caps):
            break
        if error is not None:
            raise error
        out.append(_candidate(row, cfg, str(path), where, index, timeout_s))
    if not out:
        raise DataError(str(path), "", None, "at least one (question, solution) row (none found)")
    return out


def _candidate(row: Any, cfg: CandidatesConfig, file: str, where: str, index: int, timeout_s: int) -> Candidate:
    if not isinstance(row, dict):
        raise DataError(file, where, None, f"an object with {cfg.question_field} and {cfg.solution_field}", row)

    def text(name: str) -> str:
        value = row.get(name)
        if not isinstance(value, str) or not value.strip():
            raise DataError(
                file, where, name, "a non-empty string" + ("" if name in row else " (field is missing)"), value
            )
        return value

    question, solution = text(cfg.question_field), text(cfg.solution_field)
    reference = None
    if cfg.answer_field and row.get(cfg.answer_field) is not None:
        reference = text_of(row[cfg.answer_field])  # a string or a finite number: NaN is no answer
        if reference is None:
            raise DataError(file, where, cfg.answer_field, "a string or a number, or null", row[cfg.answer_field])
        reference = reference.strip()
    correct = is_correct(solution, reference, timeout_s) if reference else None
    rid = str(row[cfg.id_field]) if cfg.id_field and row.get(cfg.id_field) is not None else str(index)
    return Candidate(rid, question, solution, reference, correct)
