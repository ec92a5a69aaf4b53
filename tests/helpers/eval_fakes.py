"""A scripted stand-in for a generator in the evaluation recipes (solve / refine / verify-vote / eval), for
tests/unit/test_eval_solving.py and tests/unit/test_eval_recipes_scripted.py: no model, the answer is chosen
by a rule on the prompt text."""

from __future__ import annotations

from deepcritic.generation import Completion


class Scripted:
    """A generator whose answer is chosen by ``rule(prompt text, sample index)``; records every prompt."""

    name = "scripted"

    def __init__(self, rule):
        self.rule, self.prompts = rule, []

    def generate(self, prompts, sampling):
        texts = [p if isinstance(p, str) else p[0]["content"] for p in prompts]  # a text prompt, or a chat's turn
        self.prompts += texts
        return [[self.rule(t, j) for j in range(sampling.n)] for t in texts]

    def close(self):
        pass


def ok(text: str) -> Completion:
    return Completion(text, "stop", len(text.split()))


def is_critic(prompt: str) -> bool:
    return "## How to review" in prompt


def is_revise(prompt: str) -> bool:
    return "## Review" in prompt
