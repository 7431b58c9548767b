"""Experiment configuration: frozen dataclasses, YAML loading, `--set` overrides, strict validation.

Every field carries its default and a one-line doc (units, the paper's value). Loading is strict:
unknown keys (with the closest valid key), wrong types and out-of-range values are all collected
and reported together, each with its dotted key path.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from gan_cli.errors import GanError

SQRT3 = math.sqrt(3.0)


def _f(default: Any = dataclasses.MISSING, doc: str = "", *, factory: Any = None, **checks: Any) -> Any:
    """A dataclass field with a doc string and value checks (ge, gt, le, lt, len)."""
    meta = {"doc": doc, **checks}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


Activation = Literal["linear", "relu", "leaky_relu", "tanh", "sigmoid", "maxout"]
DataName = Literal[
    "gaussian", "ring", "grid", "mixture", "digits", "mnist", "fashion-mnist", "stacked-mnist", "cifar10", "npz", "folder"
]
TOY_DATASETS = ("gaussian", "ring", "grid", "mixture")


@dataclass(frozen=True)
class LayerConfig:
    """One hidden layer of an MLP."""

    units: int = _f(doc="output units of the layer (for maxout: units after the max)", gt=0)
    activation: Activation = _f("relu", "linear | relu | leaky_relu | tanh | sigmoid | maxout")
    pieces: int = _f(5, "maxout pieces per unit (paper: 5); ignored by other activations", gt=0)
    dropout: float = _f(0.0, "probability of dropping each input of this layer (inverted dropout)", ge=0.0, lt=1.0)


@dataclass(frozen=True)
class DataConfig:
    """The target distribution p_data."""

    name: DataName = _f("gaussian", "gaussian | ring | grid | mixture | digits | mnist | fashion-mnist | stacked-mnist | cifar10 | npz | folder")
    root: str = _f("data", "directory holding downloaded datasets (MNIST: ROOT/MNIST/raw/*.gz or unpacked IDX)")
    download: bool = _f(False, "let torchvision download the dataset into root when it is missing")
    path: str | None = _f(None, "npz file (array under key 'x') or image folder, for data.name npz | folder")
    train_range: list[int] | None = _f(None, "[start, end) indexes of the training split in the dataset's train pool; null = dataset default (MNIST: [0, 50000])", len=2)
    valid_range: list[int] | None = _f(None, "[start, end) of the validation split; null = default (MNIST: [50000, 60000])", len=2)
    test_range: list[int] | None = _f(None, "[start, end) of the test split where the dataset has no official test set", len=2)
    num_samples: int = _f(50_000, "toy data: size of the training set drawn from p_data", gt=0)
    eval_samples: int = _f(10_000, "toy data: size of each of the validation and test sets", gt=0)
    mean: float = _f(4.0, "gaussian: mean of the 1-D target")
    std: float | None = _f(None, "std of each component (gaussian 0.5, ring 0.02, grid 0.05, mixture 0.1)", gt=0.0)
    modes: int = _f(8, "ring: number of equal-weight modes", gt=0)
    radius: float = _f(2.0, "ring: radius of the circle of modes", gt=0.0)
    grid_size: int = _f(5, "grid: modes per side (5 gives the 25-mode benchmark)", gt=0)
    spacing: float = _f(2.0, "grid: distance between neighbouring modes", gt=0.0)
    means: list[list[float]] | None = _f(None, "mixture: component means, one list per component")
    weights: list[float] | None = _f(None, "mixture: component weights (normalised); null = equal")


@dataclass(frozen=True)
class NoiseConfig:
    """The noise prior p_z."""

    dim: int = _f(100, "noise dimensions (paper: 100)", gt=0)
    prior: Literal["uniform", "normal"] = _f("uniform", "uniform on (-scale, scale) or normal with std scale")
    scale: float = _f(SQRT3, "uniform half-width or normal std (paper: sqrt 3, unit variance)", gt=0.0)


@dataclass(frozen=True)
class GeneratorConfig:
    """The generator MLP G(z; theta_g)."""

    hidden: list[LayerConfig] = _f(doc="hidden layers, bottom first", factory=lambda: [LayerConfig(64), LayerConfig(64)])
    output_activation: Literal["sigmoid", "tanh", "linear"] = _f("linear", "sigmoid ([0,1] pixels), tanh ([-1,1]) or linear (toy data)")
    init: Literal["default", "uniform", "normal"] = _f("default", "weight init: PyTorch default, U(-r, r) or N(0, r^2); biases 0 unless default")
    init_scale: float = _f(0.05, "r for uniform/normal init (paper G: 0.05)", gt=0.0)
    output_bias: Literal["zero", "marginals"] = _f("zero", "marginals: output bias = logit(mean training pixel), paper's init_bias_from_marginals")


@dataclass(frozen=True)
class DiscriminatorConfig:
    """The discriminator MLP D(x; theta_d); it returns a logit."""

    hidden: list[LayerConfig] = _f(doc="hidden layers, bottom first", factory=lambda: [LayerConfig(64), LayerConfig(64)])
    output_dropout: float = _f(0.0, "dropout on the input of the final linear layer (paper: 0.5)", ge=0.0, lt=1.0)
    init: Literal["default", "uniform", "normal"] = _f("default", "weight init, as for the generator")
    init_scale: float = _f(0.005, "r for uniform/normal init (paper D: 0.005)", gt=0.0)


@dataclass(frozen=True)
class LrScheduleConfig:
    """Learning rate as a function of t, the optimizer's updates so far."""

    name: Literal["constant", "exponential"] = _f("constant", "constant, or lr0 / decay^t floored at min_lr (paper)")
    decay: float = _f(1.000004, "per-update decay factor (paper: 1.000004)", ge=1.0)
    min_lr: float = _f(1e-6, "floor of the decayed lr (paper: 1e-6)", ge=0.0)


