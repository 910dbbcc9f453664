"""The package's shape: no import circles, data flowing one way, private modules kept private.

Imports are read from the source (an AST walk), as the interpreter would run
them: function-local imports count, imports under ``if TYPE_CHECKING:`` do not.
The layers and what each may import are the map in CONTRIBUTING.md.
"""

from __future__ import annotations

import ast
import importlib
import pathlib
import re
import textwrap

import pytest

import itest_shared

PACKAGE = pathlib.Path(itest_shared.__file__).parent
ROOT = PACKAGE.parent

# Lowest first. A unit (a top-level module or subpackage) imports only units of
# its own layer or below: helpers -> records -> store -> report -> CLI, the way
# data flows. Kept in step with the map in CONTRIBUTING.md (tested below).
LAYERS: list[tuple[str, frozenset[str]]] = [
    ("base", frozenset({"exceptions", "_checks", "_inert", "_jsonsafe", "_mapping", "stats"})),
    ("records", frozenset({"formats", "schema"})),
    (
        "helpers",
        frozenset(
            {
                "errors",
                "tracking",
                "config",
                "resources",
                "monitor",
                "leaks",
                "perf",
                "aio",
                "parallel",
                "parsers",
                "samples",
                "files",
                "coordination",
            }
        ),
    ),
    ("store", frozenset({"store", "recording"})),
    ("report", frozenset({"report"})),
    ("cli", frozenset({"cli", "__main__"})),
    ("plugin", frozenset({"fixtures"})),
]
LAYER_OF = {unit: index for index, (_, units) in enumerate(LAYERS) for unit in units}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """Absolute names an import statement may load: the module, and each name as a submodule."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def _imports_of(
    path: pathlib.Path, module: str, known: set[str] | dict[str, pathlib.Path]
) -> tuple[set[str], list[int]]:
    """The package modules ``module`` imports, and the lines of its function-local imports."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    deferred: list[int] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for statement in child.orelse:
                    visit_one(statement, in_function)
                continue
            visit_one(child, in_function)

    def visit_one(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            # A module's own packages are always imported before it: no edge.
            found.update(
                target
                for target in _imported(node, module, is_package)
                if target in known and not f"{module}.".startswith(f"{target}.")
            )
            if in_function:
                deferred.append(node.lineno)
        visit(node, in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found, deferred


def import_graph(package: pathlib.Path) -> tuple[dict[str, set[str]], dict[str, list[int]]]:
    """Return ``module -> package modules it imports`` and ``module -> deferred import lines``."""
    paths: dict[str, pathlib.Path] = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        paths[".".join(parts)] = path
    graph: dict[str, set[str]] = {}
    local: dict[str, list[int]] = {}
    for module, path in paths.items():
        graph[module], local[module] = _imports_of(path, module, paths)
    return graph, local


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import circle (``[a, b, ..., a]``), or None."""
    done: set[str] = set()
    stack: list[str] = []
    on_stack: set[str] = set()

    def walk(module: str) -> list[str] | None:
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target in on_stack:
                return [*stack[stack.index(target) :], target]
            if target not in done:
                cycle = walk(target)
                if cycle:
                    return cycle
        stack.pop()
        on_stack.discard(module)
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done:
            cycle = walk(module)
            if cycle:
                return cycle
    return None


def unit(module: str) -> str:
    """``itest_shared.formats._parse`` -> ``formats``; the package itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


GRAPH, LOCAL_IMPORTS = import_graph(PACKAGE)


def test_no_import_circle_in_the_package() -> None:
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH) or [])


def test_the_circle_finder_finds_circles_and_ignores_type_checking(
    tmp_path: pathlib.Path,
) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from .sub import helper\nfrom . import b\n",
        "sub/__init__.py": "from .helper import f\n",
        "sub/helper.py": "def f():\n    from ..a import x  # deferred, still an import\n",
        "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import y\n",
        "c.py": "from . import b\n",
    }
    for name, text in files.items():
        (package / name).write_text(textwrap.dedent(text))
    graph, local = import_graph(package)
    assert find_cycle(graph) == ["pkg.a", "pkg.sub", "pkg.sub.helper", "pkg.a"]
    assert graph["pkg.b"] == set()  # the TYPE_CHECKING import does not count
    assert local["pkg.sub.helper"] == [2]
    (package / "sub/helper.py").write_text("def f():\n    return 1\n")
    assert find_cycle(import_graph(package)[0]) is None


