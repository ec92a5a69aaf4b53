"""Parsing critic outputs: strict final-line verdicts, per-step judgments, robustness."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepcritic.critique import ParsedCritique, parse_critique

DEEPCRITIC_STYLE = r"""Step 1: The solution sets up the equation $2x + 3 = 11$ from the statement.

Checking the statement again: "three more than twice a number is eleven" indeed gives $2x + 3 = 11$.
Reading it another way (as $2(x + 3)$) would need "twice the sum", which the problem does not say.

\boxed{1}

Step 2: Subtracting 3 from both sides gives $2x = 8$.

$11 - 3 = 8$. Verifying from another angle: $8 + 3 = 11$, consistent.

\boxed{1}

Step 3: Dividing by 2 gives $x = 3$.

But $8 / 2 = 4$, not 3. Substituting $x = 3$ back: $2 \cdot 3 + 3 = 9 \neq 11$. The step is wrong.

\boxed{-1}

**Answer**: \boxed{3}"""

TRUNCATED = DEEPCRITIC_STYLE.split("Step 3:")[0] + "Step 3: Dividing by 2 gives $x = 3$.\n\nBut $8 / 2 ="


@pytest.mark.parametrize(
    ("text", "num_steps", "expected"),
    [
        # DeepCritic-style output: multi-paragraph critiques, boxed judgments, final line
        (DEEPCRITIC_STYLE, None, ParsedCritique(2, [1, 1, -1], True)),
        # same with num_steps large enough
        (DEEPCRITIC_STYLE, 5, ParsedCritique(2, [1, 1, -1], True)),
        # truncated output: judgments read, no verdict, incomplete
        (TRUNCATED, None, ParsedCritique(None, [1, 1], False)),
        # truncated right after a -1 box: still no verdict (never guessed from the last box)
        ("Step 1: ok\n\\boxed{1}\nStep 2: bad\n\\boxed{-1}", None, ParsedCritique(None, [1, -1], False)),
        # all steps correct: -1 stays -1
        ("\\boxed{1}\n\\boxed{1}\n**Answer**: \\boxed{-1}", None, ParsedCritique(-1, [1, 1], True)),
        # 1-based k maps to 0-based k-1
        ("**Answer**: \\boxed{1}", None, ParsedCritique(0, [], True)),
        # several final lines: the last one counts, earlier ones are not judgments
        ("**Answer**: \\boxed{2}\nthinking again\n**Answer**: \\boxed{-1}", None, ParsedCritique(-1, [], True)),
        # several final lines, last one malformed: no verdict but complete
        ("**Answer**: \\boxed{2}\n**Answer**: \\boxed{two}", None, ParsedCritique(None, [], True)),
        # spaces inside the box
        ("**Answer**: \\boxed{ 3 }", None, ParsedCritique(2, [], True)),
        # spaces inside a -1 box and inside judgments
        ("\\boxed{ 1 }\n\\boxed{ -1 }\n**Answer**: \\boxed{ -1 }", None, ParsedCritique(-1, [1, -1], True)),
        # \boxed{+1} is a +1 judgment
        ("\\boxed{+1}\n**Answer**: \\boxed{-1}", None, ParsedCritique(-1, [1], True)),
        # boxes that are not +-1 are not judgments
        (
            "\\boxed{2} \\boxed{10} \\boxed{-10} \\boxed{\\text{yes}}\n**Answer**: \\boxed{-1}",
            None,
            ParsedCritique(-1, [], True),
        ),
        # several judgments on one line are read in order
        ("a \\boxed{1} b \\boxed{-1}\n**Answer**: \\boxed{2}", None, ParsedCritique(1, [1, -1], True)),
        # judgments after the last final line are ignored
        ("\\boxed{1}\n**Answer**: \\boxed{-1}\n\\boxed{-1}", None, ParsedCritique(-1, [1], True)),
        # non-integer box content: complete but no verdict
        ("**Answer**: \\boxed{2.5}", None, ParsedCritique(None, [], True)),
        # a word in the box
        ("**Answer**: \\boxed{two}", None, ParsedCritique(None, [], True)),
        # an empty box
        ("**Answer**: \\boxed{}", None, ParsedCritique(None, [], True)),
        # nested braces in the box: complete, no verdict
        ("**Answer**: \\boxed{\\text{3}}", None, ParsedCritique(None, [], True)),
        # 0 is not a step number
        ("**Answer**: \\boxed{0}", None, ParsedCritique(None, [], True)),
        # below -1 is not a verdict
        ("**Answer**: \\boxed{-2}", None, ParsedCritique(None, [], True)),
        # beyond num_steps is not a verdict
        ("**Answer**: \\boxed{4}", 3, ParsedCritique(None, [], True)),
        # exactly num_steps is fine
        ("**Answer**: \\boxed{3}", 3, ParsedCritique(2, [], True)),
        # -1 is fine whatever num_steps is
        ("**Answer**: \\boxed{-1}", 3, ParsedCritique(-1, [], True)),
        # a huge number is not a verdict (and int() is never called on it)
        ("**Answer**: \\boxed{" + "9" * 5000 + "}", None, ParsedCritique(None, [], True)),
        # an unclosed box is not a final line
        ("**Answer**: \\boxed{3", None, ParsedCritique(None, [], False)),
        # a final line without a box is not a final line
        ("**Answer**: 3", None, ParsedCritique(None, [], False)),
        # empty output
        ("", None, ParsedCritique(None, [], False)),
        # Windows line endings
        ("\\boxed{1}\r\n**Answer**: \\boxed{2}\r\n", None, ParsedCritique(1, [1], True)),
    ],
)
def test_parse_critique(text: str, num_steps: int | None, expected: ParsedCritique) -> None:
    assert parse_critique(text, num_steps) == expected


@pytest.mark.parametrize(
    ("line", "first_error"),
    [
        # the canonical form
        ("**Answer**: \\boxed{3}", 2),
        # colon inside the bold
        ("**Answer:** \\boxed{3}", 2),
        # no markdown
        ("Answer: \\boxed{3}", 2),
        # markdown heading
        ("### Answer: \\boxed{3}", 2),
        # "Final Answer", bold
        ("**Final Answer**: \\boxed{3}", 2),
        # "Final answer:" plain, lower case
        ("final answer: \\boxed{3}", 2),
        # upper case
        ("ANSWER: \\boxed{3}", 2),
        # no space before the box
        ("**Answer**:\\boxed{3}", 2),
        # inline math delimiters and a trailing period
        ("**Answer**: $\\boxed{3}$.", 2),
        # \( \) delimiters
        ("**Answer**: \\(\\boxed{3}\\)", 2),
        # indentation and trailing spaces
        ("   **Answer**: \\boxed{3}   ", 2),
        # italic underscores
        ("_Answer_: \\boxed{3}", 2),
        # bold box after the colon: "**Answer**: **\boxed{3}**"
        ("**Answer**: **\\boxed{3}**", 2),
    ],
)
def test_final_line_variants_accepted(line: str, first_error: int) -> None:
    parsed = parse_critique("Step 1: fine\n\\boxed{1}\n" + line)
    assert parsed == ParsedCritique(first_error, [1], True)


@pytest.mark.parametrize(
    "line",
    [
        # the answer mentioned in prose is not a final line
        "The answer is \\boxed{3}",
        # "Answer" not at the start of the line
        "So my **Answer**: \\boxed{3}",
        # text between the colon and the box
        "**Answer**: step \\boxed{3}",
        # text after the box
        "**Answer**: \\boxed{3} because step 3 divides wrongly",
        # two boxes on the final line: ambiguous
        "**Answer**: \\boxed{3} or \\boxed{4}",
        # no colon
        "**Answer** \\boxed{3}",
        # a different label
        "**Judgment**: \\boxed{3}",
        # the box on the next line
        "**Answer**:\n\\boxed{3}",
        # \Boxed is not the LaTeX command
        "**Answer**: \\Boxed{3}",
    ],
)
def test_final_line_variants_rejected(line: str) -> None:
    parsed = parse_critique("Step 1: fine\n" + line)
    assert parsed.complete is False and parsed.first_error is None


@pytest.mark.parametrize(
    "text",
    [
        # one huge line of unclosed boxes after a final-line label
        "**Answer**: \\boxed{" + "\\boxed{" * 150_000,
        # a huge run of spaces after the label
        "**Answer**:" + " " * 1_000_000 + "x",
        # a huge box content with no closing brace
        "**Answer**: \\boxed{" + "1" * 1_000_000,
        # a huge box content then trailing junk
        "**Answer**: \\boxed{" + "{a}" * 330_000 + "} x",
        # many final-line fragments on many lines
        "**Answer**: \\boxed{1}\n" * 45_000,
        # alternating stars, underscores and labels
        ("**_" * 10 + "Answer" + "*_" * 10 + ":") * 25_000,
        # lots of nested braces
        "\\boxed{" + "{" * 500_000 + "}" * 500_000,
        # only newlines
        "\n" * 1_000_000,
    ],
)
def test_parse_critique_huge_adversarial_input(text: str) -> None:
    # finishes (no catastrophic backtracking) and returns a ParsedCritique; no timing asserts
    assert len(text) >= 900_000
    assert isinstance(parse_critique(text), ParsedCritique)


FRAGMENTS = st.sampled_from(
    [
        "\\boxed{",
        "}",
        "{",
        "**Answer**:",
        "**Answer:**",
        "Answer:",
        "### ",
        "**Final Answer**:",
        "Step ",
        "1",
        "-1",
        "+1",
        "0",
        "3",
        "2.5",
        "-",
        " ",
        "\n",
        "\r\n",
        "$",
        "\\(",
        "\\)",
        "*",
        "_",
        "x",
        "\\",
    ]
)


@settings(max_examples=300, deadline=None)
@given(text=st.text(), num_steps=st.none() | st.integers(min_value=-2, max_value=50))
def test_parse_never_raises_on_any_text(text: str, num_steps: int | None) -> None:
    # arbitrary unicode text: no exception, consistent fields
    parsed = parse_critique(text, num_steps)
    assert parsed.first_error is None or parsed.complete
    assert set(parsed.step_judgments) <= {1, -1}


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(FRAGMENTS, max_size=60), num_steps=st.none() | st.integers(min_value=0, max_value=10))
def test_parse_never_raises_on_protocol_fragments(parts: list[str], num_steps: int | None) -> None:
    # texts built from protocol fragments hit the final-line and judgment paths
    parsed = parse_critique("".join(parts), num_steps)
    assert parsed.first_error is None or parsed.complete
    if parsed.first_error is not None:
        assert parsed.first_error >= -1
        if num_steps is not None:
            assert parsed.first_error < max(num_steps, 0) or parsed.first_error == -1
