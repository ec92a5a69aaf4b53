"""Every loader a user's file reaches, run in-process on one file as its recipe runs it, each with two good rows
in its own input format and what they convert to (written by hand). tests/unit/test_bad_input_everywhere.py
drives pathological files through them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepcritic.config import CandidatesConfig, ChatDataConfig, DataConfig, ProblemsConfig


@dataclass(frozen=True)
class Loader:
    """Two good rows in the loader's input format, how a file is loaded (-> one value per kept row), and what the
    two rows convert to."""

    rows: tuple[dict, dict]
    load: Callable[[Path], list]
    values: list


def _records(**cfg: Any) -> Callable[[Path], list]:
    """load_records (deepcritic convert, sft, grpo, eval, filter, synthesize): (problem, steps, label) per record."""

    def load(path: Path) -> list:
        from deepcritic.data import load_records

        return [(r.problem, r.steps, r.label) for r in load_records(DataConfig(path=str(path), **cfg)).records]

    return load


def _chats(**cfg: Any) -> Callable[[Path], list]:
    """load_examples (sft chat=messages, cft): (the last prompt turn, the target) per example."""

    def load(path: Path) -> list:
        from deepcritic.chat_data import load_examples

        dataset = load_examples(ChatDataConfig(path=str(path), **cfg)).dataset
        return [(ex["prompt"][-1]["content"], ex["completion"][0]["content"]) for ex in dataset]

    return load


def _problems(**cfg: Any) -> Callable[[Path], list]:
    """load_problems (solve, refine, verify-vote, label, cft-data): (id, problem, answer) per problem."""

    def load(path: Path) -> list:
        from deepcritic.data.problems import load_problems

        return [(p.id, p.problem, p.answer) for p in load_problems(ProblemsConfig(path=str(path), **cfg))]

    return load


def _candidates(path: Path) -> list:
    """read_candidates (cft-data candidates=file): (id, question, solution, reference, graded correct)."""
    from deepcritic.datagen.cft import read_candidates

    cfg = CandidatesConfig(source="file", path=str(path), answer_field="answer")
    return [(c.id, c.question, c.solution, c.reference, c.correct) for c in read_candidates(cfg)]


def _score(path: Path) -> list:
    """The inputs of ``deepcritic score`` (its default fields): (id, label, num_steps, texts) per row."""
    from deepcritic.recipes import score

    fields = {"text": "generated_critique", "label": "label", "label_base": 0, "steps": "steps", "id": "id"}
    return [(r["id"], r["label"], r["num_steps"], [s["text"] for s in r["samples"]]) for r in score._rows(path, fields)]


RECORD_VALUES = [("1+1?", ["1+1=2"], -1), ("2+2?", ["2+2=4", "4*2=9"], 1)]


def _prm800k_row(labeler: str, problem: str, answer: str, steps: list[str], ratings: list[int], finish: str) -> dict:
    labeled = [
        {"completions": [{"text": s, "rating": r}], "chosen_completion": 0, "human_completion": None}
        for s, r in zip(steps, ratings)
    ]
    question = {"problem": problem, "ground_truth_answer": answer, "pre_generated_steps": steps}
    return {
        "labeler": labeler,
        "timestamp": f"{labeler}-t",
        "generation": 1,
        "question": question,
        "label": {"steps": labeled, "finish_reason": finish},
    }


def _mr_raw_row(uuid: str, question: str, steps: list[str], correctness: str, first: Any, answer: str) -> dict:
    return {
        "uuid": uuid,
        "question": question,
        "question_type": "original",
        "model_output_steps": steps,
        "model_output_solution_correctness": correctness,
        "model_output_solution_first_error_step": first,
        "ground_truth_answer": answer,
    }


def _chat(*turns: tuple[str, str]) -> dict:
    return {"messages": [{"role": role, "content": content} for role, content in turns]}


CRITIQUE_1 = "Step 1 is right.\n\n**Answer**: \\boxed{-1}"
CRITIQUE_2 = "Step 2 is wrong.\n\n**Answer**: \\boxed{2}"

LOADERS: dict[str, Loader] = {
    # data-contract records as deepcritic convert writes them
    "contract": Loader(
        (
            {"id": "a", "source": "t", "problem": "1+1?", "steps": ["1+1=2"], "label": -1},
            {"id": "b", "source": "t", "problem": "2+2?", "steps": ["2+2=4", "4*2=9"], "label": 1},
        ),
        _records(source="contract"),
        RECORD_VALUES,
    ),
    # own column names, 1-based labels, "N/A" for a right solution
    "generic": Loader(
        ({"q": "1+1?", "sol": ["1+1=2"], "first": "N/A"}, {"q": "2+2?", "sol": ["2+2=4", "4*2=9"], "first": "2"}),
        _records(
            source="generic",
            fields={"problem": "q", "steps": "sol", "label": "first"},
            label_base=1,
            no_error_labels=["N/A"],
        ),
        RECORD_VALUES,
    ),
    # ProcessBench's records (its files are JSON arrays; the reader goes by the extension)
    "processbench": Loader(
        (
            {
                "id": "p0",
                "generator": "m",
                "problem": "1+1?",
                "steps": ["1+1=2"],
                "final_answer_correct": True,
                "label": -1,
            },
            {
                "id": "p1",
                "generator": "m",
                "problem": "2+2?",
                "steps": ["2+2=4", "4*2=9"],
                "final_answer_correct": False,
                "label": 1,
            },
        ),
        _records(source="processbench"),
        RECORD_VALUES,
    ),
    # MR-GSM8K in ProcessBench form: "Step k:" prefixes are stripped
    "mr_gsm8k": Loader(
        (
            {"id": 0, "problem": "1+1?", "steps": ["Step 1: 1+1=2"], "label": -1},
            {"id": 1, "problem": "2+2?", "steps": ["Step 1: 2+2=4", "Step 2: 4*2=9"], "label": 1},
        ),
        _records(source="mr_gsm8k"),
        RECORD_VALUES,
    ),
    # MR-GSM8K's release: 1-based first error step, "N/A" for a correct solution
    "mr_gsm8k_raw": Loader(
        (
            _mr_raw_row("u0", "1+1?", ["1+1=2"], "correct", "N/A", "2"),
            _mr_raw_row("u1", "2+2?", ["2+2=4", "4*2=9"], "wrong", 2, "4"),
        ),
        _records(source="mr_gsm8k_raw"),
        RECORD_VALUES,
    ),
    # PRM800K phase-2 labelings: the step rated -1 is the first wrong one
    "prm800k": Loader(
        (
            _prm800k_row("l0", "1+1?", "2", ["1+1=2"], [1], "solution"),
            _prm800k_row("l1", "2+2?", "4", ["2+2=4", "4*2=9"], [1, -1], "found_error"),
        ),
        _records(source="prm800k"),
        RECORD_VALUES,
    ),
    # chat rows for sft chat=messages: the last assistant turn is the target
    "messages": Loader(
        (
            _chat(("user", "1+1?"), ("assistant", "2")),
            _chat(("system", "Be brief."), ("user", "2+2?"), ("assistant", "4")),
        ),
        _chats(source="messages"),
        [("1+1?", "2"), ("2+2?", "4")],
    ),
    # WebInstruct-CFT rows for cft: user = instruction, a newline, input
    "cft": Loader(
        (
            {"instruction": "Critique.", "input": "1+1=2", "output": "Right.\n\nConclusion: right [END]"},
            {"instruction": "Critique.", "input": "2+2=5", "output": "Wrong.\n\nConclusion: wrong [END]"},
        ),
        _chats(source="cft"),
        [
            ("Critique.\n1+1=2", "Right.\n\nConclusion: right [END]"),
            ("Critique.\n2+2=5", "Wrong.\n\nConclusion: wrong [END]"),
        ],
    ),
    # a problem set with own columns; numeric answers become text; ids are row numbers
    "problems": Loader(
        ({"question": "1+1?", "final": 2}, {"question": "2+2?", "final": 4}),
        _problems(source="file", fields={"problem": "question", "answer": "final"}),
        [("0", "1+1?", "2"), ("1", "2+2?", "4")],
    ),
    # MATH-500's format
    "math500": Loader(
        (
            {"problem": "1+1?", "answer": "2", "unique_id": "test/a/1.json"},
            {"problem": "2+2?", "answer": "4", "unique_id": "test/a/2.json"},
        ),
        _problems(source="math500"),
        [("test/a/1.json", "1+1?", "2"), ("test/a/2.json", "2+2?", "4")],
    ),
    # GSM8K's format: the answer is the number after ####
    "gsm8k": Loader(
        ({"question": "1+1?", "answer": "1+1=2\n#### 2"}, {"question": "2+2?", "answer": "2+2=4\n#### 4"}),
        _problems(source="gsm8k"),
        [("0", "1+1?", "2"), ("1", "2+2?", "4")],
    ),
    # cft-data's candidate solutions, graded against their answer column
    "candidates": Loader(
        (
            {"question": "1+1?", "solution": "1+1 = \\boxed{2}", "answer": 2},
            {"question": "2+2?", "solution": "2+2 = \\boxed{5}", "answer": 4},
        ),
        _candidates,
        [("0", "1+1?", "1+1 = \\boxed{2}", "2", True), ("1", "2+2?", "2+2 = \\boxed{5}", "4", False)],
    ),
    # saved critic outputs for deepcritic score (read as JSON values one after another, whatever the extension)
    "score": Loader(
        (
            {"id": "s1", "generated_critique": CRITIQUE_1, "label": -1, "steps": ["1+1=2"]},
            {"id": "s2", "generated_critique": CRITIQUE_2, "label": 1, "steps": ["2+2=4", "4*2=9"]},
        ),
        _score,
        [("s1", -1, 1, [CRITIQUE_1]), ("s2", 1, 2, [CRITIQUE_2])],
    ),
}
