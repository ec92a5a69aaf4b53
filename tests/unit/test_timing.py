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
