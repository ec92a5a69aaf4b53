"""Prompt building: step tagging, template loading and validation, placeholder substitution."""

from __future__ import annotations

import re

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
    text = load_template()
    assert "{problem}" in text and "{solution}" in text
    assert r"**Answer**: \boxed{k}" in text
    assert r"\boxed{1}" in text and r"\boxed{-1}" in text


def test_load_template_user_file(tmp_path) -> None:
    # a user's template file is returned verbatim
    path = tmp_path / "mine.txt"
    path.write_text("P: {problem}\nS: {solution}\n", encoding="utf-8")
    assert load_template(str(path)) == "P: {problem}\nS: {solution}\n"


def test_load_template_missing_file(tmp_path) -> None:
    # a missing file is a user error naming the path
    path = tmp_path / "nope.txt"
    with pytest.raises(DeepcriticError, match=r"nope\.txt"):
        load_template(str(path))


def test_load_template_directory(tmp_path) -> None:
    # a directory instead of a file is a user error naming the path, not an OSError traceback
    with pytest.raises(DeepcriticError, match=re.escape(str(tmp_path))):
        load_template(str(tmp_path))


@pytest.mark.parametrize(
    ("content", "missing"),
    [
        # no {solution}
        ("Problem: {problem}", "{solution}"),
        # no {problem}
        ("Solution: {solution}", "{problem}"),
        # a near miss with spaces does not count
        ("{ problem } {solution}", "{problem}"),
    ],
)
def test_load_template_missing_placeholder(tmp_path, content: str, missing: str) -> None:
    # the error names the file and the missing placeholder
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DeepcriticError) as info:
        load_template(str(path))
    assert "bad.txt" in str(info.value) and missing in str(info.value)


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
