"""split_steps: markers, then paragraphs, then lines; never an empty step."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepcritic.data import split_steps

CASES = [
    # plain "Step k:" markers, stripped
    ("Step 1: add 2 and 3.\nStep 2: that is 5.", ["add 2 and 3.", "that is 5."]),
    # bold markers with the colon outside
    ("**Step 1**: add.\n**Step 2**: done.", ["add.", "done."]),
    # bold markers with the colon inside
    ("**Step 1:** add.\n\n**Step 2:** done.", ["add.", "done."]),
    # bold title: the closing ** goes with the marker
    ("**Step 1: Add**\n2 + 3 = 5\n**Step 2: Answer**\n5", ["Add\n2 + 3 = 5", "Answer\n5"]),
    # markdown headings, with and without a title
    ("## Step 1\nAdd.\n\n## Step 2: Check\nOK.", ["Add.", "Check\nOK."]),
    ("### Step 1: x\ny\n### Step 2: z", ["x\ny", "z"]),
    # a multi-paragraph step stays whole when markers are present
    ("Step 1: a\n\nstill a\nStep 2: b", ["a\n\nstill a", "b"]),
    # a preamble joins the first step, so step numbers stay as written
    ("Let's solve it.\nStep 1: a\nStep 2: b", ["Let's solve it.\na", "b"]),
    # lowercase markers and extra spaces
    ("step 1 : a\nstep 2 : b", ["a", "b"]),
    # a single marker is not enough: fall back to paragraphs
    ("Step 1: a\n\nb", ["Step 1: a", "b"]),
    # markers only at line starts: an inline mention does not split
    ("First a, as in Step 2: later.\n\nThen b.", ["First a, as in Step 2: later.", "Then b."]),
    # paragraphs (blank lines with spaces count)
    ("First.\nStill first.\n  \nSecond.", ["First.\nStill first.", "Second."]),
    # Windows line ends
    ("Step 1: a\r\nStep 2: b\r\n", ["a", "b"]),
    ("a\r\n\r\nb\r\nc", ["a", "b\nc"]),
    # no blank lines: non-empty lines
    ("a\n\n", ["a"]),
    ("a\nb\n  \n", ["a", "b"]),
    (" a \n b ", ["a", "b"]),
    # one line
    ("just one", ["just one"]),
    # nothing
    ("", []),
    ("  \n\n ", []),
    # empty bodies between markers are dropped
    ("Step 1:\nStep 2: b\nStep 3: c", ["b", "c"]),
]


@pytest.mark.parametrize("text, steps", CASES)
def test_split_steps(text, steps):
    assert split_steps(text) == steps


@given(st.text())
def test_never_empty_steps(text):
    steps = split_steps(text)
    assert all(s and s == s.strip() for s in steps)
    assert (steps == []) == (text.strip() == "")
