"""Every random stream's seed, derived from the one seed of a run (`seed`) or of an evaluation (`eval.seed`).

`derive(seed, stream, *index)` hashes the seed, the stream's registered name (its UTF-8 bytes)
and any integer indexes (a critic's number, a rank and a step) with numpy's SeedSequence, so two
streams never share a seed by arithmetic accident (the old `seed * 1009 + 101 * section + i` gave
the second critic and the density estimate the same one) and neighbouring seeds give unrelated
streams. Python's hash() is never used: it changes between processes.

Every stream is named in STREAMS; `derive` refuses any other name, so no call site invents one and
tests/test_seeds.py can enumerate them all.

Runs started before this module (checkpoint format 1, configs without `seed_scheme`) derived their
training streams by offsets: the `legacy` scheme below keeps those formulas, so such a run resumes
exactly (its toy data, fixed picture noise and selection noise are regenerated from the seed, not
stored). `run_seed` picks the formula of a run's `seed_scheme`; evaluation streams have no legacy
formulas (an evaluation is repeatable from its own seed, not continued).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# ---------------------------------------------------------------- the registry

# the data of a toy run, drawn from p_data (image datasets are files: only npz and folder data are shuffled)
DATA_TRAIN = "data.train"
DATA_VALID = "data.valid"
DATA_TEST = "data.test"
DATA_SPLIT = "data.split"  # npz and folder data: the shuffle that assigns examples to splits (root: data.split_seed)
# training
TRAIN_GLOBAL = "train.global"  # python, numpy and torch's global RNGs: G's and D's initial weights, then each step's noise and dropout
TRAIN_RANK_STEP = (
    "train.rank_step"  # index (rank, step): the global RNGs reseeded at each step of each process (torchrun)
)
TRAIN_DATA_ORDER = "train.data_order"  # the epoch permutations of the training set (its own generator)
TRAIN_FIXED_NOISE = "train.fixed_noise"  # the noise of RUN_DIR/samples pictures
TRAIN_SELECTION_NOISE = "train.selection_noise"  # the kernel-centre noise of model selection (training/selection.py)
# `gan eval`
EVAL_GLOBAL = "eval.global"  # torch's global RNG inside the evaluation (restored after it)
EVAL_VALUE_NOISE = "eval.value.noise"  # G's samples for V(G, D)
EVAL_CRITIC_SPLIT = (
    "eval.critic.split"  # the shuffle of the held-out split into the critic's validation and test halves
)
EVAL_CRITIC_NOISE = "eval.critic.noise"  # index i: G's samples of the critic's split i (train, valid, test)
EVAL_CRITIC_INIT = "eval.critic.init"  # index c: critic c's weights, minibatches and dropout
EVAL_DENSITY_KERNEL = "eval.density.kernel"  # the Monte Carlo points and kernel noise of the smoothed JSD
EVAL_DENSITY_NOISE = "eval.density.noise"  # G's samples for the smoothed JSD and the empirical W1
EVAL_DENSITY_FIGURE = "eval.density.figure"  # G's samples drawn in the 1-D density picture
EVAL_W1_DATA = "eval.w1.data"  # samples of p_data for the optimal-transport W1 and its floor
EVAL_W1_NOISE = "eval.w1.noise"  # index r: G's samples of W1 repeat r
EVAL_MODES_NOISE = "eval.modes.noise"  # G's samples for the mode metrics
EVAL_PARZEN_NOISE = "eval.parzen.noise"  # G's samples, the Parzen kernel centres
EVAL_MEMORISATION_NOISE = "eval.memorisation.noise"  # G's samples for the nearest-neighbour ratio
EVAL_MEMORISATION_BOOTSTRAP = "eval.memorisation.bootstrap"  # its bootstrap standard error
EVAL_FEATURES_TRAIN = "eval.features.train"  # the training images of the real-vs-real calibration
EVAL_FEATURES_NOISE = "eval.features.noise"  # G's samples scored in the feature network
EVAL_FID_BOOTSTRAP = "eval.features.fid_bootstrap"  # index (0 samples, 1 calibration): FID's bootstrap
EVAL_KID_SUBSETS = "eval.features.kid_subsets"  # index (0 samples, 1 calibration): KID's subsets
EVAL_CLASS_BOOTSTRAP = (
    "eval.features.class_bootstrap"  # index (0 samples, 1 calibration): the class histogram's bootstrap
)
EVAL_STACKED_BOOTSTRAP = (
    "eval.stacked.bootstrap"  # index (0 samples, 1 calibration): the 1,000-mode histogram's bootstrap
)
EVAL_INCEPTION_TRAIN = "eval.inception.train"  # the training images of Inception's calibration
EVAL_INCEPTION_NOISE = "eval.inception.noise"  # G's samples scored by Inception

STREAMS: tuple[str, ...] = (
    DATA_TRAIN, DATA_VALID, DATA_TEST, DATA_SPLIT,
    TRAIN_GLOBAL, TRAIN_RANK_STEP, TRAIN_DATA_ORDER, TRAIN_FIXED_NOISE, TRAIN_SELECTION_NOISE,
    EVAL_GLOBAL, EVAL_VALUE_NOISE, EVAL_CRITIC_SPLIT, EVAL_CRITIC_NOISE, EVAL_CRITIC_INIT,
    EVAL_DENSITY_KERNEL, EVAL_DENSITY_NOISE, EVAL_DENSITY_FIGURE, EVAL_W1_DATA, EVAL_W1_NOISE,
    EVAL_MODES_NOISE, EVAL_PARZEN_NOISE, EVAL_MEMORISATION_NOISE, EVAL_MEMORISATION_BOOTSTRAP,
    EVAL_FEATURES_TRAIN, EVAL_FEATURES_NOISE, EVAL_FID_BOOTSTRAP, EVAL_KID_SUBSETS, EVAL_CLASS_BOOTSTRAP,
    EVAL_STACKED_BOOTSTRAP, EVAL_INCEPTION_TRAIN, EVAL_INCEPTION_NOISE,
)  # fmt: skip
"""Every random stream of a run and of `gan eval`, by name."""

TOY_DATA_STREAMS = {"train": DATA_TRAIN, "valid": DATA_VALID, "test": DATA_TEST}  # split -> stream

# ---------------------------------------------------------------- derivation


def _words(part: str | int) -> list[int]:
    """One part of a seed's entropy as 32-bit words, tagged and length-prefixed so that no two
    sequences of parts give the same words (1: a name's UTF-8 bytes; 2: a non-negative integer)."""
    if isinstance(part, str):
        data = part.encode("utf-8")
        return [1, len(data), *data]
    if isinstance(part, bool) or not isinstance(part, (int, np.integer)):
        raise TypeError(f"seed parts are names and non-negative integers, not {part!r}")
    if part < 0:
        raise ValueError(f"seed parts are names and non-negative integers, not {part!r}")
    value, words = int(part), []
    while True:
        words.append(value & 0xFFFF_FFFF)
        value >>= 32
        if not value:
            return [2, len(words), *words]


def derive(seed: int, stream: str, *index: int) -> int:
    """The seed (0 <= seed < 2^64) of stream `stream` (a name in STREAMS) under the root `seed`;
    `index` tells members of one stream apart (a critic's number; a rank and a step)."""
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}: add it to gan_cli.seeds.STREAMS")
    entropy = [*_words(seed), *_words(stream)]
    for i in index:
        if isinstance(i, str):
            raise TypeError(f"a stream's index is an integer, not {i!r}: name a new stream in STREAMS instead")
        entropy += _words(i)
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0])


