"""Metrics of saved critic outputs under a protocol: what ``eval`` reports and ``score`` re-computes.

Rows are prediction rows (``label``, ``num_steps``, ``samples`` with ``text``): every sample is read again under
the protocol, so one predictions file can be scored under any protocol without the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from typing import Any

from deepcritic.data.sources.mapped import MISSING, dig, label_from
from deepcritic.eval.critic import read_sample
from deepcritic.eval.metrics import benchmark_metrics, critic_f1, mr_gsm8k_tasks
from deepcritic.eval.protocols import Decoding, Protocol

NO_ERROR_MARKERS = ("N/A", "NA", "")  # MR-GSM8K's "no error step" (and an empty field)
DECODING_KEYS = tuple(f.name for f in fields(Decoding) if f.name != "seed")


def read_rows(rows: Sequence[Mapping[str, Any]], protocol: Protocol) -> list[dict[str, Any]]:
    """The rows with every sample (re-)read under ``protocol`` and the vote recomputed."""
    out = []
    for row in rows:
        n = row.get("num_steps")
        samples = [{**s, **read_sample(s.get("text") or "", n, protocol)} for s in row["samples"]]
        out.append({**row, "samples": samples, "majority": protocol.vote([s["text"] or "" for s in samples], n)})
    return out


def protocol_metrics(read: Sequence[Mapping[str, Any]], protocol: Protocol, ks: Sequence[int]) -> dict[str, Any]:
    """:func:`benchmark_metrics` of rows read under ``protocol`` (:func:`read_rows`: its reading, its vote, the
    strict reading beside), ``vote``: :func:`critic_f1` of the protocol's vote over every sample of each record,
    plus MR-GSM8K's tasks under the ``mr_gsm8k`` protocol."""
    metrics = benchmark_metrics(read, ks, vote=protocol.vote)
    # the protocol's vote over ALL of each record's samples (official voting files may hold different counts)
    metrics["vote"] = critic_f1([r["majority"] for r in read], [int(r["label"]) for r in read])
    if protocol.reader == "mr_gsm8k":
        metrics["mr_gsm8k"] = mr_gsm8k_tasks(read)
    return metrics


def decoding_report(protocol: Protocol, sampling: Any, model: str) -> dict[str, Any]:
    """The decoding a run used, beside the protocol's official decoding for this model: ``matches`` names the
    official variant it equals (``single`` / ``voting``), or is None with ``differs`` listing each difference
    from the closer variant (the one with the same ``n`` when there is one)."""
    used = {key: getattr(sampling, key) for key in (*DECODING_KEYS, "seed")}
    variants = {name: protocol.official_decoding(model, voting=name == "voting") for name in ("single", "voting")}
    for name, official in variants.items():
        if all(used[key] == getattr(official, key) for key in DECODING_KEYS):
            return {"used": used, "matches": name, "official": asdict(official), "differs": {}}
    closer = variants["voting"] if used["n"] > 1 else variants["single"]
    differs = {key: {"used": used[key], "official": getattr(closer, key)} for key in DECODING_KEYS}
    differs = {k: v for k, v in differs.items() if v["used"] != v["official"]}
    return {"used": used, "matches": None, "official": asdict(closer), "differs": differs}


def output_row(obj: Any, where: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """One saved output as a prediction row: our predictions rows as they are; any other record by its fields
    (``text``, ``label``, ``label_base``, ``steps``, ``id``: see ``ScoreConfig``). Raises ValueError naming what
    is missing or malformed."""
    if not isinstance(obj, Mapping):
        raise ValueError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if isinstance(obj.get("samples"), list):  # deepcritic's own predictions file
        return _own_row(obj, where)
    text, raw_label = dig(obj, fields["text"]), dig(obj, fields["label"])
    missing = [f for f, v in ((fields["text"], text), (fields["label"], raw_label)) if v is MISSING]
    if missing:
        raise ValueError(f"{where}: no field {missing[0]!r} (looking for {fields['text']} and {fields['label']})")
    try:
        label = label_from(raw_label, fields["label_base"], NO_ERROR_MARKERS)
    except ValueError as exc:
        raise ValueError(f"{where}: {fields['label']}: expected {exc}") from None
    texts = [text] if isinstance(text, str) else text
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ValueError(f"{where}: {fields['text']} must be a string or a list of strings")
    steps = _optional(obj, fields["steps"])
    rid = _optional(obj, fields["id"])
    return {
        "id": str(rid) if rid is not None else where,
        "label": label,
        "num_steps": len(steps) if isinstance(steps, list) else None,
        "samples": [{"text": t} for t in texts],
    }


def _own_row(obj: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A row of deepcritic's predictions file, checked: an integer label (-1: no wrong step), a step count or
    null, samples that are objects with a text (or null, a failed request). Raises ValueError otherwise."""
    raw_label = obj.get("label")
    try:
        label = label_from(raw_label, 0, ()) if raw_label is not None else None
    except ValueError:
        label = None
    if label is None:
        raise ValueError(f"{where}: label: expected an integer step index (-1: none), got {raw_label!r}")
    n = obj.get("num_steps")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise ValueError(f"{where}: num_steps: expected a step count or null, got {n!r}")
    for i, sample in enumerate(obj["samples"]):
        if not isinstance(sample, Mapping) or not isinstance(sample.get("text"), (str, type(None))):
            raise ValueError(f"{where}: samples[{i}]: expected an object with a text (a string or null)")
    return {**obj, "label": label}


def _optional(obj: Mapping[str, Any], dotted: str | None) -> Any:
    value = MISSING if dotted is None else dig(obj, dotted)
    return None if value is MISSING else value
