"""StageClock: per-stage wall times that add up, and the load average reported beside them."""

import time

from deepcritic.timing import StageClock


def test_stage_times_add_up_and_load_is_reported(capsys):
    clock = StageClock(every_s=0.01)
    clock.stage("first", "1/2 first")
    time.sleep(0.3)
    clock.stage("second", "2/2 second")
    time.sleep(0.2)
    out = clock.finish()
    assert set(out) >= {"first_s", "second_s", "total_s", "load_avg_mean", "load_avg_max", "cpu_count"}
    assert out["first_s"] >= 0.25 and out["second_s"] >= 0.15  # rounded to 0.1 s
    assert out["first_s"] + out["second_s"] <= out["total_s"] + 0.1
    assert 0 <= out["load_avg_mean"] <= out["load_avg_max"]
    banners = capsys.readouterr().out
    assert "1/2 first" in banners and "2/2 second" in banners and "elapsed" in banners


def test_startup_clock_names_each_phase_and_skips_training(monkeypatch):
    from deepcritic import timing

    monkeypatch.setattr(timing, "seconds_since_process_start", lambda: 4.0)
    monkeypatch.setattr(timing, "EARLY", {})
    monkeypatch.setattr(timing, "_process_claimed", False)
    with timing.early_phase("imports"):
        time.sleep(0.1)
    clock = timing.StartupClock()
    time.sleep(0.2)
    clock.mark("model")
    time.sleep(0.1)
    clock.mark("trainer")
    time.sleep(0.3)  # training: not a start-up phase
    clock.skip()
    clock.mark("finish")
    m = clock.metrics()
    assert list(m) == [
        "startup/process_s",
        "startup/imports_s",
        "startup/model_s",
        "startup/trainer_s",
        "startup/finish_s",
    ]
    assert 0.08 <= m["startup/imports_s"] < 0.2
    assert abs(m["startup/process_s"] + m["startup/imports_s"] - 4.0) < 0.011  # the process time is not counted twice
    assert 0.18 <= m["startup/model_s"] < 0.3 and 0.08 <= m["startup/trainer_s"] < 0.2
    assert m["startup/finish_s"] < 0.05
    assert clock.line().startswith("start-up 4.") and "model 0.2 s" in clock.line()
    second = timing.StartupClock()  # a second run in the same process (the demo's GRPO after its SFT)
    second.mark("model")
    assert list(second.metrics()) == ["startup/model_s"]


def test_process_start_is_in_the_past():
    from deepcritic.timing import seconds_since_process_start

    seconds = seconds_since_process_start()
    assert seconds is not None and 0 < seconds < 24 * 3600
