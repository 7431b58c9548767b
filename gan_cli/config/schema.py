"""The experiment configuration as frozen dataclasses: every key, its default, its checks, its doc.

Every field carries its default and a one-line doc (units, the paper's value); `gan config` and
docs/config.md are generated from these docs (`field_docs`). The `eval` section (one section per
estimator) lives in `schema_eval`. Loading and validation live in `gan_cli.config.loading`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from gan_cli.config.fields import doc_field as _f
from gan_cli.config.schema_eval import EvalConfig

SQRT3 = math.sqrt(3.0)


Activation = Literal["linear", "relu", "leaky_relu", "tanh", "sigmoid", "maxout"]
DataName = Literal[
    "gaussian",
    "ring",
    "grid",
    "mixture",
    "digits",
    "mnist",
    "fashion-mnist",
    "stacked-mnist",
    "cifar10",
    "npz",
    "folder",
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

    name: DataName = _f(
        "gaussian",
        "gaussian | ring | grid | mixture | digits | mnist | fashion-mnist | stacked-mnist | cifar10 | npz | folder",
    )
    root: str = _f("data", "directory holding downloaded datasets (MNIST: ROOT/MNIST/raw/*.gz or unpacked IDX)")
    download: bool = _f(False, "let torchvision download the dataset into root when it is missing")
    path: str | None = _f(
        None,
        (
            "npz file (images under key 'x', optional labels 'y') or image folder (optional class sub-folders), for "
            "data.name npz | folder"
        ),
    )
    train_range: list[int] | None = _f(
        None,
        (
            "[start, end) indexes of the training split in the dataset's train pool; null = dataset default (MNIST: [0,"
            " 50000])"
        ),
        len=2,
    )
    valid_range: list[int] | None = _f(
        None, "[start, end) of the validation split; null = default (MNIST: [50000, 60000])", len=2
    )
    test_range: list[int] | None = _f(
        None, "[start, end) of the test split where the dataset has no official test set", len=2
    )
    shuffle: bool = _f(
        True,
        (
            "npz | folder: cut the splits from a seeded shuffle of the examples (false: in file order, as runs before "
            "this key did)"
        ),
    )
    split_seed: int = _f(
        0, "npz | folder: seed of that shuffle; apart from `seed`, so runs of every seed share their splits", ge=0
    )
    train_size: int = _f(50_000, "toy data: examples in the training set drawn from p_data", gt=0)
    held_out_size: int = _f(10_000, "toy data: examples in each of the validation and test sets", gt=0)
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

    hidden: list[LayerConfig] = _f(
        doc="hidden layers, bottom first", factory=lambda: [LayerConfig(64), LayerConfig(64)]
    )
    output_activation: Literal["sigmoid", "tanh", "linear"] = _f(
        "linear", "sigmoid ([0,1] pixels), tanh ([-1,1]) or linear (toy data)"
    )
    init: Literal["default", "uniform", "normal"] = _f(
        "default", "weight init: PyTorch default, U(-r, r) or N(0, r^2); biases 0 unless default"
    )
    init_scale: float = _f(0.05, "r for uniform/normal init (paper G: 0.05)", gt=0.0)
    output_bias: Literal["zero", "marginals"] = _f(
        "zero", "marginals: output bias = logit(mean training pixel), paper's init_bias_from_marginals"
    )


@dataclass(frozen=True)
class DiscriminatorConfig:
    """The discriminator MLP D(x; theta_d); it returns a logit."""

    hidden: list[LayerConfig] = _f(
        doc="hidden layers, bottom first", factory=lambda: [LayerConfig(64), LayerConfig(64)]
    )
    output_dropout: float = _f(0.0, "dropout on the input of the final linear layer (paper: 0.5)", ge=0.0, lt=1.0)
    init: Literal["default", "uniform", "normal"] = _f("default", "weight init, as for the generator")
    init_scale: float = _f(0.005, "r for uniform/normal init (paper D: 0.005)", gt=0.0)


@dataclass(frozen=True)
class LrScheduleConfig:
    """Learning rate as a function of t, the optimizer's updates so far, or of the 1-based epoch e."""

    name: Literal["constant", "exponential", "linear"] = _f(
        "constant", "constant; lr0 / decay^t floored at min_lr (paper); or linear by epoch, start_epoch to end_epoch"
    )
    decay: float = _f(1.000004, "exponential: per-update decay factor (paper: 1.000004)", ge=1.0)
    min_lr: float = _f(1e-6, "exponential: floor of the decayed lr (paper: 1e-6)", ge=0.0)
    start_epoch: int = _f(1, "linear: lr0 through this 1-based epoch, then moving each epoch", ge=1)
    end_epoch: int = _f(100, "linear: the epoch from which the lr stays at final * lr0", ge=2)
    final: float = _f(
        0.0, "linear: the lr from end_epoch on, as a multiple of lr0 (below 1 a decay, above 1 a rise)", ge=0.0, le=10.0
    )
    start_at_budget: float | None = _f(
        None,
        (
            "linear: start at the end of the first epoch by which this fraction of train.max_minutes has passed, in "
            "place of start_epoch (end_epoch - start_epoch epochs of change kept), so the change falls as late in the "
            "time budget on any machine; the epoch is kept in checkpoints; null = by start_epoch"
        ),
        gt=0.0,
        lt=1.0,
    )


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
    d_lr_scale: float = _f(
        1.0,
        "D's learning rate as a multiple of G's, schedule included (two time-scale rule, Heusel et al. 2017)",
        gt=0.0,
    )
    momentum: float = _f(0.0, "sgd momentum when momentum_schedule is constant", ge=0.0, lt=1.0)
    sgd_form: Literal["paper", "torch"] = _f(
        "paper", "paper: v = mu v - lr g, p += v (pylearn2); torch: torch.optim.SGD's form"
    )
    betas: list[float] = _f(doc="adam betas", factory=lambda: [0.5, 0.999], len=2)
    weight_decay: float = _f(0.0, "L2 penalty coefficient", ge=0.0)
    lr_schedule: LrScheduleConfig = _f(doc="learning-rate schedule", factory=LrScheduleConfig)
    momentum_schedule: MomentumScheduleConfig = _f(doc="momentum schedule (sgd only)", factory=MomentumScheduleConfig)


