"""gan_cli/sweep/trial.py: what the driver reports of an unfinished trial. No Ray is started here."""

from __future__ import annotations

import json
from pathlib import Path

from gan_cli.sweep import trial


def test_progress_reads_the_last_logged_epoch_and_is_none_before_the_first(tmp_path: Path) -> None:
    run = tmp_path / "seed=1"
    p = trial.payload("seed=1", {}, 1, run, tmp_path / "base.yaml", [], "cpu", 1.0)
    assert trial.progress(p) is None, "no run directory yet: queued"
    run.mkdir()
    (run / "metrics.jsonl").write_text("")
    assert trial.progress(p) is None, "loading its data: no row yet"
    rows = [{"step": 500, "epoch": 1.0}, {"step": 15000, "epoch": 30.0}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 155')  # a row being written
    assert trial.progress(p) == "seed=1 epoch 30"
