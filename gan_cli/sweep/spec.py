"""SWEEP.yaml: the base config, seeds, grid, eval settings and resources; its trials; their checks.

A sweep file (every key but `base` optional):

    base: ../ring8.yaml          # the experiment, relative to this file
    name: ring8_k                # default run directory runs/<name>-<YYYYmmdd-HHMMSS>
    seeds: 5                     # a count (seeds 0..4) or a list of seeds [0, 7, 9]
    grid: {train.k: [1, 3]}      # dotted config keys (as --set) and the values to try
    set: {train.steps: 2000}     # fixed --set overrides of every trial
    eval: {generated_samples: 2000, critic: {seeds: 1}}  # `gan eval` settings: keys of the config's eval section
    resources: {cpus: 1, gpus: 0}  # per trial; gpus 0 runs on the CPU
    metric: modes_captured       # the metric drawn against the grid (default: value)
    metrics: [value, w1]         # the metrics of the table (default: all that eval reports)

Each trial is one grid point with one seed; every grid point is validated as a config before
anything runs, so a bad value never leaves a half-started sweep.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_cli import config as config_mod
from gan_cli.errors import GanError, shown
from gan_cli.evaluate.metric_names import METRIC_NAMES

KEYS = ("base", "name", "seeds", "grid", "set", "eval", "resources", "metric", "metrics")
RESOURCE_KEYS = ("cpus", "gpus")
DEFAULT_METRIC = "value"  # V(G, D) of the checkpoint's D: reported for every kind of data
MAX_TRIALS = 10_000
"""Most trials one sweep runs (grid points x seeds): counted before any is built."""
SEED_MAX = 2**32 - 1
NAME_MAX = 255  # bytes of one file name on the usual file systems: a trial's run directory is one


@dataclass(frozen=True)
class Trial:
    """One run of the sweep: a grid point (key -> value, in grid order) and a seed."""

    trial_id: str
    grid: dict[str, Any]
    seed: int

    @property
    def point(self) -> tuple[str, ...]:
        """The grid point as a hashable key (each value as JSON)."""
        return tuple(json.dumps(v, sort_keys=True) for v in self.grid.values())


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file; `base_raw` is the base experiment as plain YAML data."""

    path: Path
    name: str
    base_raw: dict[str, Any]
    seeds: list[int]
    grid: dict[str, list[Any]]
    fixed: dict[str, Any]
    eval: dict[str, Any]
    cpus: float
    gpus: float
    metric: str
    metrics: list[str] | None

    def overrides(self, grid_values: dict[str, Any]) -> list[str]:
        """`--set` strings of one grid point: the fixed ones, the eval settings, then the grid values."""
        pairs = list(self.fixed.items()) + list(_dotted(self.eval, "eval").items()) + list(grid_values.items())
        return [f"{key}={json.dumps(value)}" for key, value in pairs]

    def points(self) -> list[dict[str, Any]]:
        """Every grid point (the product of the grid's lists, the first key varying slowest)."""
        keys = list(self.grid)
        return [dict(zip(keys, combo)) for combo in itertools.product(*(self.grid[k] for k in keys))]

    def trials(self) -> list[Trial]:
        """Every trial: grid points in order, the seeds inside each."""
        labels = short_keys(list(self.grid))
        out: list[Trial] = []
        seen: set[str] = set()
        for values in self.points():
            for seed in self.seeds:
                parts = [f"{labels[k]}={_slug(v)}" for k, v in values.items()] + [f"seed={seed}"]
                trial_id = ",".join(parts)
                if len(trial_id.encode()) > NAME_MAX - 16:  # a run directory's name: short, and still unique
                    digest = hashlib.sha256(trial_id.encode()).hexdigest()[:12]
                    trial_id = f"{trial_id.encode()[: NAME_MAX - 48].decode(errors='ignore')}...{digest}"
                if trial_id in seen:  # two values that print alike (1 and '1'): keep the ids apart
                    trial_id = f"{trial_id},{len(out)}"
                seen.add(trial_id)
                out.append(Trial(trial_id, values, seed))
        return out

    def digest(self) -> str:
        """A hash of what the trials run (base config, seeds, grid, set, eval): --resume refuses a
        sweep directory whose sweep file was edited since, which would mix two settings in one row."""
        what = {"base": self.base_raw, "seeds": self.seeds, "grid": self.grid, "set": self.fixed, "eval": self.eval}
        return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def to_yaml_data(self, base_name: str) -> dict[str, Any]:
        """This spec as a sweep file whose base is `base_name` (beside it): what --resume reads."""
        data: dict[str, Any] = {"base": base_name, "name": self.name, "seeds": self.seeds, "grid": self.grid}
        if self.fixed:
            data["set"] = self.fixed
        if self.eval:
            data["eval"] = self.eval
        data["resources"] = {"cpus": self.cpus, "gpus": self.gpus}
        data["metric"] = self.metric
        if self.metrics is not None:
            data["metrics"] = self.metrics
        return data


