"""``deepcritic score`` against the official evaluation code: official-format output files of ProcessBench's
run_eval.py, DeepCritic's eval.py and MR-GSM8K's eval_mr_gsm8k.py built from real records (ProcessBench gsm8k,
MR-GSM8K raw sample) with seeded critiques (hand-made and real ones from tests/data/critic_outputs.jsonl), scored
by the recipe and by the official functions; the official vote on a hand-made table; our own predictions format;
input errors; ``deepcritic report`` labelling runs of different protocols."""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from deepcritic.config import LoggerConfig, ProtocolConfig, ReportConfig, ScoreConfig
from deepcritic.errors import DeepcriticError
from deepcritic.recipes import report, score
from tests.helpers.env import unset
from tests.helpers.official import (
    TEMPLATES,
    mr_gsm8k_evaluation,
    official,
    official_f1,
    official_match,
    official_pred,
)
from tests.helpers.paths import SHARED_DATA, TESTS

OFF = LoggerConfig(backend="none", mode="disabled")
CASES = [json.loads(line) for line in (TESTS / "data" / "critic_outputs.jsonl").read_text().splitlines()]
MR_TEXTS = [c["text"] for c in CASES if c["format"] == "mr_gsm8k"]
PROCESSBENCH = json.loads((SHARED_DATA / "processbench" / "gsm8k.json").read_text())
MR_RAW = json.loads((SHARED_DATA / "mr_gsm8k" / "raw_sample.json").read_text())


@pytest.fixture(autouse=True)
def _wandb_env(monkeypatch):
    """The recipes export WANDB_MODE (and with tracking on WANDB_PROJECT / WANDB_DIR) for the trainer's
    callback; undo that when each test ends."""
    unset(monkeypatch, "WANDB_MODE", "WANDB_PROJECT", "WANDB_DIR")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # run_dir() is the working directory outside Hydra
    return tmp_path


def _jsonl(path: Path, rows: list) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _box_critique(rng: random.Random, label: int, base: int) -> str:
    """A seeded critique: the right box (in the protocol's base), the 0-based label, a wrong index, -1, no box,
    non-integer contents, several boxes, or a real critic output."""
    right = label if label == -1 or base == 0 else label + 1
    other = rng.choice([k for k in range(-1, 8) if k != right])
    odd = rng.choice(
        ["\\frac{1}{2}", "2.5", "step 3", "", f" 0{right} ", f"+{right}"]
    )  # int() reads the last two (right >= 0)
    kinds = [
        f"Paragraph {right} is where it goes wrong.\n**Answer**: \\boxed{{{right}}}",
        f"The first error: \\boxed{{{label}}}",
        f"**Answer**: \\boxed{{{other}}}",
        "Every step is fine.\n**Answer**: \\boxed{-1}",
        "I cannot decide which step is wrong.",
        f"\\boxed{{{odd}}}",
        f"Step 1 \\boxed{{{right}}}\nStep 2 \\boxed{{{other}}}\n**Answer**: \\boxed{{{rng.choice([right, other])}}}",
        rng.choice(CASES)["text"],
    ]
    return rng.choice(kinds)


def _official_files(out: Path, protocol: str, seed: int) -> tuple[list[bool], list[bool]]:
    """gsm8k_error.jsonl / gsm8k_correct.jsonl as the official script writes them; the official matches."""
    rng = random.Random(seed)
    rows = []
    for record in PROCESSBENCH:
        text = _box_critique(rng, record["label"], 1 if protocol == "deepcritic_paper" else 0)
        pred = official_pred(protocol, text)
        match = official_match(protocol, pred, record["label"])
        rows.append({**record, "generated_critique": text, "prediction": pred, "match": match})
    error = [r for r in rows if r["label"] != -1]
    correct = [r for r in rows if r["label"] == -1]
    _jsonl(out / "gsm8k_error.jsonl", error)
    _jsonl(out / "gsm8k_correct.jsonl", correct)
    return [r["match"] for r in error], [r["match"] for r in correct]


