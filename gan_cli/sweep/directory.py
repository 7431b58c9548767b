"""A sweep directory: made with the sweep's own files (sweep.yaml, base.yaml and a digest of what
its trials run), reopened by --resume, which refuses settings changed under finished trials."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from gan_cli import outputs, run_dir
from gan_cli.errors import GanError
from gan_cli.file_kinds import MISSING, input_problem
from gan_cli.run_dir import RunDir
from gan_cli.sweep import spec as spec_mod
from gan_cli.sweep.spec import SweepSpec

SPEC_FILE, BASE_FILE, DIGEST_FILE = "sweep.yaml", "base.yaml", ".sweep-digest"


def check_out_free(out: Path) -> None:
    """GanError when --out `out` exists and is not an empty directory (a sweep starts only there)."""
    if out.exists() and (not out.is_dir() or RunDir(out).is_nonempty()):
        raise GanError(
            f"--out {out} exists and is not an empty directory: choose another, or continue it with "
            f"gan sweep --resume {shlex.quote(str(out))}"
        )


def new_sweep_dir(spec: SweepSpec, out: Path | None) -> Path:
    """Create SWEEP_DIR (--out exactly, or runs/<name>-<YYYYmmdd-HHMMSS>) and write its sweep files."""
    if out is None:
        sweep_dir = run_dir.default(spec.name).path
    else:
        check_out_free(out)  # again: made since the first check
        sweep_dir = out
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        (sweep_dir / BASE_FILE).write_text(yaml.safe_dump(spec.base_raw, sort_keys=False), encoding="utf-8")
        text = "# gan sweep: the sweep as it runs; gan sweep --resume reads it\n" + yaml.safe_dump(
            spec.to_yaml_data(BASE_FILE), sort_keys=False
        )
        (sweep_dir / SPEC_FILE).write_text(text, encoding="utf-8")
        (sweep_dir / DIGEST_FILE).write_text(spec.digest() + "\n", encoding="utf-8")
    except OSError as exc:
        raise GanError(f"cannot write the sweep directory {sweep_dir}: {exc.strerror or exc}") from None
    return sweep_dir.resolve()


def open_sweep_dir(sweep_dir: Path) -> SweepSpec:
    if input_problem(sweep_dir / SPEC_FILE) == MISSING:  # another kind of entry is named by the read
        raise GanError(f"--resume {sweep_dir}: no {SPEC_FILE} there; is it a gan sweep directory?")
    return spec_mod.load(sweep_dir / SPEC_FILE)


def check_files(sweep_dir: Path, names: tuple[str, ...]) -> None:
    """GanError, before any trial, when one of the files a sweep rewrites (its digest, results,
    summary, figure: `names` beside DIGEST_FILE) is there as a FIFO, a link or a directory: a FIFO
    made the write wait forever, a link was written through to its target."""
    for name in (DIGEST_FILE, *names):
        outputs.check_regular(sweep_dir / name, "the sweep's file")


def check_unchanged(spec: SweepSpec, sweep_dir: Path, finished: int) -> None:
    """A sweep whose settings changed since its trials finished would average two settings as one
    grid point: refused. Before any trial finished, the edit is simply what the sweep runs now."""
    digest = sweep_dir / DIGEST_FILE
    recorded = digest.read_text(encoding="utf-8").strip() if digest.is_file() else None
    if recorded == spec.digest():
        return
    if recorded is not None and finished:
        raise GanError(
            f"--resume {sweep_dir}: {SPEC_FILE} (or its {BASE_FILE}) changed since {finished} of its trials finished, "
            f"which ran the old settings; start a new sweep with the edited file instead"
        )
    outputs.write_atomic(digest, lambda tmp: tmp.write_text(spec.digest() + "\n", encoding="utf-8"), "the sweep's file")
