"""``synthesize``, ``label`` and ``cft-data`` (on scripted models) write their output as local parquet
(``output=<name>.parquet``) and push it as a Hub data set (``hub.push=true``) to a local fake of the Hub: the same
rows as the JSONL a default run writes, and a dataset card stating the source, counts, label balance and settings."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard

from deepcritic.config import CandidatesConfig, CFTDataConfig, HubDatasetConfig
from deepcritic.datagen.cft import read_candidates
from deepcritic.recipes.cft_data import cft_data
from deepcritic.recipes.label import label
from deepcritic.recipes.synthesize import Templates, synthesize
from tests.helpers.datagen_fakes import ScriptedGenerator
from tests.helpers.fake_hub import FakeHub, point_huggingface_hub_at
from tests.unit import test_cft_data_pipeline as cft_case
from tests.unit import test_label_pipeline as label_case
from tests.unit import test_synthesize_pipeline as synth_case

TOKEN = "hf_datagen0test0" + "Pq7Rs1Tu3Vw5Xy9Za2"
PARQUET = "data/train-00000-of-00001.parquet"


@pytest.fixture
def fake(monkeypatch, tmp_path):
    with FakeHub(token=TOKEN) as server:
        point_huggingface_hub_at(server, monkeypatch, tmp_path / "hf")
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        yield server


def _hub(dataset_id: str) -> HubDatasetConfig:
    return HubDatasetConfig(push=True, dataset_id=dataset_id, license="cc-by-4.0")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _pushed(fake: FakeHub, repo_id: str) -> tuple[list[dict], DatasetCard]:
    files = fake.files(repo_id, "dataset")
    assert sorted(files) == ["README.md", PARQUET]
    return pq.read_table(io.BytesIO(files[PARQUET])).to_pylist(), DatasetCard(files["README.md"].decode())


def _synthesize(cfg, out: Path) -> dict:
    teacher = ScriptedGenerator(synth_case.teacher_reply, name="scripted-teacher")
    return synthesize(cfg, synth_case.RECORDS, teacher, Templates.load(cfg), out)


def test_synthesize_writes_parquet_and_pushes_the_chats_with_a_card(fake, tmp_path):
    base = synth_case.cfg.__wrapped__(tmp_path)  # the pipeline test's config (its templates under tmp_path)
    _synthesize(base, tmp_path / "jsonl")
    summary = _synthesize(
        replace(base, output=str(tmp_path / "sft.parquet"), hub=_hub("tester/critiques")), tmp_path / "run"
    )
    expected = _jsonl(tmp_path / "jsonl" / "sft.jsonl")
    local = pq.read_table(tmp_path / "sft.parquet").to_pylist()
    assert [(r["id"], r["messages"]) for r in local] == [(r["id"], r["messages"]) for r in expected]
    rows, card = _pushed(fake, "tester/critiques")
    assert [(r["id"], r["label"], r["messages"]) for r in rows] == [
        (r["id"], r["label"], r["messages"]) for r in expected
    ]
    assert card.data.license == "cc-by-4.0" and card.data.tags == ["deepcritic", "synthesize"]
    assert "critiques by the teacher `scripted-teacher`" in card.text and "| rows | 3 |" in card.text
    assert "| label balance | with a wrong step 1, without 2 |" in card.text and '"in_depth_samples": 2' in card.text
    assert summary["hub_commit"].startswith(f"{fake.url}/datasets/tester/critiques/commit/")
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["hub_commit"] == summary["hub_commit"]


def test_label_pushes_the_labeled_records_with_their_balance(fake, tmp_path):
    cfg = replace(label_case._cfg(), hub=_hub("tester/mc-labels"))
    generator = ScriptedGenerator(label_case.generator_reply, name="scripted-gen")
    label(cfg, label_case.PROBLEMS, generator, label_case._prompts(), tmp_path)
    rows, card = _pushed(fake, "tester/mc-labels")
    assert [(r["id"], r["label"]) for r in rows] == [("s/mixed-s0", -1), ("s/mixed-s1", 0), ("s/mixed-s3", 1)]
    assert [r["meta"]["mc_estimates"] for r in rows] == [[1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    assert "| label balance | with a wrong step 2, without 1 |" in card.text and "`scripted-gen`" in card.text


def test_cft_data_pushes_rows_with_their_conclusions(fake, tmp_path):
    cfg = CFTDataConfig(
        candidates=CandidatesConfig(source="file", path=str(cft_case._write_pairs(tmp_path / "pairs.jsonl"))),
        batch_size=2,
        hub=_hub("tester/cft-rows"),
    )
    cfg.candidates.answer_field = "answer"
    teacher = ScriptedGenerator(cft_case.teacher_reply, name="t")
    cft_data(cfg, teacher, cft_case.TEMPLATE, tmp_path / "run", candidates=read_candidates(cfg.candidates))
    rows, card = _pushed(fake, "tester/cft-rows")
    assert [r["output"][-25:] for r in rows] == [r["output"][-25:] for r in _jsonl(tmp_path / "run" / "cft.jsonl")]
    assert "| label balance | concluded right 1, concluded wrong 1 |" in card.text