@pytest.mark.parametrize("protocol", ["processbench", "deepcritic_paper"])
def test_score_official_box_files_gives_the_official_f1(in_tmp, protocol):
    out = in_tmp / "official"
    out.mkdir()
    m_error, m_correct = _official_files(out, protocol, seed=7)
    expected_f1 = official_f1(m_error, m_correct)
    assert 5 < expected_f1 < 95  # the seeded mix is neither all right nor all wrong
    cfg = ScoreConfig(
        inputs={"gsm8k": f"{out}/gsm8k_*.jsonl"},
        protocol=ProtocolConfig(name=protocol, template=str(TEMPLATES[protocol])),
        logger=OFF,
    )
    metrics = score.main(cfg)
    m = metrics["benchmarks"]["gsm8k"]
    assert (m["records"], m["n_error"], m["n_correct"]) == (400, len(m_error), len(m_correct))
    assert m["f1"] * 100 == pytest.approx(expected_f1)
    assert m["acc_error"] * 100 == pytest.approx(100 * sum(m_error) / len(m_error))
    assert m["acc_correct"] * 100 == pytest.approx(100 * sum(m_correct) / len(m_correct))
    assert metrics["inputs"]["gsm8k"] == [str(out / "gsm8k_correct.jsonl"), str(out / "gsm8k_error.jsonl")]
    assert json.loads((in_tmp / "metrics.json").read_text())["benchmarks"]["gsm8k"]["f1"] == m["f1"]
    assert (in_tmp / "plots" / "f1_per_benchmark.png").stat().st_size > 0
    assert f"protocol: **{protocol}**" in (in_tmp / "metrics.md").read_text()


# ProcessBench --use_voting by hand: the most common boxed STRING (first seen among equals; no box: no vote),
# then int(). (gold 0-based label, the 8 boxes (None: no box), the official vote).
VOTES = [
    (2, ["2", "2", "2", "1", "1", "x", None, None], 2),
    (1, ["01", "01", "1", "1", "1", "01", None, "5"], 1),  # "01" and "1" tie 3:3; "01" seen first; int -> 1
    (3, ["03", "3", "4", "4", "x", "x", "x", None], None),  # "x" wins, int("x") fails (an int vote: 3)
    (3, ["3", "03", "4", "4", "+3", None, None, None], 4),  # "4" wins 2:1:1:1 (an int vote: 3)
    (0, ["1", "0", "1", "0", "0", "1", "7", "7"], 1),  # "1" and "0" tie, "1" seen first
    (-1, ["-1", "-1", "2", "2", None, None, None, None], -1),
    (-1, [None] * 8, None),
    (-1, ["2", "-1", "-1", "2", "-1", None, "0", "0"], -1),
]
# error records: hits 2 of 5; correct records: hits 2 of 3; F1 = 2 * 2/5 * 2/3 / (2/5 + 2/3) = 1/2
VOTE_ACC_ERROR, VOTE_ACC_CORRECT, VOTE_F1 = 2 / 5, 2 / 3, 1 / 2


def _official_vote(texts: list[str]) -> int | None:
    """run_eval.py's voting lines, around its extract_answer (a check on the hand-made table)."""
    preds = [p for p in (official("processbench")["extract_answer"](t) for t in texts) if p is not None]
    if not preds:
        return None
    try:
        return int(Counter(preds).most_common(1)[0][0])
    except ValueError:
        return None


