"""PRM800K raw label records (openai/prm800k ``phase1_*.jsonl`` / ``phase2_*.jsonl``) -> data contract.

Schema in short: ``question.problem``, ``question.ground_truth_answer``, ``question.pre_generated_steps``
(phase 2 only), ``label.steps[]`` each with ``completions[]`` (``text``, ``rating`` in {-1, 0, 1} or
null), ``chosen_completion`` (index or null) and ``human_completion`` (object or null), and
``label.finish_reason`` in {found_error, solution, bad_problem, give_up}.

Rules (a step rated -1 is wrong; 0 and 1 are not; a null rating is not wrong). A record's label is the first
index of its steps rated -1, else -1.

- Left out and counted, not errors: ``finish_reason`` ``bad_problem`` or ``give_up`` (counted as
  ``"prm800k finish_reason=<reason>"``), ``label.steps`` null (``"prm800k label.steps=null"``), and a record of
  another phase than ``data.prm800k.phase`` (``"prm800k phase=<n> (data.prm800k.phase=<m>)"``; 2 by default, the
  phase DeepCritic trains and evaluates on).
- Phase 2 (``question.pre_generated_steps`` present): the steps are ``pre_generated_steps``; the rating
  of step i is that of ``completions[0]`` of labeled step i (the pre-generated step itself). Labelers stop at
  the first error, so later steps are unrated. One record per labeling.
- Phase 1 (no pre-generated steps): the labeler walked a path, rating several candidate completions at each
  step. At step i: ``chosen_completion`` not null -> that completion continues the path; else
  ``human_completion`` not null -> the labeler's own text continues it (unrated: not wrong); else labeling
  ended here -> the first completion rated -1, if any, is the path's last step. Records:

  * the *path* record: the walked path (``meta.kind = "path"``, the id of the labeling);
  * with ``data.prm800k.siblings`` (default on), one *sibling* record per other rated completion at each step
    of the path: the path's first i steps, then that completion (``meta.kind = "sibling"``, ``meta.step = i``,
    ``meta.completion = j``, id ``<labeling id>-<i>.<j>``). Its label is i when it is rated -1 (given a
    prefix with no wrong step), else the prefix's. This keeps the -1 ratings that the path alone drops: most
    phase-1 errors are siblings, since labelers continue with a completion that is not wrong.
- Steps the labeler wrote (``human_completion``) are marked: ``meta["human_steps"]`` lists their indices in the
  record's steps. ``data.prm800k.human_steps`` decides what such a record becomes: ``keep`` (the default),
  ``drop`` (left out and counted as ``"prm800k human-written step"``; the siblings before the human step stay)
  or ``reject`` (a bad record: the run stops, or with ``data.on_error=skip`` the labeling is skipped and written
  to the rejects file).
- ``finish_reason`` ``found_error`` with no step rated -1 on the path is a bad record, not a silent "no wrong
  step" label.
- ``answer`` is ``question.ground_truth_answer``; ``meta`` holds ``phase``, ``labeler``, ``timestamp``,
  ``generation``, ``finish_reason``, ``ratings`` (one per step: phase 1, of the record's steps; phase 2, per
  labeled step), ``human_steps`` and ``kind``. The labeling id is ``"prm800k-" + sha1(labeler|timestamp|problem)
  [:16]``: stable across runs and files. ``source`` is ``prm800k/phase1`` or ``prm800k/phase2`` unless
  ``data.name`` sets one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from deepcritic.data.sources import Converted, FieldProblem, Filtered, require_object

SKIPPED_FINISH = ("bad_problem", "give_up")
HUMAN_STEPS = ("keep", "drop", "reject")
RATINGS = (-1, 0, 1, None)
WRONG = -1
HUMAN_DROPPED = "prm800k human-written step"


@dataclass
class Walk:
    """One record's steps as a PRM800K labeling gives them: texts, ratings, indices of human-written steps,
    and for a phase-1 sibling where it branches off the path (``(step, completion)``)."""

    texts: list[str] = field(default_factory=list)
    ratings: list[int | None] = field(default_factory=list)
    human: list[int] = field(default_factory=list)
    branch: tuple[int, int] | None = None

    def extended(self, text: str, rating: int | None, human: bool = False) -> Walk:
        return Walk(
            [*self.texts, text], [*self.ratings, rating], [*self.human, len(self.texts)] if human else self.human
        )

    @property
    def label(self) -> int:
        return self.ratings.index(WRONG) if WRONG in self.ratings else -1


def convert_prm800k(
    obj: Any,
    index: int,
    *,
    source: str | None = None,
    human_steps: str = "keep",
    phase: int | None = None,
    siblings: bool = True,
) -> Converted:
    """One raw PRM800K labeling -> its records (phase 1: the path and its siblings), or :class:`Filtered`
    (see the module rules). ``phase`` None keeps both phases."""
    obj = require_object(obj)
    label = _field(obj, "label", dict, "an object with steps and finish_reason")
    question = _field(obj, "question", dict, "an object with problem and ground_truth_answer")
    finish = label.get("finish_reason")
    if finish in SKIPPED_FINISH:
        return Filtered(f"prm800k finish_reason={finish}")
    if label.get("steps") is None:
        return Filtered("prm800k label.steps=null")
    steps = _field(label, "steps", list, "a list of labeled steps", prefix="label.")
    pre = question.get("pre_generated_steps")
    found = 1 if pre is None else 2
    if phase is not None and found != phase:
        return Filtered(f"prm800k phase={found} (data.prm800k.phase={phase})")
    if found == 2:
        walks = [_phase2(pre, steps)]
    else:
        path, others = _phase1(steps)
        walks = [path, *(others if siblings else [])]
    if finish == "found_error" and WRONG not in walks[0].ratings:
        raise FieldProblem(
            "found_error without a wrong step",
            "label.finish_reason",
            "a step rated -1 on the labeled path when finish_reason is found_error",
            finish,
        )
    if human_steps == "reject" and walks[0].human:
        raise FieldProblem(
            "human-written step", f"label.steps[{walks[0].human[0]}].human_completion", "a model step", "text"
        )
    base = _stable_id(obj.get("labeler"), obj.get("timestamp"), question.get("problem"))
    meta = {
        "phase": found,
        "labeler": obj.get("labeler"),
        "timestamp": obj.get("timestamp"),
        "generation": obj.get("generation"),
        "finish_reason": finish,
    }
    out: list[dict | Filtered] = []
    for walk in walks:
        if walk.human and human_steps == "drop":
            out.append(Filtered(HUMAN_DROPPED))
            continue
        out.append(_record(walk, base, source or f"prm800k/phase{found}", question, meta))
    return out


def _record(walk: Walk, base: str, source: str, question: dict, meta: dict) -> dict:
    """The contract dict of one walk (the path: the labeling's id; a sibling: ``<id>-<step>.<completion>``)."""
    kind = (
        {"kind": "path"}
        if walk.branch is None
        else {"kind": "sibling", "step": walk.branch[0], "completion": walk.branch[1]}
    )
    suffix = "" if walk.branch is None else f"-{walk.branch[0]}.{walk.branch[1]}"
    return {
        "id": base + suffix,
        "source": source,
        "problem": question.get("problem"),
        "steps": walk.texts,
        "label": walk.label,
        "answer": question.get("ground_truth_answer"),
        "meta": {**meta, "ratings": walk.ratings, "human_steps": walk.human, **kind},
    }


def _phase2(pre: Any, steps: list) -> Walk:
    """Pre-generated steps, and the rating of each labeled one (its ``completions[0]``)."""
    if not isinstance(pre, list):
        raise FieldProblem("wrong type", "question.pre_generated_steps", "a list of step texts", pre)
    ratings = []
    for i, step in enumerate(steps):
        completions = _completions(step, i)
        ratings.append(_completion(completions[0], f"label.steps[{i}].completions[0]")[1] if completions else None)
    return Walk(list(pre), ratings, [])


def _phase1(steps: list) -> tuple[Walk, list[Walk]]:
    """Walk the labeler's path (chosen completion, else human completion, else the first -1 and stop); beside
    it, every other rated completion of each step as a sibling walk (the path's prefix + that completion)."""
    path = Walk()
    siblings: list[Walk] = []
    for i, step in enumerate(steps):
        rated = [
            (j, *_completion(c, f"label.steps[{i}].completions[{j}]")) for j, c in enumerate(_completions(step, i))
        ]
        chosen, human = step.get("chosen_completion"), step.get("human_completion")
        ended = chosen is None and human is None
        if chosen is not None:
            _chosen(rated, chosen, i)
            nxt = path.extended(rated[chosen][1], rated[chosen][2])
        elif human is not None:
            text, _ = _completion(human, f"label.steps[{i}].human_completion")
            nxt = path.extended(text, None, human=True)  # a human-written step is not rated; it is not wrong
        else:  # labeling ended here: the first completion rated -1, if any, is the path's last step
            chosen = next((j for j, _, rating in rated if rating == WRONG), None)
            nxt = path.extended(rated[chosen][1], WRONG) if chosen is not None else path
        for j, text, rating in rated:
            if j != chosen and rating is not None:
                sibling = path.extended(text, rating)
                sibling.branch = (i, j)
                siblings.append(sibling)
        path = nxt
        if ended:
            break
    return path, siblings


def _completions(step: Any, i: int) -> list:
    """A labeled step's completions ([] when null)."""
    if not isinstance(step, dict):
        raise FieldProblem("wrong type", f"label.steps[{i}]", "an object with completions", step)
    completions = step.get("completions")
    if completions is None:
        return []
    if not isinstance(completions, list):
        raise FieldProblem("wrong type", f"label.steps[{i}].completions", "a list or null", completions)
    return completions


def _chosen(completions: list, chosen: Any, i: int) -> None:
    """Check that ``chosen_completion`` is an index into the step's completions."""
    if isinstance(chosen, bool) or not isinstance(chosen, int) or not 0 <= chosen < len(completions):
        raise FieldProblem(
            "wrong type",
            f"label.steps[{i}].chosen_completion",
            f"null or an index into completions (0..{len(completions) - 1})",
            chosen,
        )


def _completion(completion: Any, where: str) -> tuple[str, int | None]:
    """(text, rating) of a completion, checked: text a string, rating -1, 0, 1 or null."""
    if not isinstance(completion, dict):
        raise FieldProblem("wrong type", where, "an object with text and rating", completion)
    text, rating = completion.get("text"), completion.get("rating")
    if not isinstance(text, str):
        raise FieldProblem("wrong type", f"{where}.text", "a string", text)
    if isinstance(rating, bool) or rating not in RATINGS:
        raise FieldProblem("wrong type", f"{where}.rating", "-1, 0, 1 or null", rating)
    return text, rating


def _field(obj: dict, name: str, kind: type, expected: str, prefix: str = "") -> Any:
    """``obj[name]`` checked to be a ``kind``."""
    if name not in obj:
        raise FieldProblem("missing field", prefix + name, f"{expected} (field is missing)")
    value = obj[name]
    if not isinstance(value, kind):
        raise FieldProblem("wrong type", prefix + name, expected, value)
    return value


def _stable_id(labeler: Any, timestamp: Any, problem: Any) -> str:
    """``prm800k-`` + the first 16 hex digits of sha1(labeler|timestamp|problem)."""
    key = f"{labeler}|{timestamp}|{problem}".encode()
    return "prm800k-" + hashlib.sha1(key).hexdigest()[:16]
