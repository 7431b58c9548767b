"""The options of one `gan train`, as one frozen object: built by the command line, passed whole
to the training entry point, and to every worker process of a `--nproc` run (as JSON), so an
option added here reaches the workers without being forwarded by hand."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_cli.errors import GanError


@dataclass(frozen=True)
class TrainOptions:
    """`gan train`'s options; None leaves the config's value."""

    config: Path | None = None
    """The experiment YAML; None with `resume` continues `out` from its own config.yaml."""
    overrides: tuple[str, ...] = ()
    """--set KEY=VALUE items, in order."""
    out: Path | None = None
    """The exact run directory; None: runs/<name>-<YYYYmmdd-HHMMSS>."""
    resume: bool = False
    device: str | None = None
    seed: int | None = None
    dry_run: bool = False
    nproc: int | None = None
    """Processes on this machine (DDP through torchrun's launcher); None or 1: this process alone."""
    command_line: str = ""
    """What the user typed, for command.txt (a worker's own argv is not it)."""

    def normalised(self) -> TrainOptions:
        """`gan train --resume RUN_DIR`: the positional argument is the run directory. One that does
        not exist (and is not named as a YAML file) is named as the run directory it was meant to be,
        where it was reported as a missing config file."""
        if self.resume and self.config is not None and self.out is None:
            place = self.config.expanduser()
            if place.is_dir():
                return dataclasses.replace(self, config=None, out=place)
            if not place.exists() and place.suffix.lower() not in (".yaml", ".yml"):
                raise GanError(
                    f"--resume {self.config}: no such run directory (give the folder the run was trained in)"
                )
        return self

    def config_overrides(self) -> list[str]:
        """--set items, then --seed and --device as the config keys they override."""
        extra = list(self.overrides)
        if self.seed is not None:
            extra.append(f"seed={self.seed}")
        if self.device is not None:
            extra.append(f"device={self.device}")
        return extra

    def to_json(self) -> str:
        return json.dumps({f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)})

    @classmethod
    def from_json(cls, text: str) -> TrainOptions:
        raw = json.loads(text)
        kinds = {f.name: f.type for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if name not in kinds:
                raise ValueError(f"unknown train option {name!r}")
            if name in ("config", "out") and value is not None:
                value = Path(value)
            elif name == "overrides":
                value = tuple(value)
            values[name] = value
        return cls(**values)


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value
