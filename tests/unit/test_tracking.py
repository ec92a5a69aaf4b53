"""Tracking from the logger config: wandb's names and config passed through, a run never failing because of wandb;
the other trackers (TensorBoard, MLflow, Trackio) as the trainer's, a list of them composed from logger options, the
same metric names in each, a clear error for a missing package."""

from __future__ import annotations

import os

import pytest
import wandb

from deepcritic import tracking
from deepcritic.config import LoggerConfig
from deepcritic.errors import DeepcriticError
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
ISOLATED = (
    "WANDB_MODE",
    "WANDB_DIR",
    "WANDB_PROJECT",
    "WANDB_RUN_ID",
    "RANK",
    "TENSORBOARD_LOGGING_DIR",
    "MLFLOW_EXPERIMENT_NAME",
)


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
            LoggerConfig(backend="wandb", mode="offline", project="p"),
            {"WANDB_PROJECT": "p", "WANDB_DIR": "<tmp>", "WANDB_MODE": "offline"},
        ),
        # tracking off: the mode only
        (LoggerConfig(backend="wandb", mode="disabled"), {"WANDB_MODE": "disabled"}),
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
    (LoggerConfig(backend="wandb", mode="offline"), ["wandb"]),
    (LoggerConfig(backend="wandb", mode="online"), ["wandb"]),
    # disabled, or no backend (the default): nothing
    (LoggerConfig(backend="wandb", mode="disabled"), []),
    (LoggerConfig(backend="none"), []),
    (LoggerConfig(), []),
]


@pytest.mark.parametrize("cfg, expected", REPORT_TO)
def test_report_to(cfg, expected):
    assert tracking.report_to(cfg) == expected


def test_run_gets_project_name_group_tags_config_and_dir(monkeypatch, tmp_path):
    fake = FakeInit()
    monkeypatch.setattr(wandb, "init", fake)
    cfg = LoggerConfig(backend="wandb", mode="offline", project="p", name="n", group="g", tags=["a", "b"])
    run = tracking.start_run(cfg, {"train": {"learning_rate": 1e-5}}, tmp_path, default_name="sft-x")
    assert run == "run-offline"
    call = fake.calls[0]
    assert (call["project"], call["name"], call["group"], call["tags"]) == ("p", "n", "g", ["a", "b"])
    assert call["config"] == {"train": {"learning_rate": 1e-5}} and call["dir"] == str(tmp_path)
    assert os.environ["WANDB_DIR"] == str(tmp_path) and os.environ["WANDB_PROJECT"] == "p"


def test_default_name_when_none_configured(monkeypatch, tmp_path):
    fake = FakeInit()
    monkeypatch.setattr(wandb, "init", fake)
    tracking.start_run(LoggerConfig(backend="wandb"), {}, tmp_path, default_name="sft-2026")
    assert fake.calls[0]["name"] == "sft-2026" and fake.calls[0]["tags"] is None


def test_online_failure_falls_back_to_offline_with_a_warning(monkeypatch, tmp_path, caplog):
    fake = FakeInit(fail={"online"})
    monkeypatch.setattr(wandb, "init", fake)
    run = tracking.start_run(LoggerConfig(backend="wandb", mode="online"), {}, tmp_path, default_name="x")
    assert "wandb online init failed (online init failed: network unreachable); logging offline instead" in caplog.text
    assert run == "run-offline" and [c["mode"] for c in fake.calls] == ["online", "offline"]
    assert os.environ["WANDB_MODE"] == "offline"


def test_total_failure_goes_on_without_tracking(monkeypatch, tmp_path, caplog):
    monkeypatch.setattr(wandb, "init", FakeInit(fail={"online", "offline"}))
    run = tracking.start_run(LoggerConfig(backend="wandb", mode="online"), {}, tmp_path, default_name="x")
    assert "going on without experiment tracking" in caplog.text
    assert run is None and os.environ["WANDB_MODE"] == "disabled"


RESUME = [
    # (logger.resume, id stored in the run dir, $WANDB_RUN_ID, continuing, the id wandb gets: "new" = a fresh one)
    ("allow", None, None, True, "new"),  # first run: a new id, stored
    ("allow", "abc123", None, True, "abc123"),  # a rerun continues the stored run
    ("allow", "abc123", None, False, "new"),  # training starting over: a new run, the stored id replaced
    ("allow", "abc123", "fromenv", True, "fromenv"),  # the user's WANDB_RUN_ID wins
    ("never", "abc123", None, True, None),  # never: wandb chooses, nothing passed
]


