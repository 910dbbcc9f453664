"""The package itself: version, public API, cheap import."""

from __future__ import annotations

import ast
import importlib.metadata
import pathlib
import pickle
import re
import subprocess
import sys
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import itest_shared
from itest_shared import ResourceStateError, SchemaVersionError, UnknownResourceError

ROOT = pathlib.Path(__file__).parent.parent


def test_version_comes_from_the_package_metadata() -> None:
    assert itest_shared.__version__ == importlib.metadata.version("itest-shared")
    assert itest_shared.SCHEMA_VERSION == "1.2"


def test_public_api_is_importable() -> None:
    # (Its order is ruff's RUF022 isort-style sort, checked by .ci/run.)
    for name in itest_shared.__all__:
        assert getattr(itest_shared, name) is not None


def test_every_public_object_has_a_docstring() -> None:
    for name in itest_shared.__all__:
        obj = getattr(itest_shared, name)
        if isinstance(obj, type):
            assert obj.__doc__ and obj.__doc__.strip(), name


def test_package_is_typed() -> None:
    assert (pathlib.Path(itest_shared.__file__).parent / "py.typed").is_file()


def test_import_is_cheap() -> None:
    """Nothing heavy is imported until it is used."""
    code = (
        "import sys, itest_shared; "
        "heavy = ('multiprocess', 'dill', 'pytest', '_pytest', 'asyncio', 'cattrs', "
        "'importlib.metadata', 'filelock', 'psutil', 'hypothesis'); "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_errors_survive_pickling() -> None:
    for error in (
        SchemaVersionError("3.1", ["1"]),
        UnknownResourceError("r1"),
        ResourceStateError("r1", "released", "release"),
    ):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error) and str(again) == str(error)


def test_ci_runs_the_readme_quickstart_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = [
        line for line in quickstart.splitlines() if line.startswith("python -m pip install")
    ]
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text()
    for command in commands:
        install, test = command.split(" && ")
        assert install.replace("pip install", "pip install --quiet") in ci
        assert test in ci


def test_readme_python_examples_run() -> None:
    """Every complete Python example in the README runs as written."""
    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    blocks = [part.split("```", 1)[0] for part in readme.split("```python\n")[1:]]
    complete = [block for block in blocks if block.startswith(("from ", "import "))]
    assert len(complete) >= 3
    for block in complete:
        namespace: dict[str, object] = {}
        exec(compile(block, "README.md", "exec"), namespace)
        for value in list(namespace.values()):
            test_class = isinstance(value, type) and value.__name__.startswith("Test")
            if test_class and getattr(value, "__test__", True):  # as pytest collects them
                instance = value()
                for name in dir(instance):
                    if name.startswith("test_"):
                        getattr(instance, name)()


def test_every_export_is_listed_in_all_and_loads_lazily() -> None:
    from itest_shared import _EXPORTS

    assert set(_EXPORTS) | {"__version__"} == set(itest_shared.__all__)
    code = (
        "import sys, itest_shared; "
        "print('attrs' in sys.modules, 'itest_shared.formats' in sys.modules); "
        "from itest_shared import ErrorContext; "
        "print('itest_shared.formats' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False", "False", "True"]


def test_public_modules_are_attributes_of_the_package_as_in_1_0() -> None:
    """``import itest_shared; itest_shared.formats.load_record`` works (it did in 1.0)."""
    from itest_shared import _SUBMODULES

    package = pathlib.Path(itest_shared.__file__).parent
    modules = {p.stem for p in package.glob("*.py")}
    subpackages = {p.parent.name for p in package.glob("*/__init__.py")}
    public = {name for name in modules | subpackages if not name.startswith("_")}
    assert set(_SUBMODULES) == public
    code = (
        "import sys, itest_shared; "
        "print('itest_shared.formats' in sys.modules); "
        "print(itest_shared.formats.load_record is itest_shared.load_record); "
        "print(itest_shared.store.RecordStore.__name__); "
        "print(hasattr(itest_shared, 'nonexistent'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False", "True", "RecordStore", "False"]


