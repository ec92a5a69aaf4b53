"""Publishing's pure parts: the ``hub`` config checks, what cards say to the Hub (metadata, the model-index of the
figures deepcritic measured, read back by huggingface_hub's card parser), a dataset card, and rows as a table."""

from __future__ import annotations

import pytest
from huggingface_hub import DatasetCard, ModelCard

from deepcritic.cards import (
    DatasetInfo,
    EvalFigure,
    ModelMeta,
    benchmark_figures,
    dataset_card,
    dataset_ref,
    metadata_yaml,
    model_metadata,
    size_category,
)
from deepcritic.config import (
    DataConfig,
    HubDatasetConfig,
    HubModelConfig,
    PushConfig,
    SFTRecipeConfig,
    validate,
)
from deepcritic.config.publish import is_repo_id
from deepcritic.store import rows_table

REPO_IDS = [
    ("me/critic", True),  # owner/name
    ("critic", True),  # a name: the token's own namespace
    ("Qwen/Qwen2.5-7B-Instruct", True),  # dots and dashes
    ("a/b/c", False),  # one slash at most
    ("/tmp/model", False),  # a local path
    ("me/bad--name", False),  # the Hub forbids -- and ..
    ("me/x.git", False),  # and a .git end
    ("", False),  # empty
]


@pytest.mark.parametrize("text, ok", REPO_IDS)
def test_repo_ids(text, ok):
    assert is_repo_id(text) is ok


HUB_CHECKS = [
    # off: nothing is needed
    (HubModelConfig(), []),
    # push without a repo
    (HubModelConfig(push=True), ["hub.model_id"]),
    # a valid push
    (HubModelConfig(push=True, model_id="me/critic", revision="dev"), []),
    # a pasted token instead of a variable name, a branch with a space, a path as base model, a bad dataset id
    (
        HubModelConfig(push=True, model_id="me/c", token_env="hf_AbCdEf0123", revision="my branch", base_model="/x"),
        ["hub.base_model", "hub.token_env", "hub.revision"],
    ),
    (HubModelConfig(datasets=["Qwen/ProcessBench", "a/b/c"]), ["hub.datasets"]),
    # an unknown strategy names the choices
    (HubModelConfig(strategy="sometimes"), ["hub.strategy"]),
]


@pytest.mark.parametrize("hub, keys", HUB_CHECKS)
def test_training_hub_checks(hub, keys):
    assert [p.key for p in validate(SFTRecipeConfig(hub=hub))] == keys


def test_a_pasted_token_is_never_echoed():
    (problem,) = validate(SFTRecipeConfig(hub=HubModelConfig(token_env="hf_AbCdEf0123")))
    assert problem.value == "<hidden>" and "hf_AbCdEf0123" not in str(problem)


DATASET_CHECKS = [
    (HubDatasetConfig(), []),  # off
    (HubDatasetConfig(push=True), ["dataset_id"]),  # push without a repo
    (HubDatasetConfig(push=True, dataset_id="org/prm800k-critiques"), []),
    (HubDatasetConfig(push=True, dataset_id="a b"), ["dataset_id"]),  # not a repo id
]


@pytest.mark.parametrize("hub, keys", DATASET_CHECKS)
def test_dataset_hub_checks(hub, keys):
    assert [p.key for p in validate(hub)] == keys


def test_push_needs_a_run_and_a_repo():
    assert [p.key for p in validate(PushConfig())] == ["hub.model_id", "run"]


REFS = [
    # a local file: the benchmark's own name, the file's name beside it
    ("gsm8k", DataConfig(source="processbench", path="/d/gsm8k.json"), ("gsm8k", "gsm8k (gsm8k.json)", None, None)),
    # ProcessBench from the Hub: its subsets are splits there
    (
        "pb_math",
        DataConfig(source="processbench", subset="math"),
        ("Qwen/ProcessBench", "Qwen/ProcessBench math", None, "math"),
    ),
    # any Hub dataset: config and split
    (
        "mine",
        DataConfig(source="hub", hub_name="me/bench", subset="hard", split="test"),
        ("me/bench", "me/bench hard", "hard", "test"),
    ),
    # PRM800K with no file: its Hub copy
    ("prm", DataConfig(source="prm800k", split="test"), ("tasksource/PRM800K", "tasksource/PRM800K", None, "test")),
    # the synthetic task is built here: its name
    ("synth", DataConfig(), ("synth", "synth", None, None)),
]


@pytest.mark.parametrize("name, data, expected", REFS)
def test_dataset_refs(name, data, expected):
    assert dataset_ref(name, data) == expected


def test_figures_keep_the_card_metrics_that_have_values():
    metrics = {"f1": 0.5, "acc_error": 0.25, "acc_correct": None, "parse_rate": 1, "strict_f1": 0.4, "flag": True}
    figures = benchmark_figures("gsm8k", DataConfig(source="processbench", path="g.json"), "deepcritic", metrics, 4)
    assert [(f.metric, f.value, f.step) for f in figures] == [
        ("f1", 0.5, 4),
        ("acc_error", 0.25, 4),
        ("parse_rate", 1.0, 4),
    ]


