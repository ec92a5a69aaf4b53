"""Prompt templates: one loader, one filler and one error message for every kind of prompt; the critic template
in the str.format convention of the released ProcessBench / DeepCritic prompts is read by every recipe."""

from __future__ import annotations

import pytest

from deepcritic.config import GRPORecipeConfig, ModelConfig
from deepcritic.critique import build_critic_messages, fill, load_template, revise_messages, solve_messages
from deepcritic.critique.templates import template_convention
from deepcritic.errors import DeepcriticError
from deepcritic.recipes.grpo import GRPOStage  # at collection: importing trl/vLLM sets process-wide env defaults
from tests.helpers.paths import SHARED_DATA

FILL = [
    # a placeholder is replaced
    ("Solve {problem}", {"problem": "x"}, "Solve x"),
    # LaTeX braces are left alone
    (r"{problem} \boxed{answer} {step}", {"problem": "p", "step": "3"}, r"p \boxed{answer} 3"),
    # substituted text is not substituted again
    ("{problem} {solution}", {"problem": "{solution}", "solution": "S"}, "{solution} S"),
    # a placeholder without a value stays, and so does an unknown one
    ("{critique} {unknown}", {}, "{critique} {unknown}"),
    # a teacher stage's placeholders, the same way
    (
        "{problem} | {initial} | \\boxed{1}",
        {"problem": "P mentions {initial}", "initial": "I"},
        "P mentions {initial} | I | \\boxed{1}",
    ),
]


@pytest.mark.parametrize("template, values, want", FILL)
def test_fill(template, values, want):
    assert fill(template, **values) == want


PACKAGED = [
    # the critic prompts: the problem and the tagged solution
    ("critic", ["{problem}", "{solution}"]),
    ("demo_critic", ["{problem}", "{solution}"]),
    # generator prompts
    ("solve", ["{problem}"]),
    ("revise", ["{problem}", "{solution}", "{critique}", "{step}"]),
    ("continue", ["{problem}", "{solution}", "{step}"]),
    # the three teacher stages of synthesize
    ("initial", ["{problem}", "{solution}", "{step}", "{step_text}"]),
    ("in_depth", ["{problem}", "{solution}", "{step}", "{step_text}", "{initial}"]),
    ("merge", ["{problem}", "{solution}", "{step}", "{step_text}", "{initial}", "{in_depth}"]),
    # the CFT teacher
    ("cft_critique", ["{problem}", "{solution}"]),
]


@pytest.mark.parametrize("kind, placeholders", PACKAGED)
def test_packaged_templates_hold_their_placeholders(kind, placeholders):
    text = load_template(kind)
    assert [p for p in placeholders if p not in text] == []


MISSING = [
    # a revise template without the critique and the step number
    ("revise", "{problem} {solution}", r"revise template .*mine\.txt lacks \{critique\}, \{step\}"),
    # a teacher stage without the step's text
    ("initial", "{problem} {solution} {step}", r"initial template .*mine\.txt lacks \{step_text\}"),
    # a critic template without the solution
    ("critic", "Problem: {problem}", r"critic template .*mine\.txt lacks \{solution\}"),
    # a near miss with spaces does not count
    ("critic", "{ problem } {solution}", r"lacks \{problem\}; it must contain \{problem\}, \{solution\}"),
]


@pytest.mark.parametrize("kind, content, message", MISSING)
def test_a_template_missing_a_placeholder_names_the_file_and_the_placeholder(tmp_path, kind, content, message):
    path = tmp_path / "mine.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DeepcriticError, match=message):
        load_template(kind, str(path))


@pytest.mark.parametrize("kind", ["critic", "solve", "merge"])
def test_a_missing_file_is_the_same_user_error_for_every_kind(tmp_path, kind):
    with pytest.raises(DeepcriticError, match=rf"{kind} template file not found: .*nope\.txt"):
        load_template(kind, str(tmp_path / "nope.txt"))


def test_a_directory_is_a_user_error_not_a_traceback(tmp_path):
    with pytest.raises(DeepcriticError, match="cannot read the critic template"):
        load_template("critic", str(tmp_path))


def test_solve_and_revise_messages():
    assert solve_messages("Q: {problem}", "1+1") == [{"role": "user", "content": "Q: 1+1"}]
    msgs = revise_messages("{problem}|{solution}|{critique}|{step}", "P", ["a", "Step 2: b"], " crit \n", 1)
    assert msgs[0]["content"] == "P|Step 1: a\n\nStep 2: b|crit|2"


CONVENTIONS = [
    # the release convention ({tagged_response}, doubled braces) read as ours
    (
        "critic",
        "<P>{problem}</P>\n<S>{tagged_response}</S>\nput it in \\boxed{{}}.",
        "<P>{problem}</P>\n<S>{solution}</S>\nput it in \\boxed{}.",
    ),
    ("demo_critic", "{problem} {tagged_response} \\boxed{{k}}", "{problem} {solution} \\boxed{k}"),
    # our convention: braces kept as written
    ("critic", "{problem} -- {solution} \\boxed{{x}}", "{problem} -- {solution} \\boxed{{x}}"),
]


@pytest.mark.parametrize("kind, content, want", CONVENTIONS)
def test_critic_templates_in_either_convention(tmp_path, kind, content, want):
    path = tmp_path / "template.txt"
    path.write_text(content, encoding="utf-8")
    assert load_template(kind, str(path)) == want


def test_only_critic_templates_take_the_str_format_convention(tmp_path):
    path = tmp_path / "solve.txt"
    path.write_text("{tagged_response}", encoding="utf-8")
    with pytest.raises(DeepcriticError, match=r"lacks \{problem\}"):
        load_template("solve", str(path))


RELEASED = SHARED_DATA / "reference" / "deepcritic" / "critique_template_new.txt"


def test_the_released_deepcritic_template_prompts_with_tagged_steps():
    template = load_template("critic", str(RELEASED))
    content = build_critic_messages("What is 2+2?", ["2+2=5", "so 5"], template)[0]["content"]
    assert "What is 2+2?" in content and "Step 1: 2+2=5\n\nStep 2: so 5" in content
    assert "{tagged_response}" not in content and "{{" not in content


def test_grpo_reads_the_released_template_like_eval():
    """Every recipe loads its critic template through load_template("critic"): GRPO's stage as eval does."""
    cfg = GRPORecipeConfig(model=ModelConfig(template=str(RELEASED)))
    assert GRPOStage(cfg).template == load_template("critic", str(RELEASED))


PROCESSBENCH_TEMPLATE = SHARED_DATA / "reference" / "processbench" / "critique_template.txt"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Steps are tagged <paragraph_i> and indexed from 0.", ("paragraph", 0)),
        ('Each step is "Step i:", with i indexed starting from 1.', ("step", 1)),
        ("Name the first wrong step (0-based).", ("step", 0)),
        ("Review each paragraph.", ("paragraph", None)),
        ("Find the first wrong step.", ("step", None)),
        ("Critique the solution.", (None, None)),
    ],
)
def test_template_convention(text, want):
    assert template_convention(text) == want


@pytest.mark.parametrize("kind", ["critic", "demo_critic"])
def test_a_zero_based_paragraph_template_is_refused_by_the_strict_protocol(kind):
    """ProcessBench's prompt asks for a 0-based paragraph index; deepcritic's parser reads 1-based Step k (a
    \\boxed{0} would silently score as wrong), so every recipe that reads the critic template refuses it."""
    with pytest.raises(DeepcriticError, match=r"critique_template.txt asks for paragraphs, indexed from 0.*steps"):
        load_template(kind, str(PROCESSBENCH_TEMPLATE))
