"""Prompt building: step tagging, template loading and validation, placeholder substitution."""

from __future__ import annotations

import pytest

from deepcritic.critique import build_critic_messages, load_template, strip_step_prefix, tag_steps
from deepcritic.errors import DeepcriticError


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # plain steps are numbered from 1 and separated by a blank line
        (["x = 2", "y = 3"], "Step 1: x = 2\n\nStep 2: y = 3"),
        # a single step
        (["only one"], "Step 1: only one"),
        # no steps: empty text
        ([], ""),
        # an existing "Step k:" prefix is not doubled
        (["Step 1: x = 2", "Step 2: y = 3"], "Step 1: x = 2\n\nStep 2: y = 3"),
        # bold prefixes "**Step k:**" and "**Step k**:" are not doubled either
        (["**Step 1:** x = 2", "**Step 2**: y = 3"], "Step 1: x = 2\n\nStep 2: y = 3"),
        # "Step k." with a period, any case, extra spaces
        (["Step 1. x", "step  2 : y"], "Step 1: x\n\nStep 2: y"),
        # a markdown heading prefix "### Step k:"
        (["### Step 1: x"], "Step 1: x"),
        # a wrongly numbered existing prefix is replaced by the right number
        (["Step 7: x"], "Step 1: x"),
        # surrounding whitespace is stripped; inner newlines are kept
        (["  a\nb  \n"], "Step 1: a\nb"),
        # "Step 1.5" is a number, not a prefix: nothing is stripped
        (["Step 1.5 kg of flour"], "Step 1: Step 1.5 kg of flour"),
        # the word "Step" without a number is left alone
        (["Steps are easy"], "Step 1: Steps are easy"),
        # a prefix alone on its line, with the content on the next line
        (["Step 1:\nx = 2"], "Step 1: x = 2"),
    ],
)
def test_tag_steps(steps: list[str], expected: str) -> None:
    assert tag_steps(steps) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # only the first prefix is removed
        ("Step 1: Step 2: x", "Step 2: x"),
        # "**Step 3:**" with trailing bold
        ("**Step 3:** check", "check"),
        # no prefix: just stripped
        ("  check  ", "check"),
    ],
)
def test_strip_step_prefix(text: str, expected: str) -> None:
    assert strip_step_prefix(text) == expected


def test_default_template_has_placeholders_and_protocol() -> None:
    # the packaged template carries both placeholders and the final-line format of the protocol
    text = load_template("critic")
    assert "{problem}" in text and "{solution}" in text
    assert r"**Answer**: \boxed{k}" in text
    assert r"\boxed{1}" in text and r"\boxed{-1}" in text


def test_build_messages_default_template() -> None:
    # one user message with the problem and the tagged steps in it
    messages = build_critic_messages("What is 1+1?", ["1+1 = 2", "So the answer is 2."])
    assert [m["role"] for m in messages] == ["user"]
    content = messages[0]["content"]
    assert "What is 1+1?" in content
    assert "Step 1: 1+1 = 2\n\nStep 2: So the answer is 2." in content
    assert "{problem}" not in content and "{solution}" not in content


@pytest.mark.parametrize(
    ("template", "problem", "steps", "expected"),
    [
        # LaTeX braces in the template are left alone (no str.format)
        (
            r"Judge with \boxed{1} or \boxed{-1}. {problem} || {solution} \frac{a}{b}",
            "P",
            ["s"],
            r"Judge with \boxed{1} or \boxed{-1}. P || Step 1: s \frac{a}{b}",
        ),
        # a problem containing the literal "{solution}" is not substituted again
        (
            "{problem}\n---\n{solution}",
            "Compute {solution} and {problem}.",
            ["a"],
            "Compute {solution} and {problem}.\n---\nStep 1: a",
        ),
        # steps containing placeholders and backslashes are inserted verbatim (no re escape handling)
        ("{problem}|{solution}", r"\1 \g<0>", [r"{problem} \n"], r"\1 \g<0>|Step 1: {problem} \n"),
        # a placeholder used twice is filled twice
        ("{problem} {problem} {solution}", "P", ["s"], "P P Step 1: s"),
        # LaTeX braces in the problem survive
        ("{problem}\n{solution}", r"Find $\frac{1}{2}$ of \{x\}", ["x"], "Find $\\frac{1}{2}$ of \\{x\\}\nStep 1: x"),
    ],
)
def test_build_messages_substitution(template: str, problem: str, steps: list[str], expected: str) -> None:
    assert build_critic_messages(problem, steps, template)[0]["content"] == expected


def test_build_messages_template_text_missing_placeholder() -> None:
    # template text without {solution} is rejected rather than silently producing a prompt without steps
    with pytest.raises(DeepcriticError, match=r"\{solution\}"):
        build_critic_messages("P", ["s"], "Only {problem}")
