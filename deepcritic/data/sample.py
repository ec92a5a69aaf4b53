"""Evaluation subsets that keep both label classes: a seeded sample stratified by label class.

Taking the first N records of a benchmark is a biased subset (ProcessBench's files are sorted, so the first 8
records of each hold no error-free solution and F1 is undefined). :func:`stratified_sample` draws N records at
random in the proportions of the two classes (records with a wrong step, records without), at least one of each
class when N >= 2 and the class exists, and keeps the records' order. Samples are nested: each class is shuffled
once by the seed and the sample takes a prefix of each, so a larger N only adds records (a rerun with a larger
``limit`` in the same run directory resumes).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from deepcritic.data.records import NO_ERROR, StepRecord


def stratified_sample(records: Sequence[StepRecord], n: int | None, seed: int) -> tuple[list[StepRecord], dict]:
    """(the sample, a description of how it was drawn). ``n`` None or >= len(records): every record."""
    errors = [i for i, r in enumerate(records) if r.label != NO_ERROR]
    correct = [i for i, r in enumerate(records) if r.label == NO_ERROR]
    info: dict[str, Any] = {"of": len(records), "n_error_of": len(errors), "n_correct_of": len(correct)}
    if n is None or n >= len(records):
        return list(records), {"how": "all records", **info, "records": len(records)}
    k_error = round(n * len(errors) / len(records))
    if n >= 2 and errors and correct:
        k_error = min(max(k_error, 1), n - 1)
    rng = random.Random(seed)
    rng.shuffle(errors)
    rng.shuffle(correct)
    chosen = sorted(errors[:k_error] + correct[: n - k_error])
    how = f"random sample stratified by label class (seed {seed}), in file order"
    return [records[i] for i in chosen], {"how": how, "seed": seed, **info, "records": n, "n_error": k_error}
