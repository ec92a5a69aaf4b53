"""`deepcritic cft` on a small local file in WebInstruct-CFT form (instruction, input, output), tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import run_cli

INSTRUCTION = "Please critique whether the following solution to the question is correct."


def _cft_rows(n: int) -> list[dict]:
    """CFT rows made from the synthetic task: question + candidate solution -> critique with a conclusion."""
    from deepcritic.config import SyntheticConfig
    from deepcritic.data import generate_synthetic

    rows = []
    for rec in generate_synthetic(SyntheticConfig(num_records=n, seed=7)):
        solution = "\n".join(rec.steps)
        verdict = "wrong" if rec.has_error else "right"
        rows.append(
            {
                "instruction": INSTRUCTION,
                "input": f"Question:\n{rec.problem}\n\nSolution:\n{solution}",
                "output": f"{rec.meta['critique']}\n\nConclusion: {verdict} [END]",
            }
        )
    return rows


def test_cft_trains_on_a_local_cft_file(tmp_path):
    data = tmp_path / "cft.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _cft_rows(24)), encoding="utf-8")
    run_dir = tmp_path / "run"
    proc = run_cli(
        "cft",
        f"hydra.run.dir={run_dir}",
        f"chat.path={data}",
        "train.max_steps=6",
        "train.logging_steps=1",
        "train.global_batch_size=4",
        "train.per_device_batch_size=4",
        "train.learning_rate=2e-3",
        "logger=disabled",
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["global_step"] == 6 and metrics["data/examples"] == 24 and metrics["data/overlong"] == 0
    assert metrics["last_logged_loss"] < metrics["first_logged_loss"]
    card = (run_dir / "final" / "README.md").read_text()
    assert "# deepcritic cft model" in card and f"source: `{data}`" in card and "format: `llamafactory_qwen`" in card
    assert (run_dir / "final" / "model.safetensors").is_file()
    assert "training on 24 CFT examples" in proc.stdout + proc.stderr
    assert not (run_dir / "wandb").exists()  # logger=disabled


def test_cft_bad_row_is_reported_with_file_and_line(tmp_path):
    data = tmp_path / "bad.jsonl"
    rows = _cft_rows(2)
    del rows[1]["output"]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    proc = run_cli("cft", f"hydra.run.dir={tmp_path / 'run'}", f"chat.path={data}", "logger=disabled")
    assert proc.returncode == 2
    assert f"{data}, line 2, field 'output': expected a string (field is missing)" in proc.stderr
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------------------------------
# The training sequence is LLaMA-Factory's qwen rendering of the row (the CFT release's training)

RELEASE_ROWS = [
    # the WebInstruct-CFT form, a multi-line critique ending as the release's rows end
    {
        "instruction": INSTRUCTION,
        "input": "Question:\nWhat is 2 + 3?\n\nSolution:\n2 + 3 = 6\n\\boxed{6}",
        "output": "The sum 2 + 3 is 5, not 6.\nStep 1 adds wrongly.\n\nConclusion: wrong [END]",
    },
    # an empty input: the instruction alone is the user turn
    {"instruction": "What is 7 * 6?", "input": "", "output": "7 * 6 = 42.\n\nConclusion: right [END]"},
    # whitespace and newlines around every field: nothing is stripped
    {
        "instruction": "  Critique this.\n",
        "input": "\nQuestion:\n1 + 1?\n\nSolution:\n2 \n",
        "output": "\n The answer 2 is right.\nConclusion: right [END]\n",
    },
]


def _release_rendering(row: dict, tok) -> tuple[str, list[int], list[int]]:
    """Text, ids and labels by LLaMA-Factory 0.9.2.dev0's rules (template qwen): instruction and input joined by
    one newline when not empty; the default system turn; system, user+header and target tokenized each alone; the
    tokenizer's eos id after the target; labels on the target and the eos."""
    user = "\n".join(part for part in (row["instruction"], row["input"]) if part)
    system_piece = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    user_piece = f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    prompt = tok.encode(system_piece, add_special_tokens=False) + tok.encode(user_piece, add_special_tokens=False)
    target = tok.encode(row["output"], add_special_tokens=False) + [tok.eos_token_id]
    return system_piece + user_piece + row["output"] + tok.eos_token, prompt + target, [-100] * len(prompt) + target


