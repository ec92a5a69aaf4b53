"""Report helpers: number formatting, Markdown tables, picking metrics across runs, plots on disk."""

from __future__ import annotations

import math

import pytest

from deepcritic.eval.compare import comparison, metric_value, run_labels
from deepcritic.eval.report import column_table, flatten, markdown_table, mean_over, num, pct, plot_bars, plot_curves

PCT = [
    # a fraction as a percentage with one decimal
    (0.4567, "45.7"),
    (1.0, "100.0"),
    (0.0, "0.0"),
    # undefined
    (None, "—"),
    (math.nan, "—"),
]


@pytest.mark.parametrize("value, want", PCT)
def test_pct(value, want):
    assert pct(value) == want


def test_num_and_markdown_table():
    assert num(None) == "—" and num(3.14159, 2) == "3.14"
    assert markdown_table(["a", "b"], [["1", "x|y"]]) == "| a | b |\n| --- | --- |\n| 1 | x\\|y |\n"


BENCH = {
    "f1": 0.5,
    "acc_error": 0.25,
    "accuracy": 0.7,
    "flag": True,
    "maj": {"8": {"f1": 0.75, "accuracy": 0.9}, "2": 0.4},
}

METRIC = [
    # a top-level metric
    ("f1", "f1", 0.5),
    ("acc_error", "f1", 0.25),
    # maj@k reads the run's primary metric under k
    ("maj@8", "f1", 0.75),
    ("maj@8", "accuracy", 0.9),
    # a plain number under maj
    ("maj@2", "f1", 0.4),
    # absent, and non-numeric values
    ("maj@4", "f1", None),
    ("nope", "f1", None),
    ("flag", "f1", None),
]


@pytest.mark.parametrize("metric, primary, want", METRIC)
def test_metric_value(metric, primary, want):
    assert metric_value(BENCH, metric, primary) == want


LABELS = [
    # given names win
    ([{"model": "m"}], ["r1"], ["x"], ["x"]),
    # model names; the same model twice gets its run directory
    ([{"model": "m"}, {"model": "m"}, {"model": "n"}], ["r1", "r2", "r3"], [], ["m (r1)", "m (r2)", "n"]),
    # still repeated: numbered by position
    ([{"model": "m"}, {"model": "m"}], ["r", "r"], [], ["m (r) #1", "m (r) #2"]),
    # no model recorded: the run directory
    ([{}], ["r1"], [], ["r1"]),
]


@pytest.mark.parametrize("metrics, runs, names, want", LABELS)
def test_run_labels(metrics, runs, names, want):
    assert run_labels(metrics, runs, names) == want


def test_comparison_union_of_benchmarks_and_average():
    a = {"primary_metric": "f1", "benchmarks": {"x": {"f1": 0.5}, "y": {"f1": 1.0}}, "average": {"f1": 0.75}}
    b = {"primary_metric": "f1", "benchmarks": {"y": {"f1": 0.2}, "z": {"f1": 0.4}}}  # no average entry
    columns, table, metric = comparison([a, b], ["A", "B"], None)
    assert metric == "f1" and columns == ["x", "y", "z", "average"]
    assert table["A"] == {"x": 0.5, "y": 1.0, "z": None, "average": 0.75}
    assert table["B"]["x"] is None and table["B"]["average"] == pytest.approx(0.3)  # mean of its benchmarks


def test_column_table_and_mean_over():
    per = {"a": {"accuracy": 0.5, "n": 3, "maj": {"4": {"accuracy": 1.0}}}, "b": {"accuracy": None, "n": 2}}
    avg = mean_over(per, ["accuracy"])
    assert avg == {"accuracy": 0.5, "maj": {"4": {"accuracy": 1.0}}}
    header, rows = column_table(per, avg, [("acc", "accuracy", "pct"), ("n", "n", "int"), ("Maj@4", "maj@4", "pct")])
    assert header == ["benchmark", "acc", "n", "Maj@4"]
    assert rows == [["a", "50.0", "3", "100.0"], ["b", "—", "2", "—"], ["**average**", "50.0", "—", "100.0"]]


def test_flatten_for_wandb_summary():
    assert flatten("eval", {"a": {"f1": 0.5, "maj": {"2": {"f1": None}}}, "l": [1]}) == {"eval/a/f1": 0.5}


def test_plots_are_written(tmp_path):
    bars = plot_bars(
        {"b1": {"F1": 0.5, "acc": None}, "b2": {"F1": 1.0, "acc": 0.2}}, "t", "%", tmp_path / "p" / "bars.png"
    )
    curve = plot_curves({"b1": {1: 0.1, 2: 0.3, 4: None}}, "t", "k", "%", tmp_path / "curve.png")
    assert bars.read_bytes()[:4] == b"\x89PNG" and curve.read_bytes()[:4] == b"\x89PNG"
