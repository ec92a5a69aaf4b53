"""``deepcritic cft-data`` end to end on scripted models: file and generated candidates, agreement filter, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepcritic.chat_data import cft_example
from deepcritic.config import CandidatesConfig, CFTDataConfig, ChatDataConfig, SamplingConfig
from deepcritic.critique import load_template
from deepcritic.data.problems import SetProblem
from deepcritic.datagen.cft import read_candidates
from deepcritic.recipes.cft_data import cft_data
from tests.helpers.datagen_fakes import Crash, ScriptedGenerator

TEMPLATE = load_template("cft_critique")
PAIRS = [
    {"question": "What is 2 + 3?", "solution": "2 + 3 = 5, so \\boxed{5}.", "answer": "5"},  # right, teacher agrees
    {"question": "What is 2 + 2?", "solution": "2 + 2 = 5, so \\boxed{5}.", "answer": "4"},  # wrong, teacher agrees
    {"question": "What is 3 + 3?", "solution": "3 + 3 = 6, so \\boxed{6}.", "answer": "6"},  # right, teacher says wrong
    {"question": "What is 4 + 4?", "solution": "Eight: \\boxed{8}.", "answer": "8"},  # teacher gives no conclusion
]


def teacher_reply(text: str, sample: int) -> str:
    if "4 + 4" in text:
        return "I am not sure."
    verdict = "right" if "= 5, so \\boxed{5}" in text and "2 + 3" in text else "wrong"
    return f"Step by step, the arithmetic is checked.\n\n**Conclusion: {verdict.upper()}** [END]"


def _write_pairs(path: Path) -> Path:
    path.write_text("".join(json.dumps(p) + "\n" for p in PAIRS), encoding="utf-8")
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _file_cfg(path: Path, **kw) -> CFTDataConfig:
    return CFTDataConfig(
        candidates=CandidatesConfig(source="file", path=str(path), answer_field="answer"), batch_size=2, **kw
    )


def test_file_candidates_become_webinstruct_cft_rows_that_cft_loads(tmp_path):
    cfg = _file_cfg(_write_pairs(tmp_path / "pairs.jsonl"))
    summary = cft_data(
        cfg,
        ScriptedGenerator(teacher_reply, name="t"),
        TEMPLATE,
        tmp_path / "run",
        candidates=read_candidates(cfg.candidates),
    )
    rows = _lines(tmp_path / "run" / "cft.jsonl")
    assert [r["meta"]["id"] for r in rows] == ["0", "1"]  # 2: disagrees with math-verify; 3: no conclusion
    assert rows[0]["output"] == "Step by step, the arithmetic is checked.\n\nConclusion: right [END]"
    assert rows[1]["output"].endswith("\n\nConclusion: wrong [END]")  # the release's ending
    assert rows[1]["input"] == "Question:\nWhat is 2 + 2?\n\nSolution:\n2 + 2 = 5, so \\boxed{5}."
    example = cft_example(rows[1], ChatDataConfig(source="cft"), "cft.jsonl", "line 2")
    assert example["prompt"][0]["content"] == f"{cfg.instruction}\n{rows[1]['input']}"  # LLaMA-Factory's join
    assert summary["kept"] == {"total": 2, "right": 1, "wrong": 1}
    assert summary["critiques"]["with_conclusion"] == 3 and summary["critiques"]["first_sample_agreement"] == 0.6667
    assert summary["candidates"] == {"total": 4, "with_reference": 4, "correct": 3}


def test_without_the_agreement_filter_a_disagreeing_critique_is_kept(tmp_path):
    cfg = _file_cfg(_write_pairs(tmp_path / "pairs.jsonl"), require_agreement=False)
    cft_data(
        cfg, ScriptedGenerator(teacher_reply), TEMPLATE, tmp_path / "run", candidates=read_candidates(cfg.candidates)
    )
    rows = _lines(tmp_path / "run" / "cft.jsonl")
    assert [r["meta"]["id"] for r in rows] == ["0", "1", "2"] and rows[2]["meta"]["agrees_with_reference"] is False


def _solver(text: str, sample: int) -> str:
    return "2 + 3 = 5.\n\n\\boxed{5}" if sample == 0 else "2 + 3 = 6.\n\n\\boxed{6}"


def test_generated_candidates_are_graded_and_critiqued(tmp_path):
    cfg = CFTDataConfig(batch_size=1)
    cfg.generator.sampling = SamplingConfig(n=2, temperature=1.0)
    problems = [SetProblem("g/0", "g", "What is 2 + 3?", "5")]
    teacher = ScriptedGenerator(
        lambda t, j: "Checked.\nConclusion: right" if "= 5." in t else "Checked.\nConclusion: wrong"
    )
    summary = cft_data(
        cfg, teacher, TEMPLATE, tmp_path, problems=problems, generator=ScriptedGenerator(_solver, name="g")
    )
    rows = _lines(tmp_path / "cft.jsonl")
    assert [(r["meta"]["id"], r["meta"]["candidate_correct"], r["meta"]["conclusion"]) for r in rows] == [
        ("g/0#0", True, "right"),
        ("g/0#1", False, "wrong"),
    ]
    assert rows[0]["meta"]["generator"] == "g" and summary["candidates"]["correct"] == 1


def test_rerun_after_a_crash_finishes_the_rest_and_duplicates_nothing(tmp_path):
    cfg = _file_cfg(_write_pairs(tmp_path / "pairs.jsonl"), require_agreement=False)
    cands = read_candidates(cfg.candidates)
    cft_data(cfg, ScriptedGenerator(teacher_reply), TEMPLATE, tmp_path / "clean", candidates=cands)
    with pytest.raises(Crash):
        cft_data(cfg, ScriptedGenerator(teacher_reply, crash_after=1), TEMPLATE, tmp_path / "crashed", candidates=cands)
    assert len(_lines(tmp_path / "crashed" / "stages.jsonl")) == 2
    again = ScriptedGenerator(teacher_reply)
    cft_data(cfg, again, TEMPLATE, tmp_path / "crashed", candidates=cands)
    keys = [r["id"] for r in _lines(tmp_path / "crashed" / "stages.jsonl")]
    assert len(again.prompts) == 2 and len(keys) == len(set(keys)) == 4
    assert _lines(tmp_path / "crashed" / "cft.jsonl") == _lines(tmp_path / "clean" / "cft.jsonl")


def test_the_teacher_stops_at_end_and_the_written_row_ends_with_it(tmp_path):
    from deepcritic.generation import cut_at_stop
    from tests.helpers.configs import compose

    pairs = _write_pairs(tmp_path / "pairs.jsonl")
    cfg = compose("cft-data", ["candidates.source=file", f"candidates.path={pairs}", "candidates.answer_field=answer"])
    assert cfg.teacher.sampling.stop == ["[END]"]  # conf/cft-data.yaml: the critique ends at its conclusion

    def stopped(text: str, sample: int) -> str:  # what a backend returns: cut before the stop string
        return cut_at_stop("The sum is 4, not 5.\nConclusion: wrong [END] Anything after.", cfg.teacher.sampling.stop)[
            0
        ]

    cft_data(cfg, ScriptedGenerator(stopped), TEMPLATE, tmp_path / "run", candidates=read_candidates(cfg.candidates))
    rows = _lines(tmp_path / "run" / "cft.jsonl")
    assert [r["meta"]["id"] for r in rows] == ["1"]  # the only wrong candidate: agreement with math-verify
    assert rows[0]["output"] == "The sum is 4, not 5.\n\nConclusion: wrong [END]"
