"""wandb from the logger config: names and config passed through; a run never fails because of wandb."""

from __future__ import annotations

import os

import pytest
import wandb

from deepcritic import tracking
from deepcritic.config import LoggerConfig
from tests.helpers.env import unset


class FakeInit:
    """Stands in for wandb.init: records calls, fails for the modes listed in ``fail``."""

    def __init__(self, fail=()):
        self.fail, self.calls = set(fail), []

    def __call__(self, mode, **kwargs):
        self.calls.append({"mode": mode, **kwargs})
        if mode in self.fail:
            raise RuntimeError(f"{mode} init failed: network unreachable")
        return f"run-{mode}"


# what tracking reads (RANK) and sets (the WANDB_* variables, for the trainer's callback)
ISOLATED = ("WANDB_MODE", "WANDB_DIR", "WANDB_PROJECT", "RANK")


def _isolate(monkeypatch) -> None:
    """Remove ISOLATED for one test; ``unset`` makes monkeypatch restore each afterwards, set or not (plain
    ``delenv(raising=False)`` records nothing for an unset variable, so start_run's exports would leak)."""
    unset(monkeypatch, *ISOLATED)


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    _isolate(monkeypatch)


@pytest.mark.parametrize(
    "cfg, exported",
    [
        # tracking on: project, run directory and mode, for the trainer's callback
        (
            LoggerConfig(mode="offline", project="p"),
            {"WANDB_PROJECT": "p", "WANDB_DIR": "<tmp>", "WANDB_MODE": "offline"},
        ),
        # tracking off: the mode only
        (LoggerConfig(mode="disabled"), {"WANDB_MODE": "disabled"}),
    ],
)
def test_what_start_run_exports_does_not_outlive_the_test(cfg, exported, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "set-before-the-test")  # one variable set before, the others not
    before = dict(os.environ)
    with pytest.MonkeyPatch.context() as mp:  # what one test of this module gets
        _isolate(mp)
        mp.setattr(wandb, "init", FakeInit())
        tracking.start_run(cfg, {}, tmp_path, default_name="x")
        expected = {k: str(tmp_path) if v == "<tmp>" else v for k, v in exported.items()}
        assert {k: os.environ.get(k) for k in ISOLATED} == {**dict.fromkeys(ISOLATED), **expected}
    assert dict(os.environ) == before  # nothing start_run exported is left; the earlier value is back


REPORT_TO = [
    # wandb offline and online report to wandb
    (LoggerConfig(mode="offline"), ["wandb"]),
    (LoggerConfig(mode="online"), ["wandb"]),
    # disabled, or no backend: nothing
    (LoggerConfig(mode="disabled"), []),
    (LoggerConfig(backend="none"), []),
]


@pytest.mark.parametrize("cfg, expected", REPORT_TO)
def test_report_to(cfg, expected):
    assert tracking.report_to(cfg) == expected


def test_run_gets_project_name_group_tags_config_and_dir(monkeypatch, tmp_path):
    fake = FakeInit()
    monkeypatch.setattr(wandb, "init", fake)
    cfg = LoggerConfig(mode="offline", project="p", name="n", group="g", tags=["a", "b"])
    run = tracking.start_run(cfg, {"train": {"learning_rate": 1e-5}}, tmp_path, default_name="sft-x")
    assert run == "run-offline"
    call = fake.calls[0]
    assert (call["project"], call["name"], call["group"], call["tags"]) == ("p", "n", "g", ["a", "b"])
    assert call["config"] == {"train": {"learning_rate": 1e-5}} and call["dir"] == str(tmp_path)
    assert os.environ["WANDB_DIR"] == str(tmp_path) and os.environ["WANDB_PROJECT"] == "p"


def test_default_name_when_none_configured(monkeypatch, tmp_path):
    fake = FakeInit()
    monkeypatch.setattr(wandb, "init", fake)
    tracking.start_run(LoggerConfig(), {}, tmp_path, default_name="sft-2026")
    assert fake.calls[0]["name"] == "sft-2026" and fake.calls[0]["tags"] is None


def test_online_failure_falls_back_to_offline_with_a_warning(monkeypatch, tmp_path, caplog):
    fake = FakeInit(fail={"online"})
    monkeypatch.setattr(wandb, "init", fake)
    run = tracking.start_run(LoggerConfig(mode="online"), {}, tmp_path, default_name="x")
    assert "wandb online init failed (online init failed: network unreachable); logging offline instead" in caplog.text
    assert run == "run-offline" and [c["mode"] for c in fake.calls] == ["online", "offline"]
    assert os.environ["WANDB_MODE"] == "offline"


def test_total_failure_goes_on_without_tracking(monkeypatch, tmp_path, caplog):
    monkeypatch.setattr(wandb, "init", FakeInit(fail={"online", "offline"}))
    run = tracking.start_run(LoggerConfig(mode="online"), {}, tmp_path, default_name="x")
    assert "going on without experiment tracking" in caplog.text
    assert run is None and os.environ["WANDB_MODE"] == "disabled"


def test_only_rank_zero_opens_a_run(monkeypatch, tmp_path):
    fake = FakeInit()
    monkeypatch.setattr(wandb, "init", fake)
    monkeypatch.setenv("RANK", "1")
    assert tracking.start_run(LoggerConfig(), {}, tmp_path, default_name="x") is None and not fake.calls
    assert os.environ["WANDB_MODE"] == "offline"  # but the trainer's callback agrees on the mode


def test_disabled_opens_nothing(monkeypatch, tmp_path):
    fake = FakeInit()
    monkeypatch.setattr(wandb, "init", fake)
    assert tracking.start_run(LoggerConfig(mode="disabled"), {}, tmp_path, default_name="x") is None
    assert not fake.calls and os.environ["WANDB_MODE"] == "disabled"
