"""The eval / report / solve / refine / verify-vote recipes end to end with a scripted generator in place of
a model: exact metric values, every output file, resuming, and user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepcritic.config import EvalConfig, LoggerConfig, RefineConfig, ReportConfig, SamplingConfig, SolveConfig
from deepcritic.errors import ConfigError, DeepcriticError
from deepcritic.generation import Completion
from deepcritic.recipes import evaluate, refine, report, solve, verify_vote
from tests.helpers.env import unset
from tests.helpers.eval_fakes import Scripted, is_critic, is_revise, ok

OFF = LoggerConfig(backend="none", mode="disabled")


@pytest.fixture(autouse=True)
def _wandb_env(monkeypatch):
    """The recipes export WANDB_MODE (and with tracking on WANDB_PROJECT / WANDB_DIR) for the trainer's
    callback; undo that when each test ends."""
    unset(monkeypatch, "WANDB_MODE", "WANDB_PROJECT", "WANDB_DIR")


def _records(path: Path, labels: list[int]) -> str:
    rows = [
        {"id": f"r{i}", "source": "t", "problem": f"problem {i}", "steps": ["s1", "s2", "s3"], "label": label}
        for i, label in enumerate(labels)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def _oracle_critic(wrong_ids: set[str] = frozenset()):
    """Names the labeled step (1-based) from a table keyed by the problem text; wrong for ``wrong_ids``."""

    def rule(prompt: str, j: int) -> Completion:
        i = int(prompt.split("problem ")[1].split()[0])
        label = LABELS[i]
        if f"r{i}" in wrong_ids:
            return ok("I cannot decide")  # unparseable
        k = -1 if label == -1 else label + 1
        return ok(f"Step 1 fine \\boxed{{1}}\n**Answer**: \\boxed{{{k}}}")

    return Scripted(rule)


LABELS = [1, -1, 0, -1, 2, -1]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # run_dir() is the working directory outside Hydra
    return tmp_path


def test_eval_writes_outputs_with_exact_metrics_and_resumes(in_tmp, monkeypatch):
    data = _records(in_tmp / "recs.jsonl", LABELS)
    critic = _oracle_critic({"r0"})  # r0 (label 1) unparseable: acc_error 2/3, acc_correct 3/3
    monkeypatch.setattr(evaluate, "shared_generator", lambda model, rollout: critic)
    cfg = EvalConfig(
        benchmarks={"mine": {"source": "contract", "path": data}},
        sampling=SamplingConfig(n=2),
        batch_size=4,
        logger=OFF,
        limit=4,
        seed=0,
    )
    metrics = evaluate.main(cfg)
    m = metrics["benchmarks"]["mine"]
    rows = [json.loads(x) for x in (in_tmp / "predictions" / "mine.jsonl").read_text().splitlines()]
    ids = [r["id"] for r in rows]
    # limit 4 of 3 + 3: a seeded sample of 2 records per class, in file order; seed 0 draws r0 (unparseable)
    assert sorted(LABELS[int(i[1:])] == -1 for i in ids) == [False, False, True, True] and ids == sorted(ids)
    assert "r0" in ids and all(len(r["samples"]) == 2 for r in rows)
    # r0 unparseable -> acc_error 1/2, acc_correct 2/2, F1 2/3
    assert (m["records"], m["acc_error"], m["acc_correct"]) == (4, 0.5, 1.0)
    assert m["f1"] == pytest.approx(2 / 3) and m["parse_rate"] == 0.75 and m["maj"]["2"]["f1"] == pytest.approx(2 / 3)
    assert m["strict_f1"] == pytest.approx(2 / 3)  # deepcritic's protocol is the strict one
    assert metrics["maj_k"] == [1, 2] and metrics["average"]["f1"] == pytest.approx(2 / 3)
    assert metrics["samples"]["mine"]["records"] == 4 and metrics["samples"]["mine"]["of"] == 6
    for name in ("metrics.json", "metrics.md", "plots/f1_per_benchmark.png", "plots/maj_at_k.png"):
        assert (in_tmp / name).stat().st_size > 0, name
    assert rows[0]["id"] == "r0" and rows[0]["majority"] is None
    assert next(r for r in rows if r["id"] == "r4")["samples"][0]["verdict"] == 2
    md = (in_tmp / "metrics.md").read_text()
    assert "| mine | 4 | 50.0 | 100.0 | 66.7 | 66.7 | 75.0 | 75.0 |" in md
    assert "protocol: **deepcritic**" in md and "mine: 4 of 6 records, random sample stratified by label class" in md

    # rerun in the same directory with all 6 records: only r4 and r5 are critiqued
    critic.prompts.clear()
    cfg.limit = None
    metrics = evaluate.main(cfg)
    assert len(critic.prompts) == 2 and metrics["benchmarks"]["mine"]["records"] == 6
    assert len((in_tmp / "predictions" / "mine.jsonl").read_text().splitlines()) == 6


def test_eval_failed_requests_are_retried_on_rerun(in_tmp, monkeypatch):
    data = _records(in_tmp / "recs.jsonl", LABELS[:2])
    good = _oracle_critic()
    flaky = Scripted(lambda p, j: Completion("", "error", None, "timeout") if "problem 1" in p else good.rule(p, j))
    monkeypatch.setattr(evaluate, "shared_generator", lambda model, rollout: flaky)
    cfg = EvalConfig(benchmarks={"b": {"source": "contract", "path": data}}, logger=OFF)
    assert evaluate.main(cfg)["benchmarks"]["b"]["records"] == 1  # r1 failed, not stored
    monkeypatch.setattr(evaluate, "shared_generator", lambda model, rollout: good)
    assert evaluate.main(cfg)["benchmarks"]["b"]["records"] == 2 and len(good.prompts) == 1


def test_eval_stops_when_every_request_of_a_batch_fails(in_tmp, monkeypatch):
    data = _records(in_tmp / "recs.jsonl", LABELS[:2])
    down = Scripted(lambda p, j: Completion("", "error", None, "APIConnectionError: refused"))
    monkeypatch.setattr(evaluate, "shared_generator", lambda model, rollout: down)
    with pytest.raises(DeepcriticError, match="every item of a batch failed .APIConnectionError"):
        evaluate.main(EvalConfig(benchmarks={"b": {"source": "contract", "path": data}}, logger=OFF))


def test_eval_bad_benchmark_entry_is_a_config_error(in_tmp):
    with pytest.raises(ConfigError, match="benchmarks.b = .*not a valid DataConfig"):
        evaluate.main(EvalConfig(benchmarks={"b": {"source": "contract", "paht": "x"}}, logger=OFF))


def _eval_run(root: Path, name: str, critic, monkeypatch) -> Path:
    run = root / name
    run.mkdir()
    monkeypatch.chdir(run)
    monkeypatch.setattr(evaluate, "shared_generator", lambda model, rollout: critic)
    data = _records(root / "recs.jsonl", LABELS)
    evaluate.main(EvalConfig(benchmarks={"a": {"source": "contract", "path": data}}, logger=OFF))
    return run


def test_report_puts_runs_side_by_side(tmp_path, monkeypatch):
    good = _eval_run(tmp_path, "good", _oracle_critic(), monkeypatch)
    bad = _eval_run(tmp_path, "bad", _oracle_critic({"r0", "r2", "r4"}), monkeypatch)  # every error record missed
    out = tmp_path / "rep"
    result = report.main(ReportConfig(runs=[str(tmp_path / "*")], names=[], output=str(out)))
    assert result["metric"] == "f1" and result["runs"] == [str(bad), str(good)]  # glob, sorted
    labels = list(result["table"])
    assert result["table"][labels[0]]["a"] == 0.0 and result["table"][labels[1]]["a"] == 1.0
    md = (out / "report.md").read_text()
    assert "| model | a | average |" in md and "| Qwen/Qwen2.5-7B-Instruct (good) | 100.0 | 100.0 |" in md
    assert (out / "report.png").stat().st_size > 0 and json.loads((out / "report.json").read_text())["metric"] == "f1"
    named = report.main(
        ReportConfig(runs=[str(good), str(bad)], names=["A", "B"], metric="acc_correct", output=str(out))
    )
    assert named["table"] == {"A": {"a": 1.0, "average": 1.0}, "B": {"a": 1.0, "average": 1.0}}


REPORT_ERRORS = [
    # a directory without metrics.json
    (["{tmp}/nothing"], None, "metrics.json not found"),
    # a glob that matches nothing
    (["{tmp}/zz*"], None, "no run directory with a metrics.json"),
    # a metric no run has
    (["{tmp}/good"], "f2", "metric='f2' is in none"),
]


@pytest.mark.parametrize("runs, metric, message", REPORT_ERRORS)
def test_report_user_errors(runs, metric, message, tmp_path, monkeypatch):
    _eval_run(tmp_path, "good", _oracle_critic(), monkeypatch)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DeepcriticError, match=message):
        report.main(ReportConfig(runs=[r.format(tmp=tmp_path) for r in runs], metric=metric, output=str(tmp_path)))


def _math(shared_data) -> dict:
    return {"gsm8k": {"source": "gsm8k", "path": str(shared_data / "gsm8k" / "test.jsonl")}}


def test_solve_recipe(in_tmp, monkeypatch, shared_data):
    # GSM8K test answers: 18, 3, 70000; the solver always says 3 -> accuracy 1/3
    solver = Scripted(lambda p, j: ok("Think.\n\n\\boxed{3}"))
    monkeypatch.setattr(solve, "shared_generator", lambda model, rollout: solver)
    metrics = solve.main(SolveConfig(benchmarks=_math(shared_data), limit=3, logger=OFF))
    assert metrics["benchmarks"]["gsm8k"]["accuracy"] == pytest.approx(1 / 3) and metrics["maj_k"] == [1]
    assert (in_tmp / "plots" / "maj_at_k.png").is_file() and (in_tmp / "metrics.md").is_file()
    assert len((in_tmp / "solutions" / "gsm8k.jsonl").read_text().splitlines()) == 3


def test_refine_and_verify_vote_recipes(in_tmp, monkeypatch, shared_data):
    # the generator first answers 17 (wrong for Janet's 18), the critic flags step 1, the revision says 18
    def gen(prompt, j):
        return ok("Fixed.\n\n\\boxed{18}") if is_revise(prompt) else ok(f"Eggs.\n\n\\boxed{{{17 + j % 2}}}")

    def crit(prompt, j):
        assert is_critic(prompt)
        return ok("**Answer**: \\boxed{1}" if "boxed{17}" in prompt else "**Answer**: \\boxed{-1}")

    g, c = Scripted(gen), Scripted(crit)
    for module in (refine, verify_vote):
        monkeypatch.setattr(module, "shared_generator", lambda model, rollout: c if rollout is critic_rollout else g)
    cfg = RefineConfig(benchmarks=_math(shared_data), limit=1, logger=OFF)
    critic_rollout = cfg.critic.rollout
    m = refine.main(cfg)["benchmarks"]["gsm8k"]
    assert (m["accuracy_before"], m["accuracy"], m["wrong_to_right"]) == (0.0, 1.0, 1)
    assert (in_tmp / "plots" / "accuracy.png").is_file() and (in_tmp / "refine" / "gsm8k.jsonl").is_file()

    cfg.generator.sampling = SamplingConfig(n=2, temperature=0.7)  # answers 17, 18
    m = verify_vote.main(cfg)["benchmarks"]["gsm8k"]
    # plain majority: tie -> 17 (first) wrong; verified: only 18 accepted -> right
    assert (m["majority_accuracy"], m["accuracy"], m["acceptance_precision"]) == (0.0, 1.0, 1.0)
    assert (in_tmp / "plots" / "voting.png").is_file() and (in_tmp / "verify_vote" / "gsm8k.jsonl").is_file()
