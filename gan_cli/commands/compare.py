"""`gan compare RUN... [--out DIR]`: several runs side by side.

DIR/compare.png overlays their training curves (V(G, D), mean D(x) and D(G(z)), the model-selection
signal) and the metrics of `gan eval --all` against the step; DIR/compare.md tables their eval.json
metrics (value ± s.e. and the 95 % interval) and the config keys in which they differ. Every file of
a run is found through its RunDir; every run is read before anything is written, and the two outputs
are written whole, never over a file that is not a regular file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_cli import config as config_mod
from gan_cli import markdown_text, outputs, run_dir, runlog
from gan_cli.errors import SHOWN_CHARS, GanError
from gan_cli.evaluate.report import format_value
from gan_cli.figures.compare import RunCurves, plot_compare
from gan_cli.file_kinds import MISSING, input_problem
from gan_cli.run_dir import RunDir

Z95 = 1.959964
"""The normal quantile of a two-sided 95 % interval, value ± Z95 s.e."""


@dataclass(frozen=True)
class CompareOptions:
    """The options of `gan compare`."""

    runs: tuple[Path, ...]
    """Run directories, two or more."""
    out: Path | None = None
    """Where compare.md and compare.png go; None: runs/compare-<YYYYmmdd-HHMMSS>."""


@dataclass(frozen=True)
class RunSummary:
    """What one run contributes: its label, curves, eval.json and flattened config."""

    label: str
    path: Path
    curves: RunCurves
    eval_result: dict[str, Any] | None
    config: dict[str, Any]


def compare_command(options: CompareOptions) -> str:
    """Read every run, then write DIR/compare.md and DIR/compare.png; the line to print."""
    if len(options.runs) < 2:
        raise GanError("gan compare: give two or more run directories")
    _check_distinct(options.runs)
    labels = _labels(options.runs)
    summaries = [read_run(RunDir(p.expanduser()), label) for p, label in zip(options.runs, labels, strict=True)]
    out = options.out.expanduser() if options.out is not None else None
    if out is not None:
        _check_out(out)
    else:
        out = run_dir.default("compare").path
    md, png = out / "compare.md", out / "compare.png"
    plot_compare([s.curves for s in summaries], png)
    text = markdown(summaries, png.name)
    outputs.write_atomic(md, lambda tmp: tmp.write_text(text, encoding="utf-8"), "--out")
    return f"wrote {md} and {png}"


def _check_distinct(paths: tuple[Path, ...]) -> None:
    """GanError when one run is given twice (by the same path, or by two paths to one directory,
    a link or `..`): its curves would be drawn twice over each other, two runs where there is one."""
    seen: dict[Path, Path] = {}
    for path in paths:
        try:
            key = path.expanduser().resolve()
        except (OSError, RuntimeError):  # a loop of links: read_run names it
            continue
        if key in seen:
            same = "twice" if seen[key] == path else f"twice (as {seen[key]} and {path})"
            raise GanError(f"gan compare: the run {key} is given {same}; give each run once")
        seen[key] = path


def _labels(paths: tuple[Path, ...]) -> list[str]:
    """Each run's directory name; the whole path where two names are alike."""
    names = [p.expanduser().name or str(p) for p in paths]
    return [n if names.count(n) == 1 else str(p) for n, p in zip(names, paths, strict=True)]


def _check_out(out: Path) -> None:
    """--out may hold compare.md and compare.png: a directory (made here), its two files absent or
    regular files of ours; checked before anything is drawn."""
    if out.exists() and not out.is_dir():
        raise GanError(f"--out {out}: exists and is not a directory; give a directory for compare.md and compare.png")
    for name in ("compare.md", "compare.png"):
        path = out / name
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise GanError(f"--out {out}: {name} there is not a regular file; refusing to replace it")
        outputs.check_target(path, "--out")
    outputs.check_writable(out, f"--out {out}")  # out, or its nearest folder that exists
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GanError(f"--out {out}: cannot create it: {exc.strerror or exc}") from None


def read_run(run: RunDir, label: str) -> RunSummary:
    """A run's logs, eval.json and config; a GanError naming the run when it has no training log."""
    if not run.path.is_dir():
        raise GanError(f"gan compare: {run.path} is not a directory; give run directories")
    rows = runlog.read_rows(run.metrics)
    if not rows:
        raise GanError(f"gan compare: {run.metrics} has no complete row: is {run.path} a run that has logged a step?")
    eval_result = None
    problem = input_problem(run.eval_json)
    if problem not in (None, MISSING):  # reading a FIFO would wait for a writer forever
        raise GanError(f"gan compare: cannot read {run.eval_json}: {problem}")
    if problem is None:
        try:
            eval_result = json.loads(run.eval_json.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GanError(f"gan compare: cannot read {run.eval_json}: {exc}") from None
        if not isinstance(eval_result, dict) or not isinstance(eval_result.get("metrics"), dict):
            raise GanError(f"gan compare: {run.eval_json} is not a gan eval result (no metrics)")
    curves = RunCurves(label, rows, runlog.read_rows(run.selection), runlog.read_rows(run.eval_all))
    return RunSummary(label, run.path, curves, eval_result, _flat_config(run))


def _flat_config(run: RunDir) -> dict[str, Any]:
    """The run's config.yaml with every default filled in (old names moved), as dotted key -> value."""
    if input_problem(run.config) == MISSING:
        return {}
    raw = config_mod.read_yaml(run.config)
    try:
        resolved: Any = config_mod.to_dict(config_mod.from_dict(raw))
    except GanError:
        resolved = config_mod.migrate(raw)  # a config of another version: compare it as written
    return _flatten(resolved)


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: d}


