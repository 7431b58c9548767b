"""gan_cli/runlog.py: a run's .jsonl logs read line by line in bounded memory: a log of any length
is thinned evenly to MOST_ROWS (first and last rows kept), a line of any length is skipped in
pieces, and the rewind on resume streams too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gan_cli import runlog


def _rows(n: int) -> list[dict[str, int]]:
    return [{"step": i} for i in range(n)]


@pytest.mark.parametrize("n", [0, 1, 10, 11, 99, 100, 1000])
def test_thinned_keeps_evenly_spaced_rows_and_the_last(n: int) -> None:
    kept = [r["step"] for r in runlog.thinned(iter(_rows(n)), 10)]
    if n <= 10:
        assert kept == list(range(n)), "short logs are whole"
        return
    stride = kept[1]
    assert kept[-1] == n - 1 and len(kept) <= 11
    assert kept[:-1] == list(range(0, kept[-2] + 1, stride)), f"every stride-th row, then the last: {kept}"
    assert n - 1 - kept[-2] <= stride, "no gap wider than the stride"


def test_thinned_by_hand() -> None:
    # 100 rows, at most 10: the stride doubles 1 -> 2 -> 4 -> 8 -> 16; 0, 16, ..., 96 and the last
    assert [r["step"] for r in runlog.thinned(iter(_rows(100)), 10)] == [0, 16, 32, 48, 64, 80, 96, 99]
    assert runlog.thinned(iter(_rows(5)), None) == _rows(5)


def test_read_rows_of_a_long_log_is_at_most_most_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runlog, "MOST_ROWS", 100)
    log = tmp_path / "metrics.jsonl"
    log.write_text("".join(json.dumps({"step": i, "value": -1.38}) + "\n" for i in range(1, 5001)))
    rows = runlog.read_rows(log)
    assert len(rows) <= 101 and rows[0]["step"] == 1 and rows[-1]["step"] == 5000
    assert len(runlog.read_objects(log)) == 5000, "read_objects without `most` keeps every row"


def test_a_huge_line_is_skipped_in_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runlog, "MAX_LINE", 1000)
    log = tmp_path / "metrics.jsonl"
    huge = '{"step": 2, "junk": "' + "x" * 50_000 + '"}'
    log.write_text(json.dumps({"step": 1}) + "\n" + huge + "\n" + json.dumps({"step": 3}) + "\n" + '{"step": 4, "tor')
    assert [r["step"] for r in runlog.read_rows(log)] == [1, 3], "the huge line and the torn last line are skipped"
    runlog.rewind(log, last_step=10)
    assert log.read_text() == '{"step": 1}\n{"step": 3}\n', "the rewind streams and drops both the same way"


def test_rewind_keeps_the_steps_up_to_the_checkpoint(tmp_path: Path) -> None:
    log = tmp_path / "metrics.jsonl"
    log.write_text("".join(json.dumps({"step": i}) + "\n" for i in (2, 4, 6, 8)))
    runlog.rewind(log, last_step=5)
    assert [r["step"] for r in runlog.read_rows(log)] == [2, 4]
    assert not (tmp_path / "metrics.jsonl.tmp").exists()
