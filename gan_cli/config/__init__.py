"""Experiment configuration: the schema (frozen dataclasses with their docs) and its loading.

`gan_cli.config.schema` holds every key with its default, checks and doc; `gan_cli.config.loading`
reads YAML, applies `--set` overrides and validates strictly. Import the names from here.
"""

from gan_cli.config.loading import (
    EXAMPLE_OVERRIDE,
    SEED_MAX,
    apply_overrides,
    check_seed,
    dump_yaml,
    from_dict,
    load,
    read_yaml,
    to_dict,
)
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