@dataclass(frozen=True)
class MomentumScheduleConfig:
    """Momentum as a function of the 1-based epoch e."""

    name: Literal["constant", "linear"] = _f("constant", "constant, or linear from start to final over epochs (paper)")
    start: float = _f(0.5, "momentum in epoch 1 (paper: 0.5)", ge=0.0, lt=1.0)
    final: float = _f(0.7, "momentum from saturate_epoch on (paper: 0.7)", ge=0.0, lt=1.0)
    saturate_epoch: int = _f(250, "epoch at which the ramp reaches final (paper: 250)", gt=1)


@dataclass(frozen=True)
class OptimizerConfig:
    """One optimizer; both nets get their own instance with these settings."""

    name: Literal["sgd", "adam"] = _f("adam", "sgd (momentum) or adam")
    lr: float = _f(2e-4, "initial learning rate (paper MNIST: 0.1)", gt=0.0)
    momentum: float = _f(0.0, "sgd momentum when momentum_schedule is constant", ge=0.0, lt=1.0)
    sgd_form: Literal["paper", "torch"] = _f("paper", "paper: v = mu v - lr g, p += v (pylearn2); torch: torch.optim.SGD's form")
    betas: list[float] = _f(doc="adam betas", factory=lambda: [0.5, 0.999], len=2)
    weight_decay: float = _f(0.0, "L2 penalty coefficient", ge=0.0)
    lr_schedule: LrScheduleConfig = _f(doc="learning-rate schedule", factory=LrScheduleConfig)
    momentum_schedule: MomentumScheduleConfig = _f(doc="momentum schedule (sgd only)", factory=MomentumScheduleConfig)


