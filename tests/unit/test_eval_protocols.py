r"""Evaluation protocols against the official code: verdict readers on real critic outputs and on hand-made edge
cases, votes, MR-GSM8K's task statistics, the official-file pinning, template convention checks.

Real outputs: tests/data/critic_outputs.jsonl, 75 critic outputs stored in public repositories, each with its
source (repository @ commit : path, and the record inside the file) and license: 63 from MR-GSM8K's stored
evaluations (dvlab-research/MR-GSM8K eval_results/gpt4-grading/*: Claude-2, GPT-3.5, Llama-2-70B, MetaMath,
MAmmoTH, WizardMath), 10 from WooooDyy/MathCritique (critiques with several boxes, non-integer contents), 2
from RUCBM/DeepCritic (Critique_Generation/example*.txt, per-step critiques ending in a per-step box).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepcritic.config import PROTOCOL_NAMES
from deepcritic.eval.metrics import mr_gsm8k_tasks
from deepcritic.eval.protocols import OFFICIAL_FILES, PROTOCOLS, get_protocol
from deepcritic.eval.readers import last_box
from tests.helpers.official import (
    TEMPLATES,
    mr_gsm8k_evaluation,
    official,
    official_match,
    official_pred,
)
from tests.helpers.paths import TESTS

CASES = [json.loads(line) for line in (TESTS / "data" / "critic_outputs.jsonl").read_text().splitlines()]
BOX = ("processbench", "deepcritic_paper")
LABELS = [-1, 0, 1, 2, 3, 4, 9]


@pytest.fixture(scope="module")
def protocols():
    return {name: get_protocol(name, str(TEMPLATES[name])) for name in TEMPLATES}


def test_the_collected_outputs_are_real_and_enough():
    assert len(CASES) >= 30
    assert all(c["source"].count("@") == 1 and len(c["source"].split("@")[1].split(":")[0]) == 40 for c in CASES)
    assert {c["license"] for c in CASES} <= {"MIT", "Apache-2.0"}


def test_protocol_names_agree_with_the_config():
    assert PROTOCOL_NAMES == PROTOCOLS


@pytest.mark.parametrize("name", BOX)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['format']}:{c['locator'][:40]}")
def test_box_readers_score_real_outputs_as_the_official_code(protocols, name, case):
    """For every gold label, our verdict matches the label exactly when the official script counts a match."""
    verdict = protocols[name].extract_verdict(case["text"])
    pred = official_pred(name, case["text"])
    assert [verdict == label for label in LABELS] == [official_match(name, pred, label) for label in LABELS]
    assert (verdict is None) == (pred is None or pred < -1 or (name == "deepcritic_paper" and pred == 0))


def test_box_readers_give_verdicts_where_the_official_ones_do(protocols):
    """The collected outputs: how many the official reader and ours answer (the strict reader stays stricter)."""
    p = protocols["processbench"]
    official_answers = sum(official_pred("processbench", c["text"]) is not None for c in CASES)
    ours = sum(p.extract_verdict(c["text"]) is not None for c in CASES)
    strict = sum(p.read(c["text"]).strict is not None for c in CASES)
    assert ours == official_answers and strict <= ours


# Hand-computed: (text, ProcessBench verdict, DeepCritic-paper verdict, strict ProcessBench, strict DeepCritic)
EDGE = [
    ("no box at all", None, None, None, None),
    ("paragraph 2 is wrong: \\boxed{2}", 2, 1, 2, None),  # DeepCritic's strict reader needs the Answer line
    ("**Answer**: \\boxed{3}", 3, 2, 3, 2),
    ("**Answer**: \\boxed{-1}", -1, -1, -1, -1),
    ("\\boxed{0}", 0, None, 0, None),  # 0 names no step in a 1-based protocol
    ("\\boxed{-2}", None, None, None, None),
    ("\\boxed{03}", 3, 2, 3, None),  # int("03") == 3; the strict DeepCritic line wants a plain number too
    ("\\boxed{ +2 }", 2, 1, 2, None),
    ("\\boxed{1_0}", 10, 9, None, None),  # Python's int() reads digit separators
    ("\\boxed{\u0663}", 3, 2, None, None),  # and Arabic-Indic digits
    ("\\boxed{\\frac{1}{2}}", None, None, None, None),  # the official box ends at the first }: "\frac{1"
    ("first \\boxed{4}, then the corrected answer \\boxed{42}", 42, 41, None, None),  # answer read as a step
    ("Step 1 ... \\boxed{1}\nStep 2 ... \\boxed{-1}\n**Answer**: \\boxed{2}\nDone.", 2, 1, None, 1),
    ("Step 1 ok \\boxed{1}\nStep 2 ok \\boxed{1}\nStep 3: the cri", 1, 0, None, None),  # truncated: last step box
    ("\\boxed{2}\n\n", 2, 1, 2, None),
    ("\\boxed{two}", None, None, None, None),
    ("\\boxed{}", None, None, None, None),
]


@pytest.mark.parametrize(("text", "pb", "dc", "pb_strict", "dc_strict"), EDGE)
def test_box_readers_on_edge_cases(protocols, text, pb, dc, pb_strict, dc_strict):
    got = (protocols["processbench"].read(text, 5), protocols["deepcritic_paper"].read(text, 5))
    assert (got[0].verdict, got[1].verdict, got[0].strict, got[1].strict) == (pb, dc, pb_strict, dc_strict)
    for name, verdict in (("processbench", pb), ("deepcritic_paper", dc)):  # and the official code agrees
        pred = official_pred(name, text)
        assert [verdict == label for label in LABELS] == [official_match(name, pred, label) for label in LABELS]


# (texts, ProcessBench vote, DeepCritic vote for a non-DeepCritic model), hand-computed from the official rule:
# the most common boxed string among samples that have one (first seen wins a tie), then int().
VOTES = [
    (["\\boxed{2}", "\\boxed{3}", "\\boxed{3}"], 3, 2),
    (["\\boxed{2}", "\\boxed{3}"], 2, 1),  # tie: the first seen
    (["\\boxed{3}", "\\boxed{03}", "\\boxed{2}", "\\boxed{2}"], 2, 1),  # "3" and "03" are different votes
    (["no box", "no box", "\\boxed{1}"], 1, 0),  # unreadable samples do not vote
    (["\\boxed{x}", "\\boxed{x}", "\\boxed{1}"], None, None),  # the winning string is not a number
    (["**Answer**: \\boxed{2}", "\\boxed{3}", "\\boxed{3}"], 3, 2),  # (a DeepCritic model: 1, test below)
    (["a", "b"], None, None),
]


@pytest.mark.parametrize(("texts", "pb", "dc"), VOTES)
def test_votes(protocols, texts, pb, dc):
    assert protocols["processbench"].vote(texts) == pb
    other_model = get_protocol("deepcritic_paper", str(TEMPLATES["deepcritic_paper"]), model="Qwen/Qwen2.5-7B")
    assert other_model.vote(texts) == dc
    answered = [t for t in texts if "**Answer**:" in t]  # a DeepCritic model: only these samples vote
    assert protocols["deepcritic_paper"].vote(texts) == other_model.vote(answered)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["\\boxed{", "}", "{", "a", " 3 ", "-1", "\\boxed", "x}", "\n"]), max_size=14))
def test_last_box_is_the_official_extraction(parts):
    text = "".join(parts)
    assert last_box(text) == official("processbench")["extract_answer"](text)


def test_deepcritic_paper_filters_votes_only_for_deepcritic_models():
    texts = ["**Answer**: \\boxed{2}", "\\boxed{3}", "\\boxed{3}"]
    path = str(TEMPLATES["deepcritic_paper"])
    assert get_protocol("deepcritic_paper", path, model="Keven16/DeepCritic-7B-RL-PRM800K").vote(texts) == 1
    assert get_protocol("deepcritic_paper", path, model="Qwen/Qwen2.5-7B-Instruct").vote(texts) == 2


MR_CASES = [c for c in CASES if c["format"] == "mr_gsm8k"]


@pytest.mark.parametrize("case", MR_CASES, ids=lambda c: c["locator"][:48])
def test_mr_gsm8k_reader_scores_real_outputs_as_the_official_code(protocols, case):
    """Task 1 and task 2 of one real output, for a correct and for a wrong gold solution at every step."""
    p = protocols["mr_gsm8k"]
    reading = p.read(case["text"])
    evaluation = mr_gsm8k_evaluation(case["text"])
    stats = official("mr_gsm8k")["process_eval_results"]
    sample = {"judgement": reading.judgement, "key": reading.vote_key}
    for gold_step in ["N/A", 1, 2, 3, 4, 7]:
        gold = {"model_output_solution_correctness": "correct" if gold_step == "N/A" else "wrong"}
        record = {**gold, "model_output_solution_first_error_step": gold_step, "Evaluation_Result": evaluation}
        want = stats([{**record, "Error_Reason_Correctness_Analysis": {"error_reason_correctness": ""}}])
        label = -1 if gold_step == "N/A" else gold_step - 1
        ours = _mr_counts(sample, label)
        assert ours == (want["t1-tp"], want["t1-tn"], want["t2_corr_num"])


def _mr_counts(sample: dict, label: int) -> tuple[int, int, int]:
    tasks = mr_gsm8k_tasks([{"label": label, "samples": [sample]}])
    correct = label == -1
    tp = int(correct and tasks["t1_tpr"] == 1)
    tn = int(not correct and tasks["t1_tnr"] == 1)
    return tp, tn, int(not correct and tasks["t2_accuracy"] == 1)


def test_mr_gsm8k_reader_agrees_with_the_parse_stored_beside_the_outputs(protocols):
    """MR-GSM8K's stored results carry the repository's own parse of each output: same judgement, same step."""
    checked = 0
    for case in MR_CASES:
        stored = (case["gold"] or {}).get("stored_parse")
        if not stored:
            continue
        reading = protocols["mr_gsm8k"].read(case["text"])
        assert reading.judgement == stored["correctness_pred"].strip().lower().replace("incorrect", "wrong")
        checked += 1
    assert checked >= 30


MR_EDGE = [
    # (text, verdict, strict, judgement) for a 5-step solution
    ("Final Judgement: wrong\nFirst Error Step: 3\nError Analysis: x", 2, 2, "wrong"),
    ("Final Judgement: Incorrect\nFirst Error Step: Step 2\nError Analysis: x", 1, 1, "wrong"),
    ("Final Judgement: **correct**\nFirst Error Step: N/A\nError Analysis: N/A", -1, -1, "**correct**"),
    ("Final Judgement: not correct\nFirst Error Step: 2\nError Analysis: x", -1, None, "not correct"),  # substring
    ("Final Judgement: wrong\nFirst Error Step: 03\nError Analysis: x", None, 2, "wrong"),  # "03" != "3"
    ("Final Judgement: wrong\nFirst Error Step: 9\nError Analysis: x", 8, None, "wrong"),  # past the last step
    ("Final Judgement: wrong\nFirst Error Step: 2", None, None, None),  # a missing field: a parse error
    ("nothing", None, None, None),
]


@pytest.mark.parametrize(("text", "verdict", "strict", "judgement"), MR_EDGE)
def test_mr_gsm8k_edge_cases(protocols, text, verdict, strict, judgement):
    reading = protocols["mr_gsm8k"].read(text, 5)
    assert (reading.verdict, reading.strict, reading.judgement) == (verdict, strict, judgement)
    if judgement is None:
        assert mr_gsm8k_evaluation(text)["solution_correctness"] == "PARSE_ERROR"


def test_mr_gsm8k_mcc_equals_the_official_formula():
    rows = [
        {"label": -1, "samples": [{"judgement": "correct", "key": None}]},
        {"label": -1, "samples": [{"judgement": "wrong", "key": "1"}]},
        {"label": -1, "samples": [{"judgement": "correct", "key": None}]},
        {"label": 1, "samples": [{"judgement": "wrong", "key": "2"}]},
        {"label": 0, "samples": [{"judgement": "wrong", "key": "3"}]},
        {"label": 2, "samples": [{"judgement": None, "key": None}]},
    ]
    tasks = mr_gsm8k_tasks(rows)
    # tp 2 of 3 correct, tn 2 of 3 wrong, fp 1, fn 1: MCC (2*2 - 1*1) / sqrt(3*3*3*3) = 3/9; task 2: 1 of 3
    fns = official("mr_gsm8k")
    stats = fns["construct_eval_stats"]({"t1-tp": 2, "t1-tn": 2, "t2_corr_num": 1, "t3_corr_num_auto": 0}, 3, 3)
    assert tasks["t1_mcc"] == pytest.approx(fns["MCC_score"](2, 2, stats["t1-fp"], stats["t1-fn"])) == 1 / 3
    assert tasks["t2_accuracy"] == pytest.approx(stats["t2-accuracy"]) == 1 / 3


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("\\boxed{}-+0123456789 \n*:AnswrFilJudgemtSp")), max_size=300))
def test_readers_never_raise(text):
    for name in PROTOCOLS:
        p = _protocol(name)
        reading = p.read(text, 4)
        assert reading.verdict is None or reading.verdict >= -1
        assert reading.strict is None or -1 <= reading.strict < 4
        p.vote([text, text[::-1]], 4)


def _protocol(name: str):
    return get_protocol(name, str(TEMPLATES[name])) if name in TEMPLATES else get_protocol(name)


def test_readers_stay_fast_on_adversarial_outputs():
    import time

    texts = ["Final Judgement:" * 20000, "\\boxed{" * 30000, "**Answer**: \\boxed{" * 5000 + "1"]
    start = time.perf_counter()
    for name in PROTOCOLS:
        for text in texts:
            _protocol(name).read(text, 10)
    assert time.perf_counter() - start < 5


def test_official_files_pin_the_reference_copies():
    import hashlib

    for name, file in OFFICIAL_FILES.items():
        assert hashlib.sha256(TEMPLATES[name].read_bytes()).hexdigest() == file.sha256
        assert len(file.commit) == 40 and file.url.startswith("https://raw.githubusercontent.com/")