@dataclass(frozen=True)
class EmaConfig:
    """An exponential moving average (EMA) of G's weights, updated after every generator update.

    Averaging G's iterates is not in the paper; it is a known large gain for GANs (Yazici et al.
    2019). With it on, `gan sample`, `gan eval` and model selection use the averaged G unless told
    `--weights raw`; training itself is unchanged (D always plays against the raw G).
    """

    decay: float | None = _f(
        None,
        "EMA decay per generator update (e.g. 0.999: a mean age of ~1,000 updates); null = off (the paper)",
        gt=0.0,
        lt=1.0,
    )
    rampup: float | None = _f(
        0.1,
        (
            "the average's mean age is at most rampup x updates so far (decay_t = min(decay, r t / (1 + r t))), so "
            "early weights do not linger; null = decay from the first update"
        ),
        gt=0.0,
    )


@dataclass(frozen=True)
class TrainConfig:
    """Algorithm 1 and the released code's variant."""

    update: Literal["alternating", "simultaneous"] = _f(
        "alternating",
        "alternating: Algorithm 1 (k D steps, then G); simultaneous: the released code (one pass, both step)",
    )
    k: int = _f(1, "discriminator steps per generator step in alternating updates (paper: 1)", gt=0)
    generator_loss: Literal["non_saturating", "minimax"] = _f(
        "non_saturating", "non_saturating: ascend log D(G(z)); minimax: descend log(1 - D(G(z)))"
    )
    d_loss_scale: float = _f(1.0, "factor on D's loss -[log D(x) + log(1 - D(G(z)))] (released code: 0.5)", gt=0.0)
    batch_size: int = _f(100, "m, examples per minibatch (paper: 100)", gt=0)
    epochs: int | None = _f(None, "budget in passes over the training set (ignored when steps is set)", gt=0)
    steps: int | None = _f(None, "budget in generator updates; takes precedence over epochs", gt=0)
    max_minutes: float | None = _f(
        None,
        (
            "a time budget besides: minutes of training (pictures, model selection and time the process was "
            "stopped not counted) after which the run checkpoints and ends; a resume counts the minutes already "
            "spent; null = none"
        ),
        gt=0.0,
    )
    optimizer: OptimizerConfig = _f(doc="optimizer of both nets", factory=OptimizerConfig)
    nan_policy: Literal["stop", "rollback"] = _f(
        "stop",
        (
            "on a NaN/inf loss or weight (checked at log rows and before checkpoints): stop, or reload last.pt at a "
            "smaller lr"
        ),
    )
    nan_max_rollbacks: int = _f(3, "rollbacks allowed per run before stopping anyway (nan_policy rollback)", ge=0)
    nan_lr_scale: float = _f(0.5, "factor on the lr at each rollback (nan_policy rollback)", gt=0.0, le=1.0)
    compile: bool = _f(
        False,
        (
            "torch.compile G and D (fuses the elementwise ops; the first steps compile, slowly; on the CPU it needs a "
            "C++ compiler)"
        ),
    )
    precision: Literal["float32", "bf16"] = _f(
        "float32",
        (
            "float32, or bf16 autocast of the forward passes (CPU with AVX-512 BF16/AMX, CUDA with bf16 support); "
            "losses and weights stay float32"
        ),
    )
    cuda_graphs: bool = _f(
        False,
        (
            "CUDA only: capture each update in a CUDA graph and replay it (static shapes; needs sgd with sgd_form "
            "paper; not with compile)"
        ),
    )
    ema: EmaConfig = _f(doc="moving average of G's weights (off by default)", factory=EmaConfig)