def differing_keys(configs: list[dict[str, Any]]) -> list[str]:
    """The dotted keys whose values are not the same in every config (absent counts as a value)."""
    keys = sorted({k for c in configs for k in c})
    missing = object()
    return [k for k in keys if len({json.dumps(c.get(k, missing), default=str) for c in configs}) > 1]


def _cell(m: Any) -> str:
    """value ± s.e. [95 % interval], or the value alone where the metric has no s.e.; any other
    value (an eval.json of another version, or edited by hand) as it is."""
    if not isinstance(m, dict):
        return "-"
    value, se = m.get("value"), m.get("stderr")
    if value is None or not runlog.is_real(value):
        return "-" if value is None else markdown_text.code(_as_text(value))
    interval = m.get("interval")  # a metric's own interval (e.g. a binomial one) where it has one
    if isinstance(interval, list) and len(interval) == 2 and all(runlog.is_finite(v) for v in interval):
        shown_se = f" ± {format_value(se)}" if runlog.is_finite(se) else ""
        return f"{format_value(value)}{shown_se} [{format_value(interval[0])}, {format_value(interval[1])}]"
    if runlog.is_finite(se) and runlog.is_finite(value):
        lo, hi = value - Z95 * se, value + Z95 * se
        return f"{format_value(value)} ± {format_value(se)} [{format_value(lo)}, {format_value(hi)}]"
    return format_value(value)


def _count(x: Any) -> str:
    """A step, sample count or seed from a file: with thousands separators where it is a whole number."""
    return f"{x:,}" if isinstance(x, int) and not isinstance(x, bool) else markdown_text.plain(_as_text(x))


def _as_text(x: Any) -> str:
    """A value from a file as text, cut to SHOWN_CHARS: a string as it is, anything else as JSON."""
    text = x if isinstance(x, str) else json.dumps(x, default=str)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _yaml_value(v: Any) -> str:
    return "(absent)" if v is _ABSENT else markdown_text.code(json.dumps(v, default=str))


_ABSENT = object()


def markdown(summaries: list[RunSummary], picture: str) -> str:
    """compare.md: the runs, their eval.json metrics side by side, the config keys that differ."""
    labels = [markdown_text.plain(s.label) for s in summaries]
    head = "| | " + " | ".join(labels) + " |\n|---|" + "---|" * len(summaries) + "\n"
    lines = [f"# gan compare: {', '.join(labels)}", "", f"![training curves]({picture})", ""]
    lines += ["## Runs", "", head.rstrip("\n")]
    lines.append("| run directory | " + " | ".join(markdown_text.code(s.path) for s in summaries) + " |")
    lines.append("| last logged step | " + " | ".join(_count(s.curves.rows[-1]["step"]) for s in summaries) + " |")
    lines.append("| eval.json | " + " | ".join(_eval_header(s.eval_result) for s in summaries) + " |")
    lines += ["", "## Metrics (eval.json)", ""]
    names: list[str] = []
    for s in summaries:
        names += [n for n in (s.eval_result or {}).get("metrics", {}) if n not in names]
    if names:
        lines.append(
            "Each cell: value ± standard error [95 % interval, value ± 1.96 s.e.]; - where the run has no such metric."
        )
        lines += ["", head.replace("| |", "| metric |", 1).rstrip("\n")]
        for n in names:
            lines.append(
                f"| {markdown_text.code(n)} | "
                + " | ".join(_cell((s.eval_result or {}).get("metrics", {}).get(n)) for s in summaries)
                + " |"
            )
    else:
        lines.append("No run has an eval.json: run `gan eval --ckpt RUN_DIR` on each.")
    lines += ["", "## Config keys that differ", ""]
    keys = differing_keys([s.config for s in summaries])
    if keys:
        lines.append(head.replace("| |", "| key |", 1).rstrip("\n"))
        for k in keys:
            lines.append(
                f"| {markdown_text.code(k)} | "
                + " | ".join(_yaml_value(s.config.get(k, _ABSENT)) for s in summaries)
                + " |"
            )
    else:
        lines.append("None: the runs have the same config.")
    return "\n".join(lines) + "\n"


def _eval_header(result: dict[str, Any] | None) -> str:
    """Which checkpoint eval.json scored, on what: its step, split, sample count and seed."""
    if not result:
        return "none (run gan eval)"
    step, n, seed = (_count(result.get(k, "?")) for k in ("step", "num_samples", "seed"))
    return f"step {step}, split {markdown_text.plain(_as_text(result.get('split', '?')))}, n {n}, seed {seed}"
