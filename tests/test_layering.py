"""The package's layers: each module imports only from its own layer or the layers below it.

Every import of every module under gan_cli/ is read with `ast`, including the imports inside
functions (a lazy import is still a dependency) and under `if TYPE_CHECKING:`. A module's layer is
its folder's (FOLDERS), so a module added to a folder takes the folder's layer; a module added at
the top is a part (layer 2). No module has an exception of its own.

The tests mirror the package: each tests/test_*.py specifies one module or package, named after it
(test_run_dir.py: gan_cli/run_dir.py; test_commands_train.py: gan_cli/commands/train.py), except
the few cross-cutting files of CROSS_CUTTING.
"""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import REPO

PACKAGE = REPO / "gan_cli"

# Lower numbers are lower layers; a module may import its own layer and the layers below it. Every
# module of a folder has its folder's layer: no module has a layer of its own, and a module added
# to a folder needs no line here. The root folder's modules are the parts (layer 2), except these:
ROOT_MODULES: dict[str, int] = {
    "gan_cli": 0,  # the version
    "gan_cli.errors": 0,  # GanError and Stopped, imported by everything
    "gan_cli.file_kinds": 0,  # what a path is when not a regular file, for the config loader and every part
    "gan_cli.cli": 7,  # the command line: Typer declarations
    "gan_cli.__main__": 7,
}
PARTS = 2  # models, objectives, optim, data, toy, sample, checkpoint, run_dir, seeds, devices, ...
FOLDERS: dict[str, int] = {
    "gan_cli.config": 1,  # the config schema and its loading
    "gan_cli.data": 2,  # a part with several modules
    "gan_cli.evaluate": 3,  # the estimators of `gan eval`
    "gan_cli.figures": 4,  # every picture (the only package that imports matplotlib)
    "gan_cli.training": 5,  # Algorithm 1, its run loop and its processes
    "gan_cli.sweep": 5,  # the Ray engine of `gan sweep`
    "gan_cli.commands": 6,  # one module per command: the only layer between cli.py and the library
}

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
    """The layer of module `name`: its folder's (the first folder under gan_cli/), a root module's."""
    parts = name.split(".")
    if name in ROOT_MODULES:
        return ROOT_MODULES[name]
    if len(parts) < 2 or parts[0] != "gan_cli":
        return None
    folder = ".".join(parts[:2])
    if folder in FOLDERS:
        return FOLDERS[folder]
    return PARTS if len(parts) == 2 and not is_package(folder) else None


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
    """Every import counts: at module level, inside functions, under `if TYPE_CHECKING:`."""
    problems = []
    for name, path in MODULES.items():
        for target, line in imports(name):
            imported = internal(target)
            if imported is None or imported == name:
                continue
            own, theirs = layer_of(name), layer_of(imported)
            if own is None or theirs is None or theirs <= own:
                continue
            problems.append(f"{name} (layer {own}) imports {imported} (layer {theirs}) at {path.relative_to(REPO)}:{line}")
    assert not problems, "imports upward:\n" + "\n".join(problems)


def test_only_figures_imports_matplotlib() -> None:
    problems = [
        f"{name} imports {target} at {MODULES[name].relative_to(REPO)}:{line}"
        for name in MODULES
        if not (name == MATPLOTLIB_HOME or name.startswith(MATPLOTLIB_HOME + "."))
        for target, line in imports(name)
        if target.split(".")[0] in ("matplotlib", "pylab")
    ]
    assert not problems, "matplotlib outside gan_cli/figures/:\n" + "\n".join(problems)


def test_no_import_cycle_between_modules() -> None:
    """The imports of gan_cli, inside functions too, form no cycle between modules: a cycle at module
    level breaks as soon as the entry point changes which module is imported first, and one hidden
    in a function is two modules that should be one, or a third that both need."""
    graph = {
        name: sorted({m for t, _ in imports(name) if (m := internal(t)) is not None and m != name and not is_package(m)})
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
                raise AssertionError("import cycle: " + " -> ".join(cycle))
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
    assert layer_of("gan_cli.commands.eval") == 6 and layer_of("gan_cli.evaluate.parzen") == 3
    assert layer_of("gan_cli.training.some_new_module") == 5 and layer_of("gan_cli.brand_new") == PARTS


# ---------------------------------------------------------------- the tests mirror the package

TESTS = REPO / "tests"

# Test files that specify no one module, and what they specify instead. Keep this list short: a
# test of a module goes into that module's file, hostile and fuzz cases under a section of it.
CROSS_CUTTING: dict[str, str] = {
    "test_docs.py": "README.md and docs/: rendering, links, the numbers they quote, the README's examples",
    "test_layering.py": "the package's structure: layers, imports, and this mirror",
    "test_benchmarks.py": "benchmarks/: the gan_cli names the scripts use still exist",
}


def test_every_test_file_names_a_module_or_package() -> None:
    """test_a_b.py specifies gan_cli/a/b.py or gan_cli/a/b/ (a dot of the module's name is an underscore)."""
    names = {name.removeprefix("gan_cli.").replace(".", "_") for name in MODULES if name != "gan_cli"}
    files = sorted(p.name for p in TESTS.glob("test_*.py"))
    stray = [f for f in files if f.removeprefix("test_").removesuffix(".py") not in names and f not in CROSS_CUTTING]
    assert not stray, (
        "each tests/test_*.py is named after the gan_cli module or package it specifies "
        f"(or listed in CROSS_CUTTING in tests/test_layering.py): {stray}"
    )
    assert set(CROSS_CUTTING) <= set(files), "CROSS_CUTTING names a file that is gone"
