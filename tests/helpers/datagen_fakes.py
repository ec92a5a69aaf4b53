"""A scripted stand-in for a generation backend (deepcritic.generation.Generator), for pipeline tests.

``ScriptedGenerator(reply)`` answers every prompt with ``reply(prompt_text, sample_index)``: the text of a
one-turn prompt is that turn's content; a prompt of several turns (a system turn, an assistant prefill) reads
``[role]\ncontent`` per turn, blank-line separated, so a reply can tell a prefilled assistant turn. It records
the prompts it saw (and ``messages``, the prompts as given), can fail on purpose (``crash_after`` generate calls
raise, like a killed run; prompts whose text contains ``error_on`` come back as failed requests), and never
loads a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from deepcritic.config import SamplingConfig
from deepcritic.generation import Completion


class Crash(RuntimeError):
    """The injected failure (a run dying midway)."""


class ScriptedGenerator:
    def __init__(
        self,
        reply: Callable[[str, int], str],
        name: str = "scripted",
        crash_after: int | None = None,
        error_on: str | None = None,
    ):
        self.reply, self.name = reply, name
        self.crash_after, self.error_on = crash_after, error_on
        self.calls = 0
        self.prompts: list[str] = []
        self.messages: list = []

    def generate(self, prompts: Sequence[list[dict]], sampling: SamplingConfig) -> list[list[Completion]]:
        if self.crash_after is not None and self.calls >= self.crash_after:
            raise Crash(f"injected failure after {self.calls} generate calls")
        self.calls += 1
        out = []
        for messages in prompts:
            text = prompt_text(messages)
            self.prompts.append(text)
            self.messages.append(messages)
            if self.error_on and self.error_on in text:
                out.append([Completion("", "error", None, "HTTP 503: injected")] * sampling.n)
            else:
                out.append([Completion(self.reply(text, j), "stop", 7) for j in range(sampling.n)])
        return out

    def close(self) -> None:
        pass


def prompt_text(messages: Sequence[dict]) -> str:
    """A one-turn prompt's content; several turns as ``[role]\ncontent`` blocks (see the module docstring)."""
    if len(messages) == 1:
        return messages[0]["content"]
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)


def field(text: str, name: str) -> str:
    """The value of ``NAME=value`` in a test template's header line."""
    match = re.search(rf"{name}=(\S+)", text)
    assert match, f"{name}= not in prompt: {text[:200]!r}"
    return match.group(1)
