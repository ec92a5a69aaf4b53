"""How a config field is declared and checked: help, bounds and choices beside the field; one generic checker.

Every field of every config dataclass is declared with :func:`option`::

    n: int = option(1, "completions per prompt", ge=1)
    backend: str = option("vllm", "generation backend", choices=("vllm", "openai", "hf"))
    vllm: VLLMEngineConfig = option(VLLMEngineConfig, "the engine", when=lambda r: r.backend == "vllm")

:func:`check` walks a config object and reports every value outside its declared bounds or choices, then runs
the cross-field checks registered for its type with :func:`cross_check` (rules that involve several fields,
e.g. "a ZeRO-3-only option needs stage 3"). Nothing raises: every problem is collected, so that the user
sees them all at once, each naming the key, the value and the fix.

Defaults: the value given to :func:`option` is the field's one default. A nested section's default is always
its own class's defaults (pass the class); what a recipe changes lives in its YAML file under ``conf/``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from deepcritic.errors import Problem

CrossCheck = Callable[[Any, str], list[Problem]]
_CROSS_CHECKS: dict[type, list[CrossCheck]] = {}


def option(
    default: Any,
    help: str,
    *,
    choices: Sequence[Any] | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    fix: str | None = None,
    when: Callable[[Any], bool] | None = None,
    entries: type | None = None,
) -> Any:
    """A dataclass field with its help and checks.

    ``default``: the value, or a class / zero-argument callable for a mutable default (a nested section, a
    list, a dict). ``choices``: the allowed values (for a list: every element, and it must not be empty).
    ``ge`` / ``gt`` / ``le`` / ``lt``: bounds (``None`` values are never checked: null means "not set").
    ``fix``: the message when a bound or choice fails, instead of the generated one. ``when``: check this
    field (and search this section) only when ``when(parent)`` holds, e.g. the vLLM section only when the
    backend is vLLM. ``entries``: the field is a dict of named sections of this type (``benchmarks``).
    """
    metadata = {
        "help": help,
        "choices": tuple(choices) if choices is not None else None,
        "ge": ge,
        "gt": gt,
        "le": le,
        "lt": lt,
        "fix": fix,
        "when": when,
        "entries": entries,
    }
    if callable(default) or isinstance(default, (list, dict)):
        factory = default if callable(default) else _copier(default)
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _copier(value: list | dict) -> Callable[[], Any]:
    return lambda: type(value)(value)


def cross_check(cls: type) -> Callable[[CrossCheck], CrossCheck]:
    """Register ``fn(obj, key) -> problems`` as a check across the fields of ``cls`` (and its subclasses)."""

    def register(fn: CrossCheck) -> CrossCheck:
        _CROSS_CHECKS.setdefault(cls, []).append(fn)
        return fn

    return register


def key_of(prefix: str, name: str) -> str:
    """``prefix.name``, or ``name`` at the top level."""
    return f"{prefix}.{name}" if prefix else name


def check(obj: Any, prefix: str = "") -> list[Problem]:
    """Every problem in the config object ``obj`` (a dataclass instance) and its sections, in field order.

    Field checks come first, section by section (depth first); then the cross-field checks of ``obj``'s
    type and its base classes. ``prefix`` is ``obj``'s own key (``""`` at the top).
    """
    problems: list[Problem] = []
    for f in dataclasses.fields(obj):
        when = f.metadata.get("when")
        if when is not None and not when(obj):
            continue
        problems += _check_value(getattr(obj, f.name), key_of(prefix, f.name), f.metadata)
    for cls in type(obj).__mro__:
        for fn in _CROSS_CHECKS.get(cls, []):
            problems += fn(obj, prefix)
    return problems


def _check_value(value: Any, key: str, meta: Any) -> list[Problem]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return check(value, key)
    if meta.get("entries") is not None and isinstance(value, dict):
        return check_entries(value, meta["entries"], key)
    return bound_problems(value, key, meta)


def bound_problems(value: Any, key: str, meta: Any) -> list[Problem]:
    """The declared choices and bounds of one field (``meta``: the field's metadata) applied to ``value``."""
    if value is None or not meta:
        return []
    choices = meta.get("choices")
    if choices is not None:
        if isinstance(value, (list, tuple)):
            if not value or any(v not in choices for v in value):
                return [Problem(key, list(value), meta.get("fix") or f"a non-empty subset of {list(choices)}")]
        elif value not in choices:
            return [Problem(key, value, meta.get("fix") or f"use one of {', '.join(map(str, choices))}")]
        return []
    bounds = {k: meta.get(k) for k in ("ge", "gt", "le", "lt") if meta.get(k) is not None}
    if not bounds or not isinstance(value, (int, float)) or isinstance(value, bool):
        return []
    ok = all({"ge": value >= b, "gt": value > b, "le": value <= b, "lt": value < b}[k] for k, b in bounds.items())
    return [] if ok else [Problem(key, value, meta.get("fix") or describe_bounds(bounds))]


def describe_bounds(bounds: dict[str, float]) -> str:
    """The fix for a value outside ``bounds``: "use at least 1", "a fraction in [0, 1)", ..."""
    low = ("[", bounds["ge"]) if "ge" in bounds else ("(", bounds["gt"]) if "gt" in bounds else None
    high = ("]", bounds["le"]) if "le" in bounds else (")", bounds["lt"]) if "lt" in bounds else None
    if low and high:
        kind = "a fraction" if (low[1], high[1]) == (0, 1) else "a value"
        return f"{kind} in {low[0]}{_num(low[1])}, {_num(high[1])}{high[0]}"
    if low:
        return f"use at least {_num(low[1])}" if low[0] == "[" else f"use a value above {_num(low[1])}"
    assert high is not None
    return f"use at most {_num(high[1])}" if high[0] == "]" else f"use a value below {_num(high[1])}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def as_section(entry: Any, cls: type, key: str) -> tuple[Any, list[Problem]]:
    """``entry`` (a mapping, e.g. one benchmark) as the dataclass ``cls``: ``(instance, [])``, or
    ``(None, problems)`` naming the unknown key or mistyped value."""
    if isinstance(entry, cls):
        return entry, []
    if not isinstance(entry, dict):
        return None, [
            Problem(key, entry, f"a mapping of {cls.__name__} fields, e.g. {{source: contract, path: x.jsonl}}")
        ]
    from omegaconf import OmegaConf

    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls), entry)), []
    except Exception as exc:  # omegaconf's ValidationError / ConfigKeyError: report it as a config problem
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, [Problem(key, entry, f"not a valid {cls.__name__} ({reason}); see deepcritic/config/")]


def check_entries(entries: dict[str, Any], cls: type, key: str) -> list[Problem]:
    """Every entry of a dict of named sections, read as ``cls`` and checked."""
    problems: list[Problem] = []
    for name, entry in entries.items():
        obj, bad = as_section(entry, cls, f"{key}.{name}")
        problems += bad if obj is None else check(obj, f"{key}.{name}")
    return problems