def test_score_official_voting_file_gives_the_official_vote(in_tmp):
    rows = []
    for i, (label, boxes, vote) in enumerate(VOTES):
        texts = [f"sample {j}: \\boxed{{{b}}}" if b is not None else f"sample {j}: unsure" for j, b in enumerate(boxes)]
        assert _official_vote(texts) == vote
        record = {"id": f"v{i}", "problem": "p", "steps": ["a", "b", "c", "d"], "label": label}
        rows.append({**record, "generated_critique": texts, "prediction": vote, "match": vote == label})
    _jsonl(in_tmp / "v_error.jsonl", rows)
    cfg = ScoreConfig(
        inputs={"v": str(in_tmp / "v_error.jsonl")},
        protocol=ProtocolConfig(name="processbench", template=str(TEMPLATES["processbench"])),
        logger=OFF,
    )
    metrics = score.main(cfg)
    maj = metrics["benchmarks"]["v"]["maj"]
    assert metrics["maj_k"] == [1, 2, 4, 8]
    assert maj["8"]["acc_error"] == pytest.approx(VOTE_ACC_ERROR)
    assert maj["8"]["acc_correct"] == pytest.approx(VOTE_ACC_CORRECT)
    assert maj["8"]["f1"] == pytest.approx(VOTE_F1)


def test_score_votes_over_every_sample_of_uneven_official_voting_files(in_tmp):
    """DeepCritic's eval.py keeps only samples with "**Answer**:" for its models, so voting lists differ in length
    (and may be empty); the vote covers every sample of each record, not the shortest list's count."""
    answer = "**Answer**: \\boxed{%s}"
    rows = [
        {"id": "a", "label": 0, "generated_critique": [answer % 1, answer % 1, answer % 2]},  # 1 -> step 0: right
        {"id": "b", "label": -1, "generated_critique": [answer % k for k in (2, -1, -1, 2, 2)]},  # "2" 3 to 2: wrong
        {"id": "c", "label": -1, "generated_critique": [answer % -1, answer % 2, answer % 2]},  # wrong
        {"id": "d", "label": -1, "generated_critique": []},  # nothing kept: no verdict
    ]
    _jsonl(in_tmp / "math_error.jsonl", rows)
    cfg = ScoreConfig(
        inputs={"math": str(in_tmp / "math_error.jsonl")},
        protocol=ProtocolConfig(name="deepcritic_paper", template=str(TEMPLATES["deepcritic_paper"])),
        model="Keven16/DeepCritic-7B-RL-PRM800K",
        logger=OFF,
    )
    metrics = score.main(cfg)
    vote = metrics["benchmarks"]["math"]["vote"]
    assert (vote["acc_error"], vote["acc_correct"], vote["f1"]) == (1.0, 0.0, 0.0)
    assert metrics["maj_k"] == [] and (in_tmp / "metrics.md").is_file()


def _mr_critique(rng: random.Random, step: int | None) -> str:
    """A seeded MR-GSM8K response for a solution whose first error is ``step`` (1-based; None: correct)."""
    k = step or rng.randint(1, 4)
    analysis = "Error Analysis: the student mixes up the rates."
    kinds = [
        f"Step-by-step Evaluation: ...\nFinal Judgement: wrong\nFirst Error Step: {k}\n{analysis}",
        f"Final Judgement: wrong\nFirst Error Step: {k + rng.choice([-1, 1, 2])}\n{analysis}",
        f"Final Judgement: Incorrect\nFirst Error Step: Step {k}\n{analysis}",
        f"Final Judgement: **wrong**\nFirst Error Step: 0{k}\n{analysis}",
        f"Final Judgement: Incorrect.\nFirst Error Step: {k}\n{analysis}",  # "correct" in "incorrect."
        "Final Judgement: correct\nFirst Error Step: N/A\nError Analysis: N/A",
        f"Final Judgement: wrong\nFirst Error Step: {k}",  # no Error Analysis: a parse error
        "The solution is wrong at step 2.",
        rng.choice(MR_TEXTS),
    ]
    return rng.choice(kinds)