def _dotted(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys ({critic: {seeds: 1}} -> eval.critic.seeds), so one key set
    inside a section keeps the base config's other keys of that section."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            out.update(_dotted(value, path))
        else:
            out[path] = value
    return out


def short_keys(keys: list[str]) -> dict[str, str]:
    """Each grid key by its last part (train.k -> k), or in full where two keys share a last part."""
    leaves = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: (leaf if leaves.count(leaf) == 1 else k) for k, leaf in zip(keys, leaves)}


def _slug(value: Any) -> str:
    """A value as a file-name-safe word: 1 -> 1, 'minimax' -> minimax, [0.5, 0.9] -> 0.5_0.9."""
    text = value if isinstance(value, str) else json.dumps(value)
    return re.sub(r"[^A-Za-z0-9.+=-]+", "_", text).strip("_") or "_"


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _parse_seeds(raw: Any, problems: list[str]) -> list[int]:
    if raw is None:
        return [0]
    if isinstance(raw, int) and not isinstance(raw, bool):
        if not 1 <= raw <= MAX_TRIALS:
            problems.append(f"seeds: a count must be between 1 and {MAX_TRIALS:,}, got {shown(raw)}")
            return []
        return list(range(raw))
    if isinstance(raw, list) and raw and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in raw):
        if len(set(raw)) != len(raw):
            problems.append(f"seeds: the list repeats a seed: {shown(raw)}")
        too_big = [s for s in raw if s > SEED_MAX]
        if too_big:
            problems.append(f"seeds: {shown(too_big[0])} is above the largest seed, {SEED_MAX} (2^32 - 1)")
        return list(raw)
    problems.append(f"seeds: expected a count (e.g. 5) or a non-empty list of seeds >= 0, got {shown(raw)}")
    return []