# ---------------------------------------------------------------- the schemes of runs

DERIVE = "derive"  # derive() for every stream: runs started with checkpoint format 2 on
LEGACY = "legacy"  # the offsets of runs started before (checkpoint format 1): LEGACY_FORMULAS
SCHEMES = (DERIVE, LEGACY)


def _legacy_rank_step(seed: int, rank: int, step: int) -> int:
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1, np.uint64)[0])


LEGACY_FORMULAS: dict[str, Callable[..., int]] = {
    DATA_TRAIN: lambda seed: seed * 3,  # data/loading.py: the toy splits' generators, seed * 3 + i
    DATA_VALID: lambda seed: seed * 3 + 1,
    DATA_TEST: lambda seed: seed * 3 + 2,
    TRAIN_GLOBAL: lambda seed: seed,  # training/loop.py seed_everything(cfg.seed)
    TRAIN_RANK_STEP: _legacy_rank_step,  # training/distributed.py step_seed: SeedSequence([seed, rank, step])
    TRAIN_DATA_ORDER: lambda seed: seed + 1_000_003,  # training/loop.py DATA_ORDER_SEED_OFFSET
    TRAIN_FIXED_NOISE: lambda seed: seed + 2_000_003,  # training/loop.py SAMPLE_NOISE_SEED_OFFSET
    TRAIN_SELECTION_NOISE: lambda seed: seed + 3_000_003,  # training/selection.py SELECTION_NOISE_SEED_OFFSET
}
"""The seeds of the training streams in the legacy scheme, as gan-cli computed them before
derive(). They may collide (seed 500,001's validation data and data order share 1,500,004): kept
only so that old runs resume exactly. Streams not listed here are derived in both schemes."""


def run_seed(seed: int, scheme: str, stream: str, *index: int) -> int:
    """The seed of a run's stream under the run's `seed_scheme` (config key): derive(), or for a
    run started before it (`legacy`) the old formula of that stream."""
    if scheme == LEGACY and stream in LEGACY_FORMULAS:
        return LEGACY_FORMULAS[stream](seed, *index)
    if scheme not in SCHEMES:
        raise ValueError(f"unknown seed scheme {scheme!r}: one of {', '.join(SCHEMES)}")
    return derive(seed, stream, *index)
