"""Rendering SFT target critiques, and their round trip through the parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepcritic.critique import parse_critique, render_critique, strip_step_prefix


def test_render_exact_text() -> None:
    # the exact layout: blocks, judgment lines, stop at the first wrong step, final line
    text = render_critique(["Looks right.", "Step 2: 8/2 is 4, not 3.", "never shown"], 1)
    assert text == (
        "Step 1: Looks right.\n\n\\boxed{1}\n\nStep 2: 8/2 is 4, not 3.\n\n\\boxed{-1}\n\n**Answer**: \\boxed{2}"
    )


@pytest.mark.parametrize(
    ("critiques", "first_error", "judgments"),
    [
        # no wrong step: every step rendered, all +1, answer -1
        (["a", "b", "c"], -1, [1, 1, 1]),
        # first step wrong: one block only
        (["a", "b", "c"], 0, [-1]),
        # middle step wrong: later critiques dropped
        (["a", "b", "c"], 1, [1, -1]),
        # last step wrong
        (["a", "b", "c"], 2, [1, 1, -1]),
        # a single correct step
        (["a"], -1, [1]),
        # multi-paragraph critiques with LaTeX and existing prefixes
        (["**Step 1:** $x=2$\n\nAgain: $2+0=2$.", "Step 2. $\\frac{1}{2}$ is wrong"], 1, [1, -1]),
    ],
)
def test_render_round_trip(critiques: list[str], first_error: int, judgments: list[int]) -> None:
    text = render_critique(critiques, first_error)
    assert parse_critique(text, num_steps=len(critiques)).first_error == first_error
    assert parse_critique(text).step_judgments == judgments
    assert parse_critique(text).complete


def test_render_does_not_double_prefix() -> None:
    # an existing "Step k:" prefix on a critique is replaced by the right one
    text = render_critique(["Step 1: fine", "**Step 2:** fine"], -1)
    assert "Step 1: Step" not in text and "Step 2: **" not in text
    assert text.startswith("Step 1: fine\n") and "\n\nStep 2: fine\n" in text


@pytest.mark.parametrize(
    ("critiques", "first_error", "message"),
    [
        # first_error past the end of the list
        (["a", "b"], 2, "out of range"),
        # first_error below -1
        (["a", "b"], -2, "out of range"),
        # no critiques at all
        ([], -1, "empty"),
        # no critiques with an index
        ([], 0, "empty"),
        # an empty critique that would be rendered
        (["a", "  "], -1, r"step_critiques\[1\] is empty"),
        # a critique that is only a prefix
        (["Step 1:"], 0, r"step_critiques\[0\] is empty"),
        # a critique containing its own final answer line would change the verdict
        (["a\n**Answer**: \\boxed{-1}", "b"], 1, "final answer line"),
    ],
)
def test_render_errors(critiques: list[str], first_error, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_critique(critiques, first_error)


@pytest.mark.parametrize(
    "first_error",
    [
        # a bool is not an index
        True,
        # a float is not an index
        0.0,
        # a string is not an index
        "1",
    ],
)
def test_render_type_errors(first_error) -> None:
    with pytest.raises(TypeError, match="must be an int"):
        render_critique(["a", "b"], first_error)


def test_render_ignores_empty_critiques_after_first_error() -> None:
    # critiques after the first wrong step are not rendered, so they are not checked either
    assert render_critique(["a", ""], 0).endswith("**Answer**: \\boxed{1}")


# Critique prose: any text without a backslash (so no "\boxed", hence no extra judgments and no final
# answer line) that is not empty once a leading "Step k:" prefix is stripped.
PROSE = st.text(alphabet=st.characters(blacklist_characters="\\"), min_size=1, max_size=80).filter(
    lambda s: strip_step_prefix(s) != ""
)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), critiques=st.lists(PROSE, min_size=1, max_size=8))
def test_render_round_trip_property(data: st.DataObject, critiques: list[str]) -> None:
    # render -> parse gives back first_error and the judgments [1, ..., 1, (-1)]
    first_error = data.draw(st.integers(min_value=-1, max_value=len(critiques) - 1), label="first_error")
    parsed = parse_critique(render_critique(critiques, first_error), num_steps=len(critiques))
    assert parsed.first_error == first_error
    assert parsed.complete
    n = len(critiques) if first_error == -1 else first_error + 1
    assert parsed.step_judgments == [1] * (n - 1) + [1 if first_error == -1 else -1]