@dataclass(frozen=True)
class TrainConfig:
    """Algorithm 1 and the released code's variant."""

    update: Literal["alternating", "simultaneous"] = _f("alternating", "alternating: Algorithm 1 (k D steps, then G); simultaneous: the released code (one pass, both step)")
    k: int = _f(1, "discriminator steps per generator step in alternating updates (paper: 1)", gt=0)
    generator_loss: Literal["non_saturating", "minimax"] = _f("non_saturating", "non_saturating: ascend log D(G(z)); minimax: descend log(1 - D(G(z)))")
    d_loss_scale: float = _f(1.0, "factor on D's loss -[log D(x) + log(1 - D(G(z)))] (released code: 0.5)", gt=0.0)
    batch_size: int = _f(100, "m, examples per minibatch (paper: 100)", gt=0)
    epochs: int | None = _f(None, "budget in passes over the training set (ignored when steps is set)", gt=0)
    steps: int | None = _f(None, "budget in generator updates; takes precedence over epochs", gt=0)
    optimizer: OptimizerConfig = _f(doc="optimizer of both nets", factory=OptimizerConfig)
    nan_policy: Literal["stop", "rollback"] = _f("stop", "on a NaN/inf loss or weight (checked at log rows and before checkpoints): stop, or reload last.pt at a smaller lr")
    nan_max_rollbacks: int = _f(3, "rollbacks allowed per run before stopping anyway (nan_policy rollback)", ge=0)
    nan_lr_scale: float = _f(0.5, "factor on the lr at each rollback (nan_policy rollback)", gt=0.0, le=1.0)
    compile: bool = _f(False, "torch.compile G and D (fuses the elementwise ops; the first steps compile, slowly; on the CPU it needs a C++ compiler)")
    precision: Literal["float32", "bf16"] = _f("float32", "float32, or bf16 autocast of the forward passes (CPU with AVX-512 BF16/AMX, CUDA with bf16 support); losses and weights stay float32")
    cuda_graphs: bool = _f(False, "CUDA only: capture each update in a CUDA graph and replay it (static shapes; needs sgd with sgd_form paper; not with compile)")


@dataclass(frozen=True)
class LogConfig:
    """What is written to the run directory, and how often (in generator steps)."""

    every: int = _f(100, "steps between metrics.jsonl rows and console lines", gt=0)
    samples_every: int = _f(1000, "steps between sample pictures", gt=0)
    checkpoint_every: int = _f(1000, "steps between checkpoints", gt=0)
    keep: int = _f(3, "periodic checkpoints kept (newest); last.pt is always kept", ge=0)
    num_samples: int = _f(100, "samples in each picture (images: a square grid; toy: drawn from p_g are many more)", gt=0)
    tensorboard: bool = _f(False, "also write TensorBoard scalars under RUN_DIR/tb (needs the tensorboard package)")
    select_every_epochs: int = _f(0, "epochs between validation Parzen model-selection checks (best -> checkpoints/best.pt); 0 = off", ge=0)
    select_samples: int = _f(1000, "generated samples used as Parzen kernels by each selection check", gt=0)
    select_valid: int = _f(1000, "validation examples scored by each selection check (the first ones of the split)", gt=0)


@dataclass(frozen=True)
class EvalConfig:
    """Defaults of `gan eval`."""

    split: Literal["valid", "test"] = _f("test", "held-out split evaluated")
    num_samples: int = _f(10_000, "generated samples per metric (Parzen kernels, critic data)", gt=0)
    seed: int = _f(0, "seed of the evaluation's noise and critics", ge=0)
    critic: Literal["discriminator", "mlp"] = _f("discriminator", "fresh critic's architecture: the config's discriminator, or an MLP of two critic_units leaky-ReLU layers")
    critic_units: int = _f(128, "hidden units per layer of the 'mlp' critic", gt=0)
    critic_seeds: int = _f(3, "fresh critics trained (one per seed); the JSD bound is their mean +- s.e.", gt=0)
    critic_steps: int = _f(2000, "most Adam steps per critic (it stops early on its validation split)", gt=0)
    critic_batch_size: int = _f(256, "real and generated examples per critic step (each)", gt=0)
    critic_lr: float = _f(1e-3, "critic Adam learning rate", gt=0.0)
    critic_eval_every: int = _f(100, "critic steps between validation checks (early stopping)", gt=0)
    critic_patience: int = _f(5, "validation checks without improvement before the critic stops", gt=0)
    mode_samples: int = _f(2500, "generated samples for the mode metrics (VEEGAN/PacGAN protocol: 2,500)", gt=0)
    quality_std: float = _f(3.0, "a sample is high quality within this many std (Mahalanobis) of its nearest mode", gt=0.0)
    parzen_kernels: int | None = _f(None, "Parzen kernels drawn from G; null = num_samples (paper: 10,000)", gt=0)
    parzen_valid: int = _f(1000, "first validation images that choose the Parzen sigma (paper: 1,000)", gt=0)
    nn_samples: int = _f(1000, "samples and held-out images in the nearest-training-neighbour check", gt=1)
    z_grid: int = _f(1_000_000, "1-D exact p_g: noise quantile grid points pushed through G", ge=1000)
    x_bins: int = _f(20_000, "1-D exact p_g: bins of the x grid the JSD is summed over", ge=100)
    kde_bandwidth: float = _f(0.5, "density JSD without exact p_g: Gaussian kernel width as a fraction of the target's smallest component std", gt=0.0, le=2.0)
    w1_samples: int = _f(1000, "samples per side of each exact optimal-transport W1 in 2-D (cost grows as n^3)", gt=1)
    features: bool = _f(True, "labelled image data (mnist, fashion-mnist, digits, stacked-mnist): FID, KID, precision/recall, density/coverage and classes covered in the features of a CNN trained once on the training split and cached in data.root/gan-cli-features (`gan eval features` trains it)")
    fid_bootstrap: int = _f(20, "FID: bootstrap resamples of each side for its s.e. (0 = no s.e.)", ge=0)
    kid_subset_size: int = _f(1000, "KID: rows per disjoint subset and side (Binkowski et al.: 1,000; halved down to n/2 for small n); mean +- s.e. over the subsets", gt=1)
    stacked_samples: int = _f(26_000, "stacked-mnist: samples classified per channel for modes covered (of 1,000) and KL to uniform (VEEGAN/PacGAN: 26,000)", gt=0)
    inception: bool = _f(False, "3-channel images: also torch-fidelity's Inception FID and KID (comparable with the literature; its weights download once; offline: one line, skipped)")


