"""The real console script through Hydra: help, composition flags, multirun, run dirs, errors, and
`deepcritic convert` on the reference data sets (acceptance counts of the foundation issue)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import RECIPE_NAMES, help_recipes, run_cli


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_help_lists_recipes():
    proc = run_cli("--help")
    assert proc.returncode == 0
    assert help_recipes(proc.stdout) == RECIPE_NAMES  # every recipe, in order (the list is written out by hand)


def test_unknown_recipe_suggests_and_exits_2():
    proc = run_cli("convrt")
    assert proc.returncode == 2
    assert "unknown recipe 'convrt'. Did you mean 'convert'?" in proc.stderr


def test_cfg_job_prints_composed_config_with_override():
    proc = run_cli("convert", "data=processbench", "data.subset=math", "--cfg", "job")
    assert proc.returncode == 0, proc.stderr
    assert "source: processbench" in proc.stdout and "subset: math" in proc.stdout


def test_slurm_launcher_composes():
    proc = run_cli("convert", "hydra/launcher=slurm", "hydra.launcher.partition=gpu", "--cfg", "hydra")
    assert proc.returncode == 0, proc.stderr
    assert "SlurmLauncher" in proc.stdout and "partition: gpu" in proc.stdout


@pytest.mark.parametrize("flag", ["--local_rank=0", "--local-rank=1"])
def test_launcher_local_rank_flag_is_accepted(flag, tmp_path):
    proc = run_cli("convert", flag, "data.synthetic.num_records=4", f"hydra.run.dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    assert len(_lines(tmp_path / "records.jsonl")) == 4


def test_run_dir_override_holds_outputs(tmp_path):
    run = tmp_path / "my-run"
    proc = run_cli("convert", "data.synthetic.num_records=10", f"hydra.run.dir={run}")
    assert proc.returncode == 0, proc.stderr
    records = _lines(run / "records.jsonl")
    assert len(records) == 10 and {r["source"] for r in records} == {"synthetic/arith"}
    summary = json.loads((run / "summary.json").read_text())
    assert summary["records"] == 10 and summary["with_error"] + summary["without_error"] == 10
    assert (run / ".hydra" / "config.yaml").is_file()


def test_multirun_sweep_of_two_values(tmp_path):
    proc = run_cli(
        "convert", "-m", "data.synthetic.seed=1,2", "data.synthetic.num_records=5", f"hydra.sweep.dir={tmp_path}"
    )
    assert proc.returncode == 0, proc.stderr
    first, second = _lines(tmp_path / "0" / "records.jsonl"), _lines(tmp_path / "1" / "records.jsonl")
    assert len(first) == len(second) == 5
    assert [r["problem"] for r in first] != [r["problem"] for r in second]  # the seeds differ


def test_invalid_config_lists_every_problem_without_traceback(tmp_path):
    proc = run_cli(
        "convert", "data.on_error=ignore", "data.limit=0", "data.synthetic.error_rate=2", f"hydra.run.dir={tmp_path}"
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "invalid config (3 problems)" in proc.stderr
    for key in ("data.on_error = 'ignore'", "data.limit = 0", "data.synthetic.error_rate = 2.0"):
        assert key in proc.stderr


PROCESSBENCH = [("gsm8k", 400, 207), ("math", 1000, 594), ("olympiadbench", 1000, 661), ("omnimath", 1000, 759)]


@pytest.mark.parametrize("subset, total, wrong", PROCESSBENCH)
def test_convert_processbench_counts(subset, total, wrong, shared_data, tmp_path):
    out = tmp_path / f"{subset}.jsonl"
    proc = run_cli(
        "convert",
        "data=processbench",
        f"data.path={shared_data / 'processbench' / f'{subset}.json'}",
        f"output={out}",
        f"hydra.run.dir={tmp_path}",
    )
    assert proc.returncode == 0, proc.stderr
    records = _lines(out)
    assert len(records) == total
    assert sum(r["label"] != -1 for r in records) == wrong
    assert json.loads((tmp_path / "summary.json").read_text())["with_error"] == wrong


def test_convert_mr_gsm8k_counts(shared_data, tmp_path):
    out = tmp_path / "mr.jsonl"
    proc = run_cli(
        "convert",
        "data=mr_gsm8k",
        f"data.path={shared_data / 'mr_gsm8k' / 'processed_test.json'}",
        f"output={out}",
        f"hydra.run.dir={tmp_path}",
    )
    assert proc.returncode == 0, proc.stderr
    records = _lines(out)
    assert len(records) == 1418 and sum(r["label"] != -1 for r in records) == 725
    assert not any(
        s.lstrip().lower().startswith("step") and s.lstrip()[4:6].strip()[:1].isdigit()
        for r in records
        for s in r["steps"]
    )


def test_convert_bad_record_names_file_line_field_and_exits_2(tmp_path):
    bad = tmp_path / "bad.jsonl"
    good = {"id": "a", "source": "t", "problem": "p", "steps": ["s1", "s2"], "label": 1}
    bad.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "b", "label": 5}) + "\n", encoding="utf-8")
    proc = run_cli("convert", "data=contract", f"data.path={bad}", f"hydra.run.dir={tmp_path / 'run'}")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{bad}, line 2, field 'label'" in proc.stderr and "[-1, 1]" in proc.stderr


def test_convert_skip_writes_rejects_and_counts(tmp_path):
    bad = tmp_path / "bad.jsonl"
    good = {"id": "a", "source": "t", "problem": "p", "steps": ["s1", "s2"], "label": 1}
    bad.write_text(
        json.dumps(good) + "\n{not json\n" + json.dumps({**good, "id": "c", "steps": []}) + "\n", encoding="utf-8"
    )
    run = tmp_path / "run"
    proc = run_cli("convert", "data=contract", f"data.path={bad}", "data.on_error=skip", f"hydra.run.dir={run}")
    assert proc.returncode == 0, proc.stderr
    assert len(_lines(run / "records.jsonl")) == 1
    rejects = _lines(run / "rejects.jsonl")
    assert [r["where"] for r in rejects] == ["line 2", "line 3"]
    assert sum(json.loads((run / "summary.json").read_text())["skipped"].values()) == 2


def test_prm800k_summary_per_phase(tmp_path, shared_data):
    """The sample file (test_data_prm800k.py derives its 26 records by hand): per phase, records, errors, path vs
    sibling records and the share holding a labeler-written step; repeats dropped by data.dedup are counted."""
    samples = shared_data / "prm800k" / "samples" / "samples_prm800k.jsonl"
    args = ["convert", "data=prm800k", f"data.path={samples}", "data.prm800k.phase=null"]
    proc = run_cli(*args, f"hydra.run.dir={tmp_path / 'run'}")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["records"], summary["with_error"], summary["duplicates_dropped"]) == (26, 9, 0)
    assert summary["prm800k"] == {
        # lines 1, 3, 4: 10 + 7 + 7 records; errors: line 1's five step-1 siblings, line 4's three -1 siblings
        "phase1": {
            "records": 24,
            "with_error": 8,
            "without_error": 16,
            "kinds": {"path": 3, "sibling": 21},
            "with_human_steps": 5,  # line 1's path and its four step-5 siblings
            "human_step_share": round(5 / 24, 4),
        },
        # lines 2 (an error at step 6) and 6
        "phase2": {
            "records": 2,
            "with_error": 1,
            "without_error": 1,
            "kinds": {"path": 2},
            "with_human_steps": 0,
            "human_step_share": 0.0,
        },
    }
    assert "PRM800K phase1" in proc.stdout and "20.8% hold a human-written step" in proc.stdout
    # one record per problem: the five problems' first records (lines 1, 3 and 4 keep their paths, not the siblings)
    proc = run_cli(*args, "data.dedup=problem", f"hydra.run.dir={tmp_path / 'dedup'}")
    summary = json.loads((tmp_path / "dedup" / "summary.json").read_text())
    assert (summary["records"], summary["duplicates_dropped"]) == (5, 21)
    assert summary["skipped"] == {"duplicate problem": 21, "prm800k finish_reason=give_up": 1}