def _parse_mapping(raw: Any, key: str, problems: list[str]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
        problems.append(f"{key}: expected a mapping of keys to values, got {shown(raw)}")
        return {}
    return dict(raw)


def _parse_grid(raw: Any, problems: list[str]) -> dict[str, list[Any]]:
    grid = _parse_mapping(raw, "grid", problems)
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            problems.append(f"grid.{key}: expected a non-empty list of values, got {shown(values)}")
        elif len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            problems.append(f"grid.{key}: the list repeats a value: {shown(values)}")
    return grid


def _parse_resources(raw: Any, problems: list[str]) -> tuple[float, float]:
    res = _parse_mapping(raw, "resources", problems)
    for key in res:
        if key not in RESOURCE_KEYS:
            problems.append(f"resources.{key}: unknown key (use cpus, gpus)")
    cpus, gpus = res.get("cpus", 1), res.get("gpus", 0)
    if not _is_number(cpus) or not math.isfinite(cpus) or cpus <= 0:
        problems.append(f"resources.cpus: CPUs per trial must be a number > 0, got {shown(cpus)}")
        cpus = 1
    if not _is_number(gpus) or not math.isfinite(gpus) or gpus < 0:
        problems.append(f"resources.gpus: GPUs per trial must be a number >= 0, got {shown(gpus)}")
        gpus = 0
    return float(cpus), float(gpus)


def _parse_metrics(raw: dict[str, Any], problems: list[str]) -> tuple[str, list[str] | None]:
    metric = raw.get("metric", DEFAULT_METRIC)
    if not isinstance(metric, str) or not metric:
        problems.append(f"metric: expected a metric name such as value or modes_captured, got {shown(metric)}")
        metric = DEFAULT_METRIC
    metrics = raw.get("metrics")
    if metrics is not None and not (isinstance(metrics, list) and metrics and all(isinstance(m, str) for m in metrics)):
        problems.append(f"metrics: expected a non-empty list of metric names, got {shown(metrics)}")
        metrics = None
    # a name no evaluation reports would leave the figure and the table's rows empty, said at the end
    for key, name in [("metric", metric), *(("metrics", m) for m in metrics or [])]:
        if name not in METRIC_NAMES:
            close = difflib.get_close_matches(name, list(METRIC_NAMES), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"gan eval reports {', '.join(METRIC_NAMES)}"
            problems.append(f"{key}: {shown(name)} is not a metric gan eval reports; {hint}")
    return metric, metrics


def load(path: str | Path) -> SweepSpec:
    """Read and check a sweep file (not yet its grid against the config: see `validate`)."""
    p = Path(path).expanduser()
    raw = config_mod.read_yaml(p)
    problems: list[str] = []
    for key in raw:
        if key not in KEYS:
            problems.append(f"{key}: unknown key (a sweep file has {', '.join(KEYS)})")
    base = raw.get("base")
    base_raw: dict[str, Any] = {}
    if not isinstance(base, str) or not base:
        problems.append("base: required, the experiment YAML (a path relative to the sweep file)")
    else:
        base_path = (
            (p.parent / base).resolve() if not Path(base).expanduser().is_absolute() else Path(base).expanduser()
        )
        try:
            base_raw = config_mod.read_yaml(base_path)
        except GanError as exc:
            problems.append(f"base: {exc} (relative paths start at the sweep file's folder)")
    name = raw.get("name", p.stem)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9._+-]+", name or ""):
        problems.append(f"name: expected a word of letters, digits and . _ + -, got {shown(name)}")
        name = p.stem
    seeds = _parse_seeds(raw.get("seeds"), problems)
    grid = _parse_grid(raw.get("grid"), problems)
    fixed = _parse_mapping(raw.get("set"), "set", problems)
    eval_settings = _parse_mapping(raw.get("eval"), "eval", problems)
    cpus, gpus = _parse_resources(raw.get("resources"), problems)
    metric, metrics = _parse_metrics(raw, problems)
    _check_fixed(grid, fixed, "set.", problems)
    count = len(seeds) * math.prod(len(v) for v in grid.values() if isinstance(v, list))
    if count > MAX_TRIALS:  # counted before a single point is built
        problems.append(f"grid x seeds: {count:,} trials, more than the {MAX_TRIALS:,} one sweep runs; split it")
    if problems:
        raise GanError(f"invalid sweep file {p}:", problems)
    return SweepSpec(p, name, base_raw, seeds, grid, fixed, eval_settings, cpus, gpus, metric, metrics)


def _check_fixed(grid: dict[str, Any], fixed: dict[str, Any], where: str, problems: list[str]) -> None:
    """Fixed overrides (`where` names them: set. or --set ) may not set the seed or device, which
    the sweep chooses, nor a key the grid varies."""
    label = "set:" if where == "set." else where.strip()
    for section, prefix, keys in (("grid:", "grid.", grid), (label, where, fixed)):
        for key in keys:
            if key in ("seed", "device"):
                choice = "use seeds:" if key == "seed" else "resources.gpus chooses the device"
                problems.append(f"{prefix}{key}: {choice}, not {section}")
    for key in grid:
        if key in fixed:
            problems.append(f"grid.{key}: also under {label}; give it in one place")


def with_overrides(spec: SweepSpec, overrides: list[str]) -> SweepSpec:
    """`gan sweep --set KEY=VALUE`: fixed overrides of every trial on top of the sweep file's set:
    (a machine's data.root, say); they are part of the sweep from then on (SWEEP_DIR/sweep.yaml,
    which --resume reads, and its digest)."""
    if not overrides:
        return spec
    given = _dotted(config_mod.apply_overrides({}, overrides))
    problems: list[str] = []
    _check_fixed(spec.grid, given, "--set ", problems)
    if problems:
        raise GanError("invalid --set override:", problems)
    return dataclasses.replace(spec, fixed={**spec.fixed, **given})


def validate(spec: SweepSpec) -> None:
    """Build every grid point's config exactly as its trials will; raise one GanError listing each
    distinct problem (with the first grid point that shows it) before anything starts."""
    problems: dict[str, str] = {}
    for values in spec.points():
        try:
            config_mod.load(None, spec.overrides(values), base=spec.base_raw)
        except GanError as exc:
            where = ", ".join(f"{k}={json.dumps(v)}" for k, v in values.items()) or "the base config"
            for problem in exc.problems or [str(exc)]:
                problems.setdefault(problem.removeprefix("--set "), where)
    if problems:
        raise GanError(
            f"invalid sweep {spec.path}: these grid points fail the config checks (nothing was started):",
            [f"{problem} (grid point {where})" for problem, where in problems.items()],
        )


def trial_device(spec: SweepSpec) -> str:
    """The device of every trial: cuda when the trial is given GPUs, else cpu (never 'auto', which
    would take a GPU that the scheduler did not give the trial)."""
    return "cuda" if spec.gpus > 0 else "cpu"
