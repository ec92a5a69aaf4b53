"""Looking for secrets in what a run wrote: each value in plain text, base64-encoded, and without its distinctive
prefix (so a value cut or re-encoded around its start is still found)."""

from __future__ import annotations

import base64
from pathlib import Path

MARK = "dcsecret0"  # every test secret holds it: what follows is its "core"


def needles(secrets: dict[str, str]) -> dict[str, bytes]:
    """What to search for, by a name that says which secret and which form."""
    out = {}
    for name, value in secrets.items():
        out[name] = value.encode()
        out[f"{name} (base64)"] = base64.b64encode(value.encode())[:24]
        out[f"{name} (core)"] = value.split(MARK, 1)[1].encode()
    return out


def leaks(root: Path, secrets: dict[str, str]) -> list[str]:
    """``<file>: <needle name>`` for every file under ``root`` (hidden ones too) holding a secret in any form."""
    found = []
    for path in Path(root).rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [
                f"{path.relative_to(root)}: {name}" for name, needle in needles(secrets).items() if needle in data
            ]
    return found


def in_text(text: str, secrets: dict[str, str]) -> list[str]:
    """The needle names found in ``text`` (console output)."""
    data = text.encode()
    return [name for name, needle in needles(secrets).items() if needle in data]
