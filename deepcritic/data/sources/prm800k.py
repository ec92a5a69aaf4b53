"""PRM800K raw label records (openai/prm800k ``phase1_*.jsonl`` / ``phase2_*.jsonl``) -> data contract.

Schema in short: ``question.problem``, ``question.ground_truth_answer``, ``question.pre_generated_steps``
(phase 2 only), ``label.steps[]`` each with ``completions[]`` (``text``, ``rating`` in {-1, 0, 1} or
null), ``chosen_completion`` (index or null) and ``human_completion`` (object or null), and
``label.finish_reason`` in {found_error, solution, bad_problem, give_up}.

Rules (a step rated -1 is wrong; 0 and 1 are not; a null rating is not wrong):

- Left out and counted, not errors: ``finish_reason`` ``bad_problem`` or ``give_up`` (counted as
  ``"prm800k finish_reason=<reason>"``), and ``label.steps`` null (``"prm800k label.steps=null"``).
- Phase 2 (``question.pre_generated_steps`` present): the steps are ``pre_generated_steps``; the rating
  of step i is that of ``completions[0]`` of labeled step i (the pre-generated step itself). The label
  is the first i rated -1, else -1 (labelers stop at the first error, so later steps are unrated).
- Phase 1 (no pre-generated steps): the solution is the path the labeler walked. For each labeled
  step: ``chosen_completion`` not null -> that completion; else ``human_completion`` not null -> the
  human's text (its rating is null: not wrong); else labeling ended here -> the first completion rated
  -1, if any, is the last step, and the walk stops. The label is the first path index rated -1, else -1.
- Steps the labeler wrote (``human_completion``) are marked: ``meta["human_steps"]`` lists their path indices.
  ``data.prm800k.human_steps`` decides what such a record becomes: ``keep`` (the default), ``drop`` (left out and
  counted as ``"prm800k human-written step"``) or ``reject`` (a bad record: the run stops, or with
  ``data.on_error=skip`` it is skipped and written to the rejects file).
- ``finish_reason`` ``found_error`` with no step rated -1 on the path is a bad record, not a silent "no wrong
  step" label.
- ``answer`` is ``question.ground_truth_answer``; ``meta`` holds ``phase``, ``labeler``, ``timestamp``,
  ``generation``, ``finish_reason``, ``ratings`` (one per step of the path; phase 2: per labeled
  step) and ``human_steps``. ``id`` is ``"prm800k-" + sha1(labeler|timestamp|problem)[:16]``: stable across
  runs and files.
  ``source`` is ``prm800k/phase1`` or ``prm800k/phase2`` unless ``data.name`` sets one.
"""

from __future__ import annotations

import hashlib
from typing import Any

from deepcritic.data.sources import Converted, FieldProblem, Filtered, require_object

SKIPPED_FINISH = ("bad_problem", "give_up")
HUMAN_STEPS = ("keep", "drop", "reject")
RATINGS = (-1, 0, 1, None)
WRONG = -1


def convert_prm800k(obj: Any, index: int, *, source: str | None = None, human_steps: str = "keep") -> Converted:
    """One raw PRM800K record -> contract dict, or :class:`Filtered` (see the module rules)."""
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
    phase = 1 if pre is None else 2
    texts, ratings, human = _phase2(pre, steps) if phase == 2 else _phase1(steps)
    if finish == "found_error" and WRONG not in ratings:
        raise FieldProblem(
            "found_error without a wrong step",
            "label.finish_reason",
            "a step rated -1 on the labeled path when finish_reason is found_error",
            finish,
        )
    if human and human_steps != "keep":
        if human_steps == "drop":
            return Filtered("prm800k human-written step")
        raise FieldProblem("human-written step", f"label.steps[{human[0]}].human_completion", "a model step", "text")
    problem = question.get("problem")
    return {
        "id": _stable_id(obj.get("labeler"), obj.get("timestamp"), problem),
        "source": source or f"prm800k/phase{phase}",
        "problem": problem,
        "steps": texts,
        "label": ratings.index(WRONG) if WRONG in ratings else -1,
        "answer": question.get("ground_truth_answer"),
        "meta": {
            "phase": phase,
            "labeler": obj.get("labeler"),
            "timestamp": obj.get("timestamp"),
            "generation": obj.get("generation"),
            "finish_reason": finish,
            "ratings": ratings,
            "human_steps": human,
        },
    }


def _phase2(pre: Any, steps: list) -> tuple[list[str], list[int | None], list[int]]:
    """Pre-generated steps, and the rating of each labeled one (its ``completions[0]``)."""
    if not isinstance(pre, list):
        raise FieldProblem("wrong type", "question.pre_generated_steps", "a list of step texts", pre)
    ratings = []
    for i, step in enumerate(steps):
        completions = _completions(step, i)
        ratings.append(_completion(completions[0], f"label.steps[{i}].completions[0]")[1] if completions else None)
    return list(pre), ratings, []


def _phase1(steps: list) -> tuple[list[str], list[int | None], list[int]]:
    """Walk the labeler's path: chosen completion, else human completion, else the first -1 and stop."""
    texts: list[str] = []
    ratings: list[int | None] = []
    human_steps: list[int] = []
    for i, step in enumerate(steps):
        completions = _completions(step, i)
        chosen, human = step.get("chosen_completion"), step.get("human_completion")
        if chosen is not None:
            text, rating = _completion(_chosen(completions, chosen, i), f"label.steps[{i}].completions[{chosen}]")
        elif human is not None:
            text, _ = _completion(human, f"label.steps[{i}].human_completion")
            rating = None  # a human-written step is not rated; it is not wrong
            human_steps.append(len(texts))
        else:
            wrong = _first_wrong(completions, i)
            if wrong is not None:
                texts.append(wrong)
                ratings.append(WRONG)
            break
        texts.append(text)
        ratings.append(rating)
    return texts, ratings, human_steps


def _first_wrong(completions: list, step: int) -> str | None:
    """Text of the first completion rated -1 at a step where labeling ended, or None."""
    for j, completion in enumerate(completions):
        text, rating = _completion(completion, f"label.steps[{step}].completions[{j}]")
        if rating == WRONG:
            return text
    return None


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


def _chosen(completions: list, chosen: Any, i: int) -> Any:
    """The completion that ``chosen_completion`` points at."""
    if isinstance(chosen, bool) or not isinstance(chosen, int) or not 0 <= chosen < len(completions):
        raise FieldProblem(
            "wrong type",
            f"label.steps[{i}].chosen_completion",
            f"null or an index into completions (0..{len(completions) - 1})",
            chosen,
        )
    return completions[chosen]


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