def _trainer_on(rows: list[dict], tmp_path: Path, overrides: list[str]):
    """TRL's trainer built by the cft recipe's own stage from a file of ``rows`` (nothing trained)."""
    from deepcritic.chat_data import load_examples
    from deepcritic.modeling import load_model_and_tokenizer
    from deepcritic.training.args import trainer_kwargs
    from deepcritic.training.sft import SFTStage
    from tests.helpers.configs import compose

    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg = compose("cft", [f"chat.path={data}", "model.from_scratch=false", "model.dtype=fp32", *overrides])
    stage = SFTStage("cft", cfg, lambda _out: load_examples(cfg.chat))
    args = stage.trainer_args(trainer_kwargs(cfg, 1, output_dir=str(tmp_path / "out"), precision="fp32", cuda=False))
    stage.load_data(tmp_path)
    model, tok = load_model_and_tokenizer(cfg.model, "fp32")
    dataset, _ = stage.dataset(tok)
    return stage.trainer(model, tok, args, dataset, None, []), tok


@pytest.fixture(scope="module")
def base_model_tokenizer(tiny_qwen2, tmp_path_factory) -> Path:
    """The tiny tokenizer with eos <|endoftext|>, as Qwen2.5-Math-7B's (a base model's) tokenizer has."""
    from transformers import AutoTokenizer

    path = tmp_path_factory.mktemp("base_tokenizer")
    tok = AutoTokenizer.from_pretrained(tiny_qwen2)
    tok.eos_token = "<|endoftext|>"
    tok.save_pretrained(path)
    return path


@pytest.mark.parametrize("eos", ["<|im_end|>", "<|endoftext|>"])
def test_cft_trains_on_llamafactorys_qwen_rendering_of_each_row(
    eos, tiny_qwen2, base_model_tokenizer, tmp_path, monkeypatch
):
    for var in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):  # one process
        monkeypatch.delenv(var, raising=False)
    tokenizer = [f"model.tokenizer={base_model_tokenizer}"] if eos == "<|endoftext|>" else []
    trainer, tok = _trainer_on(RELEASE_ROWS, tmp_path, [f"model.name_or_path={tiny_qwen2}", *tokenizer])
    assert tok.eos_token == eos
    trained = [trainer.train_dataset[i] for i in range(len(RELEASE_ROWS))]  # what TRL prepared to train on
    for row, got in zip(RELEASE_ROWS, trained):
        text, ids, labels = _release_rendering(row, tok)
        assert got["input_ids"] == ids and got["labels"] == labels
        assert tok.decode(got["input_ids"]) == text  # byte-identical text
        assert text.endswith(row["output"] + eos)
    batch = trainer.data_collator(trained)  # the collator keeps the labels, padding with -100
    for i, got in enumerate(trained):
        n = len(got["labels"])
        assert batch["labels"][i, :n].tolist() == got["labels"] and set(batch["labels"][i, n:].tolist()) <= {-100}


def test_the_earlier_rendering_stays_available(tiny_qwen2, tmp_path, monkeypatch):
    """chat.format=chat_template chat.join=stripped_blank_line: the parts stripped, a blank line between, the
    tokenizer's chat template (the tiny model's Qwen-style ChatML: no system turn, <|im_end|> and a newline after
    the target), loss on the target and its end of turn."""
    for var in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    overrides = [f"model.name_or_path={tiny_qwen2}", "chat.format=chat_template", "chat.join=stripped_blank_line"]
    trainer, tok = _trainer_on(RELEASE_ROWS, tmp_path, overrides)
    for i, row in enumerate(RELEASE_ROWS):
        got = trainer.train_dataset[i]
        user = "\n\n".join(p for p in (row["instruction"].strip(), row["input"].strip()) if p)
        prompt = f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
        assert tok.decode(got["input_ids"]) == prompt + row["output"] + "<|im_end|>\n"
        target = [t for t, label in zip(got["input_ids"], got["labels"]) if label != -100]
        assert tok.decode(target) == row["output"] + "<|im_end|>\n"