def test_every_unit_is_in_a_layer() -> None:
    units = {unit(module) for module in GRAPH} - {""}
    assert units == set(LAYER_OF)


def test_data_flows_one_way() -> None:
    """Records import no helper, the store no report, the report no CLI, nothing the plugin."""
    wrong = [
        f"{module} ({LAYERS[LAYER_OF[unit(module)]][0]}) imports {target}"
        f" ({LAYERS[LAYER_OF[unit(target)]][0]})"
        for module, targets in sorted(GRAPH.items())
        if unit(module)
        for target in sorted(targets)
        if unit(target) and LAYER_OF[unit(target)] > LAYER_OF[unit(module)]
    ]
    assert not wrong, "\n".join(wrong)


def test_private_modules_are_imported_only_inside_their_subpackage() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if len(parts := target.split(".")) > 2
        and parts[-1].startswith("_")
        and not module.startswith(".".join(parts[:-1]))
    ]
    assert not wrong, "\n".join(wrong)


def _comment_near(lines: list[str], lineno: int, module_reason: bool) -> bool:
    if module_reason or "#" in lines[lineno - 1]:
        return True
    above = lines[lineno - 2].strip() if lineno >= 2 else ""
    return above.startswith("#")


def test_each_function_local_import_says_why() -> None:
    """Deferred imports are for start-up cost, each with its reason; never to hide a circle.

    The reason is a comment on the import's line or the line above, or, for a
    module that defers all its imports for one reason, a ``# Deferred imports:``
    comment in the module.
    """
    silent = []
    for module, lines_ in sorted(LOCAL_IMPORTS.items()):
        if not lines_:
            continue
        path = PACKAGE.parent.joinpath(*module.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        text = path.read_text(encoding="utf-8").splitlines()
        module_reason = any(line.startswith("# Deferred imports:") for line in text)
        silent += [
            f"{path.relative_to(ROOT)}:{lineno}: {text[lineno - 1].strip()}"
            for lineno in lines_
            if not _comment_near(text, lineno, module_reason)
        ]
    assert not silent, "function-local imports without a reason:\n" + "\n".join(silent)


def test_contributing_maps_every_unit_to_its_layer() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("## Package layout", 1)[1].split("\n## ", 1)[0]
    for name, units in LAYERS:
        row = next((line for line in section.splitlines() if line.startswith(f"| {name} ")), None)
        assert row is not None, f"CONTRIBUTING's map has no row for the {name} layer"
        listed = set(re.findall(r"`([a-z_]+)/?`", row.split("|")[2]))
        assert listed == set(units), f"{name}: CONTRIBUTING lists {sorted(listed)}"


def _documented_paths() -> list[str]:
    """Every ``itest_shared.x.y`` the docs name, and every name they import from one."""
    found: set[str] = set()
    for doc in ("README.md", "CONTRIBUTING.md", "CHANGELOG.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        # CHANGELOG names modules that were removed; only its current names count.
        if doc == "CHANGELOG.md":
            text = text.split("\n## ", 2)[1]
        found.update(re.findall(r"\bitest_shared(?:\.[A-Za-z][A-Za-z0-9_]*)+", text))
        for module, names in re.findall(r"from (itest_shared[\w.]*) import ([\w, ]+)", text):
            found.update(f"{module}.{name.strip()}" for name in names.split(",") if name.strip())
    return sorted(found)


DOCUMENTED_PATHS = _documented_paths()


def test_the_docs_name_paths_to_check() -> None:
    assert len(DOCUMENTED_PATHS) > 10, DOCUMENTED_PATHS


@pytest.mark.parametrize("path", DOCUMENTED_PATHS)
def test_every_documented_dotted_path_resolves(path: str) -> None:
    """Each ``itest_shared.x.y`` the docs name is a module, or a name in one."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for name in parts[split:]:
            value = getattr(value, name)
        return
    pytest.fail(f"{path} does not import")