@pytest.mark.parametrize("resume, stored, env, continuing, expected", RESUME)
def test_a_rerun_in_the_same_run_dir_continues_the_stored_wandb_run(
    resume, stored, env, continuing, expected, monkeypatch, tmp_path
):
    fake = FakeInit()
    monkeypatch.setattr(wandb, "init", fake)
    id_file = tmp_path / "wandb" / "run-id"
    if stored:
        id_file.parent.mkdir()
        id_file.write_text(stored + "\n")
    if env:
        monkeypatch.setenv("WANDB_RUN_ID", env)
    cfg = LoggerConfig(backend="wandb", mode="offline", resume=resume)
    tracking.start_run(cfg, {}, tmp_path, default_name="x", continuing=continuing)
    call = fake.calls[0]
    if expected is None:
        assert "id" not in call and "resume" not in call
        assert id_file.read_text() == stored + "\n"  # left as it was
        return
    assert call["resume"] == "allow"
    if expected == "new":
        assert len(call["id"]) == 8 and call["id"] != stored
    else:
        assert call["id"] == expected
    assert id_file.read_text() == call["id"] + "\n"  # what the next rerun reads


def test_the_offline_fallback_keeps_the_run_id(monkeypatch, tmp_path):
    fake = FakeInit(fail={"online"})
    monkeypatch.setattr(wandb, "init", fake)
    tracking.start_run(LoggerConfig(backend="wandb", mode="online"), {}, tmp_path, default_name="x")
    online, offline = fake.calls
    assert online["id"] == offline["id"] and offline["resume"] == "allow"  # wandb sync appends to the same run


def test_only_rank_zero_opens_a_run(monkeypatch, tmp_path):
    fake = FakeInit()
    monkeypatch.setattr(wandb, "init", fake)
    monkeypatch.setenv("RANK", "1")
    assert tracking.start_run(LoggerConfig(backend="wandb"), {}, tmp_path, default_name="x") is None and not fake.calls
    assert os.environ["WANDB_MODE"] == "offline"  # but the trainer's callback agrees on the mode


def test_disabled_opens_nothing(monkeypatch, tmp_path):
    fake = FakeInit()
    monkeypatch.setattr(wandb, "init", fake)
    assert tracking.start_run(LoggerConfig(backend="wandb", mode="disabled"), {}, tmp_path, default_name="x") is None
    assert not fake.calls and os.environ["WANDB_MODE"] == "disabled"


# the trackers besides wandb: every package found, so that report_to's lists are what the config says
FOUND = {"tensorboard", "mlflow", "trackio"}

TRACKERS = [
    # TensorBoard alone (logger=tensorboard): the trainer reports to it, wandb stays off
    (LoggerConfig(tensorboard=True), ["tensorboard"], ["tensorboard"]),
    # wandb and TensorBoard (logger=[wandb_offline,tensorboard]), in that order
    (LoggerConfig(backend="wandb", tensorboard=True), ["wandb", "tensorboard"], ["wandb", "tensorboard"]),
    # MLflow is not in report_to: its callback is passed as an object (callbacks())
    (LoggerConfig(mlflow=True), ["mlflow"], []),
    # all four
    (
        LoggerConfig(backend="wandb", tensorboard=True, mlflow=True, trackio=True),
        ["wandb", "tensorboard", "mlflow", "trackio"],
        ["wandb", "tensorboard", "trackio"],
    ),
    # wandb disabled by its mode, Trackio on
    (LoggerConfig(backend="wandb", mode="disabled", trackio=True), ["trackio"], ["trackio"]),
]


def _found(monkeypatch, packages):
    real = tracking.importlib.util.find_spec
    monkeypatch.setattr(tracking.importlib.util, "find_spec", lambda name: object() if name in packages else real(name))


@pytest.mark.parametrize("cfg, names, reported", TRACKERS)
def test_trackers_and_what_the_trainer_reports_to(cfg, names, reported, monkeypatch):
    _found(monkeypatch, FOUND)
    assert tracking.trackers(cfg) == names
    assert tracking.report_to(cfg) == reported


def test_a_tracker_without_its_package_is_a_clear_error(monkeypatch):
    real = tracking.importlib.util.find_spec
    monkeypatch.setattr(tracking.importlib.util, "find_spec", lambda name: None if name == "mlflow" else real(name))
    with pytest.raises(DeepcriticError) as info:
        tracking.report_to(LoggerConfig(backend="wandb", mlflow=True))
    assert str(info.value) == (
        "logger: mlflow needs its package, which is not installed: pip install mlflow (or leave logger=mlflow out)"
    )


