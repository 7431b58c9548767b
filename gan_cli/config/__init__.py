"""Experiment configuration: the schema (frozen dataclasses with their docs) and its loading.

`gan_cli.config.schema` (with `schema_eval`, the eval section) holds every key with its default,
checks and doc; `gan_cli.config.loading` reads YAML (`yaml_io`), maps renamed keys to their new places (`renames`), applies `--set` overrides
(`overrides`) and validates strictly (`typed`, `checks`). Import the names from here.
"""

from gan_cli.config.checks import SEED_MAX, check_seed
from gan_cli.config.keys import field_docs, key_paths
from gan_cli.config.loading import from_dict, load
from gan_cli.config.overrides import EXAMPLE_OVERRIDE, apply_overrides
from gan_cli.config.renames import RENAMES, migrate
from gan_cli.config.schema import (
    SQRT3,
    TOY_DATASETS,
    Activation,
    Config,
    DataConfig,
    DataName,
    DiscriminatorConfig,
    EmaConfig,
    GeneratorConfig,
    LayerConfig,
    LogConfig,
    LrScheduleConfig,
    MomentumScheduleConfig,
    NoiseConfig,
    OptimizerConfig,
    SelectConfig,
    TrainConfig,
)
from gan_cli.config.schema_eval import (
    CriticEvalConfig,
    DensityEvalConfig,
    EvalConfig,
    FeaturesEvalConfig,
    MemorisationEvalConfig,
    ModesEvalConfig,
    ParzenEvalConfig,
    StackedEvalConfig,
)
from gan_cli.config.yaml_io import dump_yaml, read_yaml, to_dict

__all__ = [
    "EXAMPLE_OVERRIDE",
    "SEED_MAX",
    "SQRT3",
    "TOY_DATASETS",
    "Activation",
    "Config",
    "CriticEvalConfig",
    "DataConfig",
    "DataName",
    "DensityEvalConfig",
    "DiscriminatorConfig",
    "EmaConfig",
    "EvalConfig",
    "FeaturesEvalConfig",
    "GeneratorConfig",
    "LayerConfig",
    "LogConfig",
    "LrScheduleConfig",
    "MemorisationEvalConfig",
    "ModesEvalConfig",
    "MomentumScheduleConfig",
    "NoiseConfig",
    "OptimizerConfig",
    "ParzenEvalConfig",
    "RENAMES",
    "SelectConfig",
    "StackedEvalConfig",
    "TrainConfig",
    "apply_overrides",
    "check_seed",
    "dump_yaml",
    "field_docs",
    "from_dict",
    "key_paths",
    "load",
    "migrate",
    "read_yaml",
    "to_dict",
]
