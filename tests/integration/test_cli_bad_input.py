"""Every bad-input case of the data layer, through the real CLI: one clear message naming the file,
the line or record, the field and what was expected; exit status 2; no Python traceback."""

from __future__ import annotations

import pytest

from tests.helpers.bad_input import ALWAYS, RAISE
from tests.helpers.cli import run_cli
from tests.helpers.paths import BAD_DATA

CASES = [(source, name, where, expected) for source, name, where, _field, expected in RAISE] + ALWAYS


@pytest.mark.parametrize("source, name, where, expected", CASES)
def test_bad_input_gives_one_located_error_and_exit_2(source, name, where, expected, tmp_path):
    path = BAD_DATA / name
    proc = run_cli("convert", f"data={source}", f"data.path={path}", f"hydra.run.dir={tmp_path}")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {path}{', ' + where if where else ''}")
    assert expected in proc.stderr
    assert not (tmp_path / "records.jsonl").exists()  # nothing half-written
