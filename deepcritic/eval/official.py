"""Official files that a protocol needs but deepcritic must not ship: fetched once, pinned by sha256.

An evaluation protocol that reproduces a paper uses that paper's own prompt. The prompt is third-party text, so
the project names it (repository, commit, path, sha256) and reads it at run time: from a path the user gives, or
downloaded once from GitHub into a cache (``$DEEPCRITIC_CACHE``, default ``~/.cache/deepcritic``). Either way the
bytes must hash to the pinned sha256; anything else is refused, since a changed prompt changes the numbers.

Some official prompts live inside code (MR-GSM8K's is an f-string in its evaluation script);
:func:`fstring_template` reads such a prompt out of the script's syntax tree, without running it.
"""

from __future__ import annotations

import ast
import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from deepcritic.errors import DeepcriticError


@dataclass(frozen=True)
class OfficialFile:
    """One file of a public repository, pinned to a commit and to the sha256 of its bytes."""

    repo: str
    commit: str
    path: str
    sha256: str

    @property
    def url(self) -> str:
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.path}"

    @property
    def name(self) -> str:
        return f"{self.repo}@{self.commit[:8]}:{self.path}"


def cache_dir() -> Path:
    """Where downloaded official files are kept: ``$DEEPCRITIC_CACHE/official`` (default ~/.cache/deepcritic)."""
    root = os.environ.get("DEEPCRITIC_CACHE") or Path.home() / ".cache" / "deepcritic"
    return Path(root).expanduser() / "official"


def official_bytes(
    file: OfficialFile,
    path: str | None = None,
    local: str = "protocol.template=<path>",
    own: str = "protocol=deepcritic model.template=<path>",
) -> bytes:
    """The bytes of ``file``: read from ``path`` when given, else from the cache, else downloaded (and cached).

    Raises :class:`DeepcriticError` when the bytes do not hash to ``file.sha256`` (naming both hashes and the
    source), when ``path`` cannot be read, or when the download fails (saying where to put a copy instead).
    ``local`` / ``own``: the overrides the messages suggest (a local copy of the file; one's own prompt instead).
    """
    if path is not None:
        local_path = Path(path).expanduser()
        try:
            data = local_path.read_bytes()
        except OSError as exc:
            raise DeepcriticError(
                f"cannot read {local_path} (the official {file.name}): {exc.strerror or exc}"
            ) from None
        return _checked(file, data, str(local_path), own)
    cached = cache_dir() / file.sha256[:16] / Path(file.path).name
    if cached.is_file():
        return _checked(file, cached.read_bytes(), str(cached), own)
    data = _checked(file, _download(file, cached, local), file.url, own)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(cached.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(cached)
    return data


def _download(file: OfficialFile, cached: Path, local: str) -> bytes:
    try:
        with urllib.request.urlopen(file.url, timeout=30) as resp:  # noqa: S310 (a fixed https URL)
            return resp.read()
    except OSError as exc:
        raise DeepcriticError(
            f"cannot download the official {file.name} from {file.url} ({exc}); download it by hand and pass "
            f"its path ({local}), or copy it to {cached}"
        ) from None


def _checked(file: OfficialFile, data: bytes, source: str, own: str) -> bytes:
    got = hashlib.sha256(data).hexdigest()
    if got != file.sha256:
        raise DeepcriticError(
            f"{source} is not the official {file.name}: its sha256 is {got}, the protocol pins {file.sha256}. "
            f"Use the file at that commit (a changed prompt changes the numbers), or evaluate your own prompt: {own}"
        )
    return data


def fstring_template(source: str, target: str, names: dict[str, str], origin: str = "<script>") -> str:
    """The first f-string assigned to ``target`` (e.g. ``data['eval_prompt']``) in Python ``source``, as a
    template: literal text kept byte for byte, each ``{expression}`` replaced by ``{names[expression]}``.

    Raises :class:`DeepcriticError` when no such assignment exists or an expression is not in ``names``.
    """
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.JoinedStr)):
            continue
        if not any(ast.unparse(t) == target for t in node.targets):
            continue
        parts = []
        for value in node.value.values:
            if isinstance(value, ast.Constant):
                parts.append(value.value)
                continue
            expr = ast.unparse(value.value)
            if expr not in names:
                raise DeepcriticError(f"{origin}: the prompt's f-string uses {{{expr}}}, which has no placeholder")
            parts.append("{" + names[expr] + "}")
        return "".join(parts)
    raise DeepcriticError(f"{origin}: no f-string is assigned to {target}")