def _mr_results(rng: random.Random) -> list[dict]:
    """MR-GSM8K results: the 590 wrong solutions and 120 copies made correct, each with its Evaluation_Result."""
    records = copy.deepcopy(MR_RAW)
    for i, record in enumerate(rng.sample(MR_RAW, 120)):
        record = copy.deepcopy(record)
        record["uuid"] = f"{record['uuid']}-correct-{i}"
        record["model_output_solution_correctness"] = "correct"
        record["model_output_solution_first_error_step"] = "N/A"
        records.append(record)
    for record in records:
        wrong = record["model_output_solution_correctness"] == "wrong"
        text = _mr_critique(rng, record["model_output_solution_first_error_step"] if wrong else None)
        record["Evaluation_Result"] = mr_gsm8k_evaluation(text)
    return records


def test_score_mr_gsm8k_results_gives_the_official_mcc_and_task2(in_tmp):
    records = _mr_results(random.Random(3))
    path = in_tmp / "mr_eval_results.json"
    path.write_text(json.dumps(records, indent=2), encoding="utf-8")
    n_wrong = sum(r["model_output_solution_correctness"] == "wrong" for r in records)
    n_correct = len(records) - n_wrong
    assert (n_wrong, n_correct) == (590, 120)

    fns = official("mr_gsm8k")
    graded = [{**r, "Error_Reason_Correctness_Analysis": {"error_reason_correctness": ""}} for r in records]
    stats = fns["construct_eval_stats"](
        fns["process_eval_results"](graded), correct_sol_num=n_correct, incorrect_sol_num=n_wrong
    )
    mcc = fns["MCC_score"](stats["t1-tp"], stats["t1-tn"], stats["t1-fp"], stats["t1-fn"])
    assert 0.05 < abs(mcc) < 0.95 and 0.05 < stats["t2-accuracy"] < 0.95  # a mixed result (MCC < 0 here)

    cfg = ScoreConfig(
        inputs={"mr": str(path)},
        protocol=ProtocolConfig(name="mr_gsm8k", template=str(TEMPLATES["mr_gsm8k"])),
        text_field="Evaluation_Result.evaluation_raw_response",
        label_field="model_output_solution_first_error_step",
        label_base=1,
        steps_field="model_output_steps",
        id_field="uuid",
        logger=OFF,
    )
    tasks = score.main(cfg)["benchmarks"]["mr"]["mr_gsm8k"]
    assert tasks["t1_mcc"] == pytest.approx(mcc)
    assert tasks["t2_accuracy"] == pytest.approx(stats["t2-accuracy"])
    assert tasks["t1_tpr"] == pytest.approx(stats["t1-recall"]) and tasks["t1_tnr"] == pytest.approx(stats["t1-fpr"])
    assert "## MR-GSM8K tasks" in (in_tmp / "metrics.md").read_text()


# Our predictions rows under protocol deepcritic (strict final line, 1-based): (label, num_steps, 2 samples).
OWN = [
    (1, 3, ["**Answer**: \\boxed{2}", "**Answer**: \\boxed{1}"]),  # hit, miss (step 1 is label 0)
    (0, 3, ["Step 1 wrong \\boxed{1}", "**Answer**: \\boxed{1}"]),  # no answer line, hit
    (-1, 3, ["**Answer**: \\boxed{-1}", "**Answer**: \\boxed{-1}"]),  # hit, hit
    (-1, 2, ["**Answer**: \\boxed{3}", "**Answer**: \\boxed{0}"]),  # past the last step, no step 0: None, None
    (2, 3, ["ends with \\boxed{3}", "**Answer**: \\boxed{3}"]),  # no answer line, hit
]
# sample 0: error 1/3, correct 1/2, F1 2/5; sample 1: error 2/3, correct 1/2, F1 4/7; mean F1 (2/5 + 4/7) / 2.
# Maj@2 (first among tied parsed verdicts): verdicts 1, 0, -1, None, 2: error 3/3, correct 1/2, F1 2/3.
OWN_F1, OWN_PARSE, OWN_MAJ2 = (2 / 5 + 4 / 7) / 2, 6 / 10, 2 / 3


