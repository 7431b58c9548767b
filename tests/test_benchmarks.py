"""The benchmarks are scripts outside the package, run by hand: nothing else imports them, so a rename
in gan_cli would break one unnoticed until a person next measures with it. Every gan_cli name a
benchmark imports, and every attribute it reads off an imported gan_cli module, must exist."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parent.parent / "benchmarks").glob("*.py"))


def _imported(module: str, name: str) -> object:
    """`from module import name`: an attribute of the module, else its submodule."""
    mod = importlib.import_module(module)
    if hasattr(mod, name):
        return getattr(mod, name)
    try:
        return importlib.import_module(f"{module}.{name}")
    except ModuleNotFoundError:
        pytest.fail(f"`from {module} import {name}`: {module} has no {name}")


def gan_cli_modules(tree: ast.AST) -> dict[str, ModuleType]:
    """Local name -> module, for each gan_cli module the script imports (all resolved, or the test fails)."""
    modules: dict[str, ModuleType] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "gan_cli":
            for alias in node.names:
                obj = _imported(node.module, alias.name)
                if isinstance(obj, ModuleType):
                    modules[alias.asname or alias.name] = obj
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "gan_cli":
                    mod = importlib.import_module(alias.name)
                    modules[alias.asname or alias.name.split(".")[0]] = (
                        mod if alias.asname else importlib.import_module("gan_cli")
                    )
    return modules


def missing_names(source: str) -> list[str]:
    """The `module.attr` reads of a script whose gan_cli module has no such attribute."""
    tree = ast.parse(source)
    modules = gan_cli_modules(tree)
    return sorted(
        {
            f"line {node.lineno}: {node.value.id}.{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and not hasattr(modules[node.value.id], node.attr)
        }
    )


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.name)
def test_every_gan_cli_name_a_benchmark_uses_exists(script: Path) -> None:
    missing = missing_names(script.read_text(encoding="utf-8"))
    assert not missing, f"{script.name} reads names its gan_cli modules do not have: {missing}"


def test_the_check_sees_a_function_that_moved() -> None:
    """The break this guards against: calibration_pair moved from feature_cache to feature_calibration."""
    moved = (
        "from gan_cli.evaluate import feature_cache\n\nfeature_cache.calibration_pair(1)\nfeature_cache.reference_net\n"
    )
    assert missing_names(moved) == ["line 3: feature_cache.calibration_pair"]
    with pytest.raises(pytest.fail.Exception, match="has no no_such_module"):
        missing_names("from gan_cli.evaluate import no_such_module\n")