@dataclass(frozen=True)
class Config:
    """One experiment."""

    name: str = _f("experiment", "run name; default run directory is runs/<name>-<YYYYmmdd-HHMMSS>")
    seed: int = _f(0, "seed of every random number of the run; the same seed repeats a CPU run bit for bit", ge=0)
    device: str = _f("auto", "auto (cuda, then mps, then cpu) | cpu | cuda | cuda:N | mps")
    data: DataConfig = _f(doc="the target distribution", factory=DataConfig)
    noise: NoiseConfig = _f(doc="the noise prior", factory=NoiseConfig)
    generator: GeneratorConfig = _f(doc="the generator", factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = _f(doc="the discriminator", factory=DiscriminatorConfig)
    train: TrainConfig = _f(doc="the training algorithm", factory=TrainConfig)
    log: LogConfig = _f(doc="logging, pictures and checkpoints", factory=LogConfig)
    eval: EvalConfig = _f(doc="gan eval defaults", factory=EvalConfig)


# ---------------------------------------------------------------- conversion and validation

_MISSING = object()


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) if not isinstance(a, str) else a for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is list:
        (inner,) = typing.get_args(tp)
        return f"a list of {_type_name(inner)}"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    if tp is type(None):
        return "null"
    return {int: "an integer", float: "a number", bool: "true/false", str: "a string"}.get(tp, str(tp))


