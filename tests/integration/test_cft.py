"""`deepcritic cft` on a small local file in WebInstruct-CFT form (instruction, input, output), tiny model."""

from __future__ import annotations

import json

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
    assert "# deepcritic cft model" in card and f"source: `{data}`" in card
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
