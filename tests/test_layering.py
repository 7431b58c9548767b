"""The package's layers: each module imports only from its own layer or the layers below it.

Every import of every module under gan_cli/ is read with `ast`, including the imports inside
functions (a lazy import is still a dependency) and under `if TYPE_CHECKING:`. A module's layer is
that of its longest dotted prefix in LAYERS, so a module added inside a package (training/,
evaluate/, figures/, config/) takes the package's layer; a module added at the top needs a line
in LAYERS.
"""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import REPO

PACKAGE = REPO / "gan_cli"

# Lower numbers are lower layers. A module may import its own layer and the layers below it.
LAYERS: dict[str, int] = {
    # 0: the one error type and the version, imported by everything
    "gan_cli": 0,
    "gan_cli.errors": 0,
    # 1: the config schema and its loading
    "gan_cli.config": 1,
    # 2: the parts
    "gan_cli.toy": 2,
    "gan_cli.models": 2,
    "gan_cli.objectives": 2,
    "gan_cli.optim": 2,
    "gan_cli.devices": 2,
    "gan_cli.checkpoint": 2,
    "gan_cli.runlog": 2,
    "gan_cli.outputs": 2,
    "gan_cli.data": 2,
    "gan_cli.seeds": 2,
    # 3: a trained generator's samples
    "gan_cli.sample": 3,
    # 4: the estimators of `gan eval`
    "gan_cli.evaluate": 4,
    # 5: every picture (the only package that imports matplotlib)
    "gan_cli.figures": 5,
    # 6: the jobs: `gan train` and `gan eval`
    "gan_cli.training": 6,
    "gan_cli.evaluate.command": 6,
    "gan_cli.evaluate.all_steps": 6,  # `gan eval --all`: the eval job over every checkpoint of a run
    # `gan sweep`: many trainings and evaluations
    "gan_cli.sweep": 6,
    # `gan plot figure1` replays training steps for panels (b) and (c): a job, though it draws
    "gan_cli.figures.figure1": 6,
    # 7: the command line
    "gan_cli.cli": 7,
    "gan_cli.__main__": 7,
}

# Known upward imports in the current code, each to be removed by the change that fixes it; the
# list is meant to be empty. (importer, imported): why it is here.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {}

MATPLOTLIB_HOME = "gan_cli.figures"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def layer_of(name: str) -> int | None:
    """The layer of the longest prefix of `name` in LAYERS (the root package only by exact name)."""
    parts = name.split(".")
    while len(parts) > 1:
        if ".".join(parts) in LAYERS:
            return LAYERS[".".join(parts)]
        parts.pop()
    return LAYERS.get(name)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(name: str, module_level_only: bool = False) -> list[tuple[str, int]]:
    """(imported name, line) for each import in module `name`; see imports_in."""
    path = MODULES[name]
    return imports_in(path.read_text(encoding="utf-8"), name, is_package(name), module_level_only)


def imports_in(source: str, name: str, package: bool = False, module_level_only: bool = False) -> list[tuple[str, int]]:
    """(imported name, line) for each import in `source`, the text of module `name`.

    `from gan_cli.evaluate import parzen` gives the submodule gan_cli.evaluate.parzen, `from
    gan_cli.config import Config` gives gan_cli.config.Config (internal() maps it to the module).
    module_level_only: skip imports inside functions and under `if TYPE_CHECKING:`, which do not
    run when the module is imported.
    """
    tree = ast.parse(source)
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if module_level_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return
        if module_level_only and isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = name.split(".") if package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.extend((f"{target}.{alias.name}", node.lineno) for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def internal(target: str) -> str | None:
    """The gan_cli module that `import target` names (a package for `gan_cli.x.Name`), or None."""
    if target != "gan_cli" and not target.startswith("gan_cli."):
        return None
    while target not in MODULES and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


def test_every_module_has_a_layer() -> None:
    missing = [name for name in MODULES if layer_of(name) is None]
    assert not missing, f"add these modules to LAYERS in tests/test_layering.py: {missing}"


def test_no_module_imports_a_higher_layer() -> None:
    problems = []
    used_allowances = set()
    for name, path in MODULES.items():
        for target, line in imports(name):
            imported = internal(target)
            if imported is None or imported == name:
                continue
            own, theirs = layer_of(name), layer_of(imported)
            if own is None or theirs is None or theirs <= own:
                continue
            if (name, imported) in ALLOWED_UPWARD:
                used_allowances.add((name, imported))
                continue
            problems.append(f"{name} (layer {own}) imports {imported} (layer {theirs}) at {path.relative_to(REPO)}:{line}")
    assert not problems, "imports upward:\n" + "\n".join(problems)
    stale = set(ALLOWED_UPWARD) - used_allowances
    assert not stale, f"these upward imports are gone: remove them from ALLOWED_UPWARD: {sorted(stale)}"


def test_only_figures_imports_matplotlib() -> None:
    problems = [
        f"{name} imports {target} at {MODULES[name].relative_to(REPO)}:{line}"
        for name in MODULES
        if not (name == MATPLOTLIB_HOME or name.startswith(MATPLOTLIB_HOME + "."))
        for target, line in imports(name)
        if target.split(".")[0] in ("matplotlib", "pylab")
    ]
    assert not problems, "matplotlib outside gan_cli/figures/:\n" + "\n".join(problems)


def test_no_import_cycle_between_modules_at_import_time() -> None:
    """The module-level imports of gan_cli form no cycle (a cycle breaks as soon as the entry
    point changes which module is imported first)."""
    graph = {
        name: sorted({m for t, _ in imports(name, module_level_only=True) if (m := internal(t)) is not None and m != name})
        for name in MODULES
    }
    done: set[str] = set()
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(node: str) -> None:
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt in on_stack:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle at module level: " + " -> ".join(cycle))
            if nxt not in done:
                visit(nxt)
        stack.pop()
        on_stack.discard(node)
        done.add(node)

    for name in graph:
        if name not in done:
            visit(name)


def test_the_checker_sees_lazy_relative_and_type_checking_imports() -> None:
    """The parser itself, on a made-up module gan_cli.evaluate.fake."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "import matplotlib.pyplot as plt\n"
        "from gan_cli.evaluate import parzen\n"
        "from gan_cli.config import Config\n"
        "from . import distances\n"
        "if TYPE_CHECKING:\n"
        "    from gan_cli.training.loop import Trainer\n"
        "def f():\n"
        "    from gan_cli import cli\n"
    )
    every = {internal(t) or t for t, _ in imports_in(source, "gan_cli.evaluate.fake")}
    assert every >= {"matplotlib.pyplot", "gan_cli.evaluate.parzen", "gan_cli.config", "gan_cli.evaluate.distances",
                     "gan_cli.training.loop", "gan_cli.cli"}
    at_import = {internal(t) or t for t, _ in imports_in(source, "gan_cli.evaluate.fake", module_level_only=True)}
    assert "gan_cli.training.loop" not in at_import and "gan_cli.cli" not in at_import
    assert "gan_cli.evaluate.parzen" in at_import
    assert layer_of("gan_cli.evaluate.command") == 6 and layer_of("gan_cli.evaluate.parzen") == 4
    assert layer_of("gan_cli.training.some_new_module") == 6 and layer_of("gan_cli.brand_new") is None
