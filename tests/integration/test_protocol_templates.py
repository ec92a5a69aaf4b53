"""A critic template written for another protocol is refused by every recipe before any model loads.

ProcessBench's official prompt asks for a 0-based paragraph index; deepcritic's own protocol (training, the
GRPO reward, filter, eval's default) reads a 1-based ``Step k`` verdict from the final line, so a ``\\boxed{0}``
would silently count as wrong. Each recipe is run through the console script with that template.
"""

from __future__ import annotations

import pytest

from tests.helpers.cli import run_cli

PROCESSBENCH_TEMPLATE = "reference/processbench/critique_template.txt"


@pytest.mark.parametrize("recipe", ["sft", "grpo", "filter", "demo", "eval"])
def test_every_recipe_refuses_a_zero_based_paragraph_template(recipe, shared_data, tmp_path):
    result = run_cli(recipe, f"model.template={shared_data / PROCESSBENCH_TEMPLATE}", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "critique_template.txt asks for paragraphs, indexed from 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_eval_takes_it_under_its_own_protocol_and_refuses_a_changed_copy(shared_data, tmp_path):
    copy = tmp_path / "critique_template.txt"
    copy.write_text((shared_data / PROCESSBENCH_TEMPLATE).read_text() + "\nBe brief.")
    result = run_cli("eval", "protocol=processbench", f"protocol.template={copy}", "benchmarks=mr_gsm8k", cwd=tmp_path)
    assert result.returncode == 2 and "is not the official QwenLM/ProcessBench@e8024636" in result.stderr