FIGURES = [
    EvalFigure("gsm8k", "gsm8k", "gsm8k (gsm8k.json)", "deepcritic", "f1", 0.625, 6),
    EvalFigure("gsm8k", "gsm8k", "gsm8k (gsm8k.json)", "deepcritic", "parse_rate", 0.875, 6),
    EvalFigure(
        "pb_math", "Qwen/ProcessBench", "Qwen/ProcessBench math", "processbench", "f1", 0.1234, None, None, "math"
    ),
]


def _card(meta: ModelMeta) -> ModelCard:
    """The card as the Hub reads it (huggingface_hub's parser; a model-index it cannot read raises)."""
    return ModelCard(f"---\n{metadata_yaml(model_metadata(meta))}\n---\n\n# x\n")


def test_model_index_holds_every_figure_as_the_hub_reads_it():
    card = _card(ModelMeta("sft", "me/critic", figures=FIGURES))
    results = [
        (r.dataset_type, r.dataset_split, r.metric_type, r.metric_value, r.metric_config, r.metric_args)
        for r in card.data.eval_results
    ]
    assert results == [  # percentages, two decimals; the protocol as the metric's config; the step as an argument
        ("gsm8k", None, "f1", 62.5, "deepcritic", {"step": 6}),
        ("gsm8k", None, "parse_rate", 87.5, "deepcritic", {"step": 6}),
        ("Qwen/ProcessBench", "math", "f1", 12.34, "processbench", None),
    ]
    assert card.data.model_name == "me/critic"
    assert card.data.eval_results[0].metric_name == "F1 (deepcritic protocol)"
    assert card.data.eval_results[0].task_type == "text-generation"


META = [
    # a Hub base model, Hub datasets and the config's license and tags
    (
        ModelMeta("sft", "m", "Qwen/Qwen2.5-7B-Instruct", ["Qwen/ProcessBench"], "apache-2.0", ["ci"]),
        {
            "base_model": "Qwen/Qwen2.5-7B-Instruct",
            "datasets": ["Qwen/ProcessBench"],
            "library_name": "transformers",
            "license": "apache-2.0",
            "pipeline_tag": "text-generation",
            "tags": ["deepcritic", "sft", "trl", "ci"],
        },
    ),
    # a local path is no Hub id: left out (the Hub rejects it), as are local data; no figures, no model-index
    (
        ModelMeta("grpo", "m", "/runs/sft/final", ["/data/x.jsonl"], None, ["grpo"]),
        {"library_name": "transformers", "pipeline_tag": "text-generation", "tags": ["deepcritic", "grpo", "trl"]},
    ),
    # a LoRA adapter is a peft model
    (
        ModelMeta("cft", "m", "Qwen/Qwen2.5-Math-7B", adapter=True),
        {
            "base_model": "Qwen/Qwen2.5-Math-7B",
            "library_name": "peft",
            "pipeline_tag": "text-generation",
            "tags": ["deepcritic", "cft", "trl"],
        },
    ),
]


@pytest.mark.parametrize("meta, expected", META)
def test_model_metadata(meta, expected):
    assert model_metadata(meta) == expected


SIZES = [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (54_321, "10K<n<100K"), (2_000_000, "1M<n<10M")]


@pytest.mark.parametrize("rows, label", SIZES)
def test_size_categories(rows, label):
    assert size_category(rows) == label


def test_dataset_card_states_source_counts_balance_and_settings():
    info = DatasetInfo(
        recipe="convert",
        title="processbench records",
        source="source `processbench` (gsm8k.json)",
        rows=5,
        balance={"with a wrong step": 3, "without": 2},
        settings={"data": {"source": "processbench", "dedup": "none"}},
        columns=["id", "meta"],
        json_columns=["meta"],
        license="apache-2.0",
        tags=["math"],
    )
    card = DatasetCard(dataset_card(info))
    assert card.data.license == "apache-2.0" and card.data.tags == ["deepcritic", "convert", "math"]
    assert card.data.size_categories == ["n<1K"] and card.data.pretty_name == "processbench records"
    assert card.data.configs == [
        {"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*.parquet"}]}
    ]
    assert "| rows | 5 |" in card.text and "| label balance | with a wrong step 3, without 2 |" in card.text
    assert "from source `processbench` (gsm8k.json)." in card.text and '"dedup": "none"' in card.text
    assert "`meta`: JSON text" in card.text


TABLES = [
    # nested values stay lists and structs; a struct's fields are the rows' keys together
    (
        [{"a": 1, "m": {"x": 1}}, {"a": 2, "m": {"y": "s"}}],
        {"a": [1, 2], "m": [{"x": 1, "y": None}, {"x": None, "y": "s"}]},
        [],
    ),
    # one field holding a number in one row and text in another: that column is JSON text
    ([{"m": {"x": 1}}, {"m": {"x": "one"}}], {"m": ['{"x": 1}', '{"x": "one"}']}, ["m"]),
    # empty dicts: parquet cannot store a struct without fields
    ([{"m": {}}, {"m": None}], {"m": ["{}", None]}, ["m"]),
    # a column missing from some rows is None there
    ([{"a": 1}, {"b": [1]}], {"a": [1, None], "b": [None, [1]]}, []),
]


@pytest.mark.parametrize("rows, columns, as_json", TABLES)
def test_rows_as_a_table(rows, columns, as_json):
    table, json_columns = rows_table(rows)
    assert table.to_pydict() == columns and json_columns == as_json