def _convert(value: Any, tp: Any, path: str, errors: list[str]) -> Any:
    """Convert a YAML value to `tp`; append a message to `errors` and return _MISSING on failure."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        for arg in non_none:
            trial: list[str] = []
            out = _convert(value, arg, path, trial)
            if not trial:
                return out
        if len(non_none) == 1:
            return _convert(value, non_none[0], path, errors)
        errors.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
        return _MISSING
    if origin is Literal:
        options = typing.get_args(tp)
        if value in options and isinstance(value, str):
            return value
        close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        errors.append(f"{path}: {value!r} is not one of {', '.join(map(str, options))}{hint}")
        return _MISSING
    if origin is list:
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list):
            errors.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
            return _MISSING
        items = [_convert(v, inner, f"{path}[{i}]", errors) for i, v in enumerate(value)]
        return _MISSING if any(i is _MISSING for i in items) else items
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path, errors)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer() and math.isfinite(value):
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:  # an integer beyond float range
                number = math.inf
            if not math.isfinite(number):
                errors.append(f"{path}: must be a finite number, got {value!r}")
                return _MISSING
            return number
        if isinstance(value, str):  # YAML 1.1 reads 1e-6 (no dot) as a string
            try:
                number = float(value)
            except ValueError:
                pass
            else:
                if math.isfinite(number):
                    return number
                errors.append(f"{path}: must be a finite number, got {value!r}")
                return _MISSING
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    errors.append(f"{path}: expected {_type_name(tp)}, got {value!r}")
    return _MISSING


def _check_range(value: Any, meta: dict[str, Any], path: str, errors: list[str]) -> None:
    if value is None:
        return
    if "len" in meta and isinstance(value, list) and len(value) != meta["len"]:
        errors.append(f"{path}: expected {meta['len']} values, got {len(value)}")
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    for key, ok, word in (
        ("ge", lambda v, b: v >= b, ">="),
        ("gt", lambda v, b: v > b, ">"),
        ("le", lambda v, b: v <= b, "<="),
        ("lt", lambda v, b: v < b, "<"),
    ):
        if key in meta and not ok(value, meta[key]):
            errors.append(f"{path}: must be {word} {meta[key]}, got {value!r}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _build(cls: type, raw: Any, path: str, errors: list[str]) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors.append(f"{path or 'config'}: expected a mapping of keys to values, got {raw!r}")
        return _MISSING
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean '{_join(path, close[0])}'?" if close else ""
            errors.append(f"{_join(path, str(key))}: unknown key{hint}")
            continue
        out = _convert(value, hints[key], _join(path, key), errors)
        if out is not _MISSING:
            _check_range(out, dict(fields[key].metadata), _join(path, key), errors)
            kwargs[key] = out
    for name, f in fields.items():
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            if name not in raw:
                errors.append(f"{_join(path, name)}: required key is missing")
    try:
        return cls(**kwargs)
    except TypeError:
        return _MISSING


def _semantic_checks(cfg: Config, errors: list[str]) -> None:
    """Checks that involve more than one key."""
    d = cfg.data
    for key in ("train_range", "valid_range", "test_range"):
        rng = getattr(d, key)
        if rng is not None and len(rng) == 2 and not (0 <= rng[0] < rng[1]):
            errors.append(f"data.{key}: needs 0 <= start < end, got {rng}")
    if d.name == "mixture":
        if not d.means:
            errors.append("data.means: the mixture dataset needs a list of component means")
        else:
            dims = {len(m) for m in d.means}
            if len(dims) != 1 or 0 in dims:
                errors.append("data.means: every component mean needs the same, non-zero number of coordinates")
            if d.weights is not None and len(d.weights) != len(d.means):
                errors.append(f"data.weights: {len(d.weights)} weights for {len(d.means)} components")
    if d.weights is not None and (any(w < 0 or not math.isfinite(w) for w in d.weights) or sum(d.weights) <= 0):
        errors.append("data.weights: must be non-negative with a positive sum")
    if d.name in ("npz", "folder") and not d.path:
        errors.append(f"data.path: data.name {d.name} needs a path")
    if d.name in TOY_DATASETS and cfg.generator.output_activation != "linear":
        pass  # allowed: a bounded G on toy data is a legitimate (if unusual) experiment
    if cfg.generator.output_bias == "marginals" and d.name in TOY_DATASETS:
        errors.append("generator.output_bias: 'marginals' needs image data in [0, 1] (sigmoid output)")
    if cfg.generator.output_bias == "marginals" and cfg.generator.output_activation != "sigmoid":
        errors.append("generator.output_bias: 'marginals' is the logit of the mean pixel and needs output_activation sigmoid")
    if cfg.train.steps is None and cfg.train.epochs is None:
        errors.append("train: set a budget, train.steps or train.epochs")
    if cfg.train.cuda_graphs and cfg.train.compile:
        errors.append("train.cuda_graphs: cannot be combined with train.compile; choose one")
    if cfg.train.cuda_graphs and not (cfg.train.optimizer.name == "sgd" and cfg.train.optimizer.sgd_form == "paper"):
        errors.append("train.cuda_graphs: needs train.optimizer.name sgd with sgd_form paper (its lr and momentum live on the device)")
    if cfg.train.cuda_graphs and cfg.device in ("cpu", "mps"):
        errors.append(f"train.cuda_graphs: needs a CUDA device, but device is {cfg.device}; set train.cuda_graphs: false")
    dev = cfg.device
    if not (dev in ("auto", "cpu", "cuda", "mps") or (dev.startswith("cuda:") and dev[5:].isdigit())):
        errors.append(f"device: {dev!r} is not one of auto, cpu, cuda, cuda:N, mps")


def from_dict(raw: Any) -> Config:
    """Build and validate a Config from plain data; raise GanError listing every problem."""
    errors: list[str] = []
    cfg = _build(Config, raw, "", errors)
    if cfg is not _MISSING and not errors:
        _semantic_checks(cfg, errors)
    if errors:
        raise GanError("invalid config:", errors)
    return cfg


def to_dict(cfg: Any) -> Any:
    """Plain nested dicts/lists (YAML- and checkpoint-safe)."""
    return dataclasses.asdict(cfg)


def dump_yaml(cfg: Config) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file, turning every failure into a GanError that names the file (and line)."""
    p = Path(path)
    if not p.is_file():
        raise GanError(f"config file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GanError(f"cannot read config file {p}: {exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise GanError(f"{p}:{where}: malformed YAML: {problem}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # PyYAML's constructors raise plain errors for values such as the date 2001-13-99
        raise GanError(f"{p}: malformed YAML: a value cannot be read ({exc})") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise GanError(f"{p}: the top level must be a mapping of sections (data:, train:, ...), got {type(raw).__name__}")
    return raw


def _valid_paths(cls: type, prefix: str = "") -> list[str]:
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        p = _join(prefix, f.name)
        out.append(p)
        if dataclasses.is_dataclass(hints[f.name]):
            out.extend(_valid_paths(hints[f.name], p))
    return out


def _closest_path(key: str, valid: list[str]) -> list[str]:
    """The valid dotted path most like `key`: same last part first (train.lr -> train.optimizer.lr)."""
    leaf = key.rsplit(".", 1)[-1]
    same_leaf = [v for v in valid if v.rsplit(".", 1)[-1] == leaf]
    if same_leaf:
        return difflib.get_close_matches(key, same_leaf, n=1, cutoff=0.0)
    near_leaf = [v for v in valid if difflib.get_close_matches(leaf, [v.rsplit(".", 1)[-1]], n=1, cutoff=0.6)]
    if near_leaf:  # a misspelt last part: train.lrr -> train.optimizer.lr
        return difflib.get_close_matches(key, near_leaf, n=1, cutoff=0.0)
    return difflib.get_close_matches(key, valid, n=1, cutoff=0.5)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `KEY=VALUE` overrides (dotted path, value parsed as YAML) to a raw config dict."""
    import copy

    out = copy.deepcopy(raw)
    valid = _valid_paths(Config)
    errors: list[str] = []
    for item in overrides:
        if "=" not in item:
            errors.append(f"--set {item!r}: expected KEY=VALUE, e.g. train.lr=0.05")
            continue
        key, text = item.split("=", 1)
        key = key.strip()
        if key not in valid:
            close = _closest_path(key, valid)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            errors.append(f"--set {key}: unknown key{hint}")
            continue
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError):
            value = text  # not YAML (e.g. the date 2001-13-99): keep the text; validation names the key
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    if errors:
        raise GanError("invalid --set override:", errors)
    return out


def load(path: str | Path | None = None, overrides: list[str] | None = None, base: dict[str, Any] | None = None) -> Config:
    """Load a YAML file (or a raw dict), apply overrides, validate."""
    raw = read_yaml(path) if path is not None else dict(base or {})
    if overrides:
        raw = apply_overrides(raw, overrides)
    return from_dict(raw)


def field_docs(cls: type = Config, prefix: str = "") -> list[tuple[str, Any, str]]:
    """(dotted key, default, doc) for every key, for the README and --help."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        p = _join(prefix, f.name)
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            out.extend(field_docs(tp, p))
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        )
        if isinstance(default, list):
            default = [dataclasses.asdict(d) if dataclasses.is_dataclass(d) else d for d in default]
        out.append((p, default, f.metadata.get("doc", "")))
    return out
