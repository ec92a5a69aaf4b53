"""wandb from the logger config: names and config passed through; a run never fails because of wandb."""

from __future__ import annotations

import os

import pytest
import wandb

from deepcritic import tracking
from deepcritic.config import LoggerConfig


class FakeInit:
    """Stands in for wandb.init: records calls, fails for the modes listed in ``fail``."""

    def __init__(self, fail=()):
        self.fail, self.calls = set(fail), []

    def __call__(self, mode, **kwargs):
        self.calls.append({"mode": mode, **kwargs})
        if mode in self.fail:
            raise RuntimeError(f"{mode} init failed: network unreachable")
        return f"run-{mode}"


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    for key in ("WANDB_MODE", "WANDB_DIR", "WANDB_PROJECT", "RANK"):
        monkeypatch.delenv(key, raising=False)


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
