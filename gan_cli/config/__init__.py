"""Experiment configuration: the schema (frozen dataclasses with their docs) and its loading.

`gan_cli.config.schema` holds every key with its default, checks and doc; `gan_cli.config.loading`
reads YAML (`yaml_io`), applies `--set` overrides (`overrides`) and validates strictly (`typed`,
`checks`). Import the names from here.
"""

from gan_cli.config.checks import SEED_MAX, check_seed
from gan_cli.config.loading import from_dict, load
from gan_cli.config.overrides import EXAMPLE_OVERRIDE, apply_overrides
from gan_cli.config.schema import (
    SQRT3,
    TOY_DATASETS,
    Activation,
    Config,
    DataConfig,
    DataName,
    DiscriminatorConfig,
    EmaConfig,
    EvalConfig,
    GeneratorConfig,
    LayerConfig,
    LogConfig,
    LrScheduleConfig,
    MomentumScheduleConfig,
    NoiseConfig,
    OptimizerConfig,
    TrainConfig,
    field_docs,
    key_paths,
)
from gan_cli.config.yaml_io import dump_yaml, read_yaml, to_dict

__all__ = [
    "EXAMPLE_OVERRIDE",
    "SEED_MAX",
    "SQRT3",
    "TOY_DATASETS",
    "Activation",
    "Config",
    "DataConfig",
    "DataName",
    "DiscriminatorConfig",
    "EmaConfig",
    "EvalConfig",
    "GeneratorConfig",
    "LayerConfig",
    "LogConfig",
    "LrScheduleConfig",
    "MomentumScheduleConfig",
    "NoiseConfig",
    "OptimizerConfig",
    "TrainConfig",
    "apply_overrides",
    "check_seed",
    "dump_yaml",
    "field_docs",
    "from_dict",
    "key_paths",
    "load",
    "read_yaml",
    "to_dict",
]