# --- what installing itest-shared brings into an environment ----------------------


def _pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def _pulled_in(requirements: list[str]) -> set[str]:
    """The distributions these requirements install, with their own, as installed here."""
    seen: set[str] = set()
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        # An extra's requirements come only with that extra; none is asked for.
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        pending.extend(Requirement(text) for text in importlib.metadata.requires(name) or [])
    return seen


def _pytest_plugins_of(distributions: set[str]) -> list[str]:
    return [
        f"{entry.name} ({entry.dist.name})"
        for entry in importlib.metadata.entry_points(group="pytest11")
        if entry.dist is not None and canonicalize_name(entry.dist.name) in distributions
    ]


def test_a_plain_install_activates_no_pytest_plugin() -> None:
    """pytest loads every pytest11 entry point installed, so no dependency may bring one."""
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    pulled_in = _pulled_in(project["dependencies"])
    assert {"pytest", "attrs", "multiprocess"} <= pulled_in  # the walk does follow them
    assert _pytest_plugins_of(pulled_in) == []


def test_the_check_above_sees_a_dependency_that_registers_a_plugin() -> None:
    # pytest-asyncio, a dependency up to 1.2.0, is installed here through the dev extra.
    assert _pytest_plugins_of(_pulled_in(["pytest-asyncio"])) == ["asyncio (pytest-asyncio)"]


def test_pytest_asyncio_comes_with_the_asyncio_and_dev_extras() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    extras = project["optional-dependencies"]
    for extra in ("asyncio", "dev"):
        # 0.24 added asyncio_default_fixture_loop_scope, which the example suites
        # set under --strict-config (an unknown ini key is an error there).
        assert "pytest-asyncio>=0.24" in extras[extra], extra


def test_the_package_never_imports_pytest_asyncio() -> None:
    for path in sorted((ROOT / "itest_shared").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(name.split(".")[0] == "pytest_asyncio" for name in names), path


def test_the_plugin_needs_no_async_plugin(tmp_path: pathlib.Path) -> None:
    """With pytest-asyncio blocked, a sync test runs coroutines with async_test_runner."""
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\naddopts = --strict-markers --strict-config\nfilterwarnings = error\n"
    )
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["itest_shared.fixtures"]\n')
    (tmp_path / "test_sync.py").write_text(
        "import asyncio, sys\n"
        "\n"
        "async def double(n):\n"
        "    await asyncio.sleep(0)\n"
        "    return 2 * n\n"
        "\n"
        "def test_runs_a_coroutine(async_test_runner):\n"
        "    assert async_test_runner.run(double(21)) == 42\n"
        "    assert 'pytest_asyncio' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:asyncio", "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


# --- what .ci/run checks ---------------------------------------------------------


def test_ci_runs_every_supported_python_from_the_oldest() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    floor = re.fullmatch(r">=\s*3\.(\d+)", project["requires-python"])
    assert floor is not None, project["requires-python"]
    ci = (ROOT / ".ci" / "run").read_text()
    listed = re.search(r'^supported_versions="([^"]*)"$', ci, re.MULTILINE)
    assert listed is not None
    minors = [int(version.removeprefix("3.")) for version in listed.group(1).split()]
    assert minors[0] == int(floor.group(1))
    assert minors == list(range(minors[0], minors[0] + len(minors)))


def test_ci_installs_the_readme_git_url_form() -> None:
    """The git-URL pin that CI installs is the one the README tells worktrees to write."""
    readme = (ROOT / "README.md").read_text()
    pinning = readme.split("## Pinning it in a worktree", 1)[1].split("\n## ", 1)[0]
    assert "itest-shared @ git+file://localhost/" in pinning
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'requirement="itest-shared @ git+file://localhost${url#file://}@$commit"' in ci