def test_tracker_environment_points_tensorboard_and_mlflow_into_the_run(tmp_path, monkeypatch):
    unset(monkeypatch, "TENSORBOARD_LOGGING_DIR", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME")
    monkeypatch.setattr(tracking, "_exported", {})
    cfg = LoggerConfig(tensorboard=True, mlflow=True, project="p")
    assert tracking.tracker_environment(cfg, tmp_path) == {
        "TENSORBOARD_LOGGING_DIR": str(tmp_path / "tensorboard"),
        "MLFLOW_TRACKING_URI": f"file://{tmp_path.resolve()}/mlruns",
        "MLFLOW_EXPERIMENT_NAME": "p",
    }
    # a value the user set is kept; one this process set for an earlier run (the demo's SFT stage) is replaced
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    tracking.start_run(LoggerConfig(tensorboard=True, mlflow=True), {}, tmp_path / "a", "x", training=True)
    later = tracking.tracker_environment(cfg, tmp_path / "b")
    assert later == {"TENSORBOARD_LOGGING_DIR": str(tmp_path / "b" / "tensorboard"), "MLFLOW_EXPERIMENT_NAME": "p"}


def test_other_recipes_warn_that_they_log_to_wandb_alone(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(wandb, "init", FakeInit())
    tracking.start_run(LoggerConfig(backend="wandb", tensorboard=True), {}, tmp_path, "eval-x")
    assert "logger: tensorboard log training runs (sft, cft, grpo) only; this recipe logs to wandb alone" in caplog.text


class _FakeMlflow:
    def __init__(self):
        self.logged = []

    def log_metrics(self, metrics, step, **kwargs):
        self.logged.append((step, dict(metrics)))


def test_mlflow_logs_the_names_every_other_tracker_logs():
    from types import SimpleNamespace

    cls = tracking.mlflow_callback_class()
    callback = object.__new__(cls)  # mlflow is not installed here: stand in for what setup() would have made
    callback._initialized, callback._async_log, callback._auto_end_run = True, False, False
    callback._ml_flow = _FakeMlflow()
    state = SimpleNamespace(is_world_process_zero=True, global_step=3)
    callback.on_log(None, state, None, {"loss": 1.5, "eval_gsm8k/f1": 0.25, "time/eval": 2.0})
    # rewrite_logs: eval_<x> -> eval/<x>, anything else -> train/<x> (what wandb and TensorBoard show)
    assert callback._ml_flow.logged == [(3, {"train/loss": 1.5, "eval/gsm8k/f1": 0.25, "train/time/eval": 2.0})]


LOGGER_OPTIONS = [
    # the recipes' default: wandb offline only
    ([], {"backend": "wandb", "mode": "offline", "tensorboard": False}),
    # TensorBoard alone
    (["logger=tensorboard"], {"backend": "none", "tensorboard": True}),
    # a list of trackers: each option turns on its own
    (["logger=[wandb_offline,tensorboard]"], {"backend": "wandb", "mode": "offline", "tensorboard": True}),
    (["logger=[wandb_online,tensorboard,mlflow]"], {"backend": "wandb", "mode": "online", "mlflow": True}),
    # disabled still turns wandb off
    (["logger=disabled"], {"backend": "none", "mode": "disabled", "tensorboard": False}),
]


@pytest.mark.parametrize("overrides, expected", LOGGER_OPTIONS)
def test_logger_options_compose_into_a_list_of_trackers(compose, overrides, expected):
    logger = compose("sft", overrides).logger
    assert {k: getattr(logger, k) for k in expected} == expected


SETTINGS = [
    # wandb: the run name passes through; no project (transformers' project argument is Trackio's)
    (LoggerConfig(backend="wandb", name="r1"), {"report_to": ["wandb"], "run_name": "r1", "project": None}),
    # Trackio: its project is logger.project
    (LoggerConfig(trackio=True, project="p"), {"report_to": ["trackio"], "run_name": None, "project": "p"}),
]


@pytest.mark.parametrize("cfg, expected", SETTINGS)
def test_trainer_settings(cfg, expected, monkeypatch):
    _found(monkeypatch, FOUND)
    assert tracking.trainer_settings(cfg) == expected
