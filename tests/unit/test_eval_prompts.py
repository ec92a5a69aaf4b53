"""Generator prompt templates (solve, revise) and the critic template in the str.format convention."""

from __future__ import annotations

import pytest

from deepcritic.errors import DeepcriticError
from deepcritic.eval.prompts import (
    REVISE_PLACEHOLDERS,
    SOLVE_PLACEHOLDERS,
    fill,
    load_critic_template,
    load_prompt,
    revise_messages,
    solve_messages,
)

FILL = [
    # a placeholder is replaced
    ("Solve {problem}", {"problem": "x"}, "Solve x"),
    # LaTeX braces are left alone
    (r"{problem} \boxed{answer} {step}", {"problem": "p", "step": "3"}, r"p \boxed{answer} 3"),
    # substituted text is not substituted again
    ("{problem} {solution}", {"problem": "{solution}", "solution": "S"}, "{solution} S"),
    # a placeholder without a value stays
    ("{critique}", {}, "{critique}"),
]


@pytest.mark.parametrize("template, values, want", FILL)
def test_fill(template, values, want):
    assert fill(template, **values) == want


def test_packaged_templates_have_their_placeholders():
    solve = load_prompt(None, "solve.txt", SOLVE_PLACEHOLDERS)
    revise = load_prompt(None, "revise.txt", REVISE_PLACEHOLDERS)
    assert "{problem}" in solve and r"\boxed{answer}" in solve
    assert all("{" + p + "}" in revise for p in REVISE_PLACEHOLDERS)


def test_solve_and_revise_messages():
    assert solve_messages("Q: {problem}", "1+1") == [{"role": "user", "content": "Q: 1+1"}]
    msgs = revise_messages("{problem}|{solution}|{critique}|{step}", "P", ["a", "Step 2: b"], " crit \n", 1)
    assert msgs[0]["content"] == "P|Step 1: a\n\nStep 2: b|crit|2"


def test_user_template_missing_placeholder(tmp_path):
    path = tmp_path / "revise.txt"
    path.write_text("{problem} {solution}", encoding="utf-8")
    with pytest.raises(DeepcriticError, match=r"lacks \{critique\}, \{step\}"):
        load_prompt(str(path), "revise.txt", REVISE_PLACEHOLDERS)


def test_user_template_missing_file(tmp_path):
    with pytest.raises(DeepcriticError, match="cannot read prompt template"):
        load_prompt(str(tmp_path / "nope.txt"), "solve.txt", SOLVE_PLACEHOLDERS)


def test_critic_template_in_str_format_convention(tmp_path):
    # the convention of the ProcessBench / DeepCritic release templates ({tagged_response}, \boxed{{}})
    path = tmp_path / "release.txt"
    path.write_text("<P>{problem}</P>\n<S>{tagged_response}</S>\nput it in \\boxed{{}}.", encoding="utf-8")
    text = load_critic_template(str(path))
    assert text == "<P>{problem}</P>\n<S>{solution}</S>\nput it in \\boxed{}."


def test_critic_template_default_and_own_format(tmp_path):
    assert "{solution}" in load_critic_template(None)
    path = tmp_path / "mine.txt"
    path.write_text("{problem} -- {solution} \\boxed{{x}}", encoding="utf-8")
    assert load_critic_template(str(path)).endswith("\\boxed{{x}}")  # our convention: braces kept as written
    with pytest.raises(DeepcriticError):
        load_critic_template(str(tmp_path / "missing.txt"))