def test_score_own_predictions_file_under_deepcritic(in_tmp):
    rows = [
        {"id": f"r{i}", "label": label, "num_steps": n, "samples": [{"text": t} for t in texts]}
        for i, (label, n, texts) in enumerate(OWN)
    ]
    _jsonl(in_tmp / "mine.jsonl", rows)
    metrics = score.main(ScoreConfig(inputs={"mine": str(in_tmp / "mine.jsonl")}, logger=OFF))
    m = metrics["benchmarks"]["mine"]
    assert metrics["protocol"]["name"] == "deepcritic"
    assert m["f1"] == pytest.approx(OWN_F1) and m["parse_rate"] == pytest.approx(OWN_PARSE)
    assert (m["acc_error"], m["acc_correct"]) == (pytest.approx(1 / 2), pytest.approx(1 / 2))
    assert m["maj"]["2"]["f1"] == pytest.approx(OWN_MAJ2)


# (file content, None: no file; ScoreConfig fields; fragments the message must contain besides the file's path)
ERRORS = [
    ('{"label": 0, "critique": "x"}\n', {}, ["line 1", "generated_critique"]),
    ('{"generated_critique": "x", "gold": 0}\n', {}, ["line 1", "'label'"]),
    ('[{"out": {"text": "x"}, "label": 1}]', {"text_field": "out.txt"}, ["record 0", "'out.txt'"]),
    ('{"generated_critique": "x", "label": "three"}\n', {}, ["line 1", "label"]),
    ('{"generated_critique": [1, 2], "label": 0}\n', {}, ["line 1", "generated_critique"]),
    ("this is not JSON\n", {}, ["not JSON"]),
    (None, {}, ["inputs.b", "no such file"]),
]


@pytest.mark.parametrize(("content", "fields", "fragments"), ERRORS)
def test_score_input_errors_name_the_file_and_the_field(in_tmp, content, fields, fragments):
    path = in_tmp / "outputs.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DeepcriticError) as err:
        score.main(ScoreConfig(inputs={"b": str(path)}, logger=OFF, **fields))
    assert all(f in str(err.value) for f in [str(path), *fragments]), str(err.value)


def _fake_run(root: Path, name: str, recipe: str, model: str, protocol: str, f1: float) -> str:
    run = root / name
    run.mkdir()
    metrics = {
        "recipe": recipe,
        "model": model,
        "protocol": {"name": protocol},
        "primary_metric": "f1",
        "benchmarks": {"b": {"f1": f1, "acc_error": f1, "acc_correct": f1}},
        "average": {"f1": f1},
    }
    (run / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return str(run)


@pytest.mark.parametrize(
    ("protocols", "mixed"),
    [(("processbench", "deepcritic"), True), (("mr_gsm8k", "mr_gsm8k"), False)],
)
def test_report_labels_rows_with_their_protocol_when_protocols_differ(tmp_path, protocols, mixed):
    runs = [
        _fake_run(tmp_path, "one", "eval", "critic-a", protocols[0], 0.5),
        _fake_run(tmp_path, "two", "score", "critic-b", protocols[1], 0.25),
    ]
    result = report.main(ReportConfig(runs=runs, output=str(tmp_path / "rep")))
    md = (tmp_path / "rep" / "report.md").read_text()
    assert result["protocols"] == list(protocols)
    if mixed:
        assert "**These runs use different evaluation protocols** (deepcritic, processbench)" in md
        assert "| critic-a [processbench] | 50.0 | 50.0 |" in md and "| critic-b [deepcritic] | 25.0 | 25.0 |" in md
    else:
        assert "different evaluation protocols" not in md and f"Protocol: {protocols[0]}." in md
        assert "| critic-a | 50.0 | 50.0 |" in md and "| critic-b | 25.0 | 25.0 |" in md