@dataclass(frozen=True)
class LogConfig:
    """What is written to the run directory, and how often (in generator steps)."""

    every: int = _f(100, "steps between metrics.jsonl rows and console lines", gt=0)
    samples_every: int = _f(1000, "steps between sample pictures", gt=0)
    checkpoint_every: int = _f(1000, "steps between checkpoints", gt=0)
    keep: int = _f(3, "periodic checkpoints kept (newest); last.pt is always kept", ge=0)
    picture_samples: int = _f(
        100, "samples drawn in each picture (images: a square grid; toy: drawn from p_g are many more)", gt=0
    )
    tensorboard: bool = _f(
        False,
        (
            "also write TensorBoard events under RUN_DIR/tb: the metrics, the sample pictures, the selection signal "
            "(needs the tensorboard extra)"
        ),
    )


@dataclass(frozen=True)
class SelectConfig:
    """Model selection during training: a validation Parzen check every few epochs keeps the best
    G as checkpoints/best.pt (and selection.jsonl); off by default."""

    every_epochs: int = _f(
        0, "epochs between validation Parzen model-selection checks (best -> checkpoints/best.pt); 0 = off", ge=0
    )
    kernels: int = _f(1000, "generated samples used as Parzen kernels by each check", gt=0)
    valid_examples: int = _f(1000, "validation examples scored by each check (the first ones of the split)", gt=0)


@dataclass(frozen=True)
class Config:
    """One experiment."""

    name: str = _f("experiment", "run name; default run directory is runs/<name>-<YYYYmmdd-HHMMSS>")
    seed: int = _f(0, "seed of every random number of the run; the same seed repeats a CPU run bit for bit", ge=0)
    seed_scheme: Literal["derive", "legacy"] = _f(
        "derive",
        (
            "how each random stream's seed comes from seed: derive (hashed with the stream's name, gan_cli/seeds.py) | "
            "legacy (the offsets of runs started before checkpoint format 2; gan train --resume keeps a run's own)"
        ),
    )
    data: DataConfig = _f(doc="the target distribution", factory=DataConfig)
    noise: NoiseConfig = _f(doc="the noise prior", factory=NoiseConfig)
    generator: GeneratorConfig = _f(doc="the generator", factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = _f(doc="the discriminator", factory=DiscriminatorConfig)
    device: str = _f("auto", "auto (cuda, then mps, then cpu) | cpu | cuda | cuda:N | mps")
    train: TrainConfig = _f(doc="the training algorithm", factory=TrainConfig)
    log: LogConfig = _f(doc="logging, pictures and checkpoints", factory=LogConfig)
    select: SelectConfig = _f(doc="model selection during training", factory=SelectConfig)
    eval: EvalConfig = _f(doc="gan eval defaults", factory=EvalConfig)
